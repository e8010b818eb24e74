package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/kb"
)

func newAgentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Manage support agents (console accounts)",
		Long: `Manage the accounts of the support agents who answer customers in the console (/console/).
Passwords are hashed with argon2id. Without --password-stdin a random password is generated and
printed once.`,
	}
	cmd.PersistentFlags().String("db", "", "SQLite database file (default DATA_DIR/shopchat.db)")
	cmd.AddCommand(newAgentAddCmd(), newAgentListCmd(), newAgentDisableCmd(true), newAgentDisableCmd(false), newAgentResetCmd())
	return cmd
}

// openAgents opens the database and an Auth over it.
func openAgents(cmd *cobra.Command) (*kb.Store, *handoff.Auth, error) {
	c, log, err := setup(cmd)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(c.DB), 0o755); err != nil {
		return nil, nil, err
	}
	store, err := kb.Open(cmd.Context(), kb.Config{Path: c.DB, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	auth, err := handoff.NewAuth(handoff.AuthConfig{Store: store, Logger: log})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, auth, nil
}

// password reads one line from stdin (--password-stdin) or generates one.
func password(cmd *cobra.Command) (pw string, generated bool, err error) {
	if ok, _ := cmd.Flags().GetBool("password-stdin"); ok {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		pw = strings.TrimRight(line, "\r\n")
		if len(pw) < handoff.MinPasswordLength {
			return "", false, usageError{fmt.Errorf("password from stdin: at least %d characters", handoff.MinPasswordLength)}
		}
		return pw, false, nil
	}
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b), true, nil
}

func agentErr(err error) error {
	if errors.Is(err, handoff.ErrBadInput) {
		return usageError{err}
	}
	return err
}

func newAgentAddCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add --email EMAIL --name NAME [--role agent|admin]",
		Short: "Create an agent account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			email, _ := f.GetString("email")
			name, _ := f.GetString("name")
			role, _ := f.GetString("role")
			skills, _ := f.GetStringSlice("skills")
			maxc, _ := f.GetInt("max-concurrent")
			if email == "" || name == "" {
				return usageError{errors.New("agent add: --email and --name are required")}
			}
			pw, generated, err := password(cmd)
			if err != nil {
				return err
			}
			store, auth, err := openAgents(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			a, err := auth.AddAgent(cmd.Context(), handoff.NewAgent{Email: email, Name: name, Role: role, Password: pw, Skills: skills, MaxConcurrent: maxc})
			if err != nil {
				return agentErr(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added %s %s <%s> (%s) id %s\n", a.Role, a.Name, a.Email, strings.Join(a.Skills, ","), a.ID)
			if generated {
				fmt.Fprintf(out, "password: %s\n(shown once; change it with shopchat agent reset-password)\n", pw)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("email", "", "login email (required)")
	f.String("name", "", "name shown to customers (required)")
	f.String("role", kb.RoleAgent, "agent or admin")
	f.StringSlice("skills", nil, "skills or teams, comma-separated (e.g. returns,payments)")
	f.Int("max-concurrent", 0, "maximum concurrent conversations (0 = server default, 3)")
	f.Bool("password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

func newAgentListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List agent accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, auth, err := openAgents(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			list, err := auth.ListAgents(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSKILLS\tMAX\tSTATE\tID")
			for _, a := range list {
				st := "active"
				if a.Disabled {
					st = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.Email, a.Name, a.Role, strings.Join(a.Skills, ","), a.MaxConcurrent, st, a.ID)
			}
			return tw.Flush()
		},
	}
}

func newAgentDisableCmd(disable bool) *cobra.Command {
	use, short := "disable EMAIL|ID", "Disable an account and end its sessions"
	if !disable {
		use, short = "enable EMAIL|ID", "Enable a disabled account"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, auth, err := openAgents(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			a, err := auth.SetDisabled(cmd.Context(), args[0], disable)
			if err != nil {
				return agentErr(err)
			}
			verb := "enabled"
			if disable {
				verb = "disabled"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s <%s>\n", verb, a.Name, a.Email)
			return nil
		},
	}
}

func newAgentResetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reset-password EMAIL|ID",
		Short: "Set a new password and end the agent's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := password(cmd)
			if err != nil {
				return err
			}
			store, auth, err := openAgents(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			a, err := auth.ResetPassword(cmd.Context(), args[0], pw)
			if err != nil {
				return agentErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password reset for %s <%s>\n", a.Name, a.Email)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", pw)
			}
			return nil
		},
	}
	cmd.Flags().Bool("password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

// handoffConfig configures the human handoff (keys handoff.*, env SHOPCHAT_HANDOFF_*); see
// docs/handoff.md.
type handoffConfig struct {
	WebhookURL     string        `mapstructure:"webhook_url"`
	WebhookSecret  string        `mapstructure:"webhook_secret"`
	AnswerTimeout  time.Duration `mapstructure:"answer_timeout"`
	MaxQueueWait   time.Duration `mapstructure:"max_queue_wait"`
	MaxConcurrent  int           `mapstructure:"max_concurrent"`
	ManualOnly     bool          `mapstructure:"manual_only"`
	SecureCookies  bool          `mapstructure:"secure_cookies"`
	TrainingFile   string        `mapstructure:"training_file"`
	OfflineGrace   time.Duration `mapstructure:"offline_grace"`
	SessionTTL     time.Duration `mapstructure:"session_ttl"`
	AllowedOrigins []string      `mapstructure:"allowed_origins"`
}

func setHandoffDefaults(v *viper.Viper) {
	v.SetDefault("handoff.webhook_url", "")
	v.SetDefault("handoff.webhook_secret", "")
	v.SetDefault("handoff.answer_timeout", 2*time.Minute)
	v.SetDefault("handoff.max_queue_wait", time.Duration(0))
	v.SetDefault("handoff.max_concurrent", 3)
	v.SetDefault("handoff.manual_only", false)
	v.SetDefault("handoff.secure_cookies", false)
	v.SetDefault("handoff.training_file", "")
	v.SetDefault("handoff.offline_grace", 30*time.Second)
	v.SetDefault("handoff.session_ttl", 12*time.Hour)
	v.SetDefault("handoff.allowed_origins", []string{})
}

// handoffStack is the human handoff wired for `serve`. In runServe: build it before the chat server
// (h, err := newHandoff(ctx, c, store, bus, log)), pass h.Service as chat.Config.Handoff and the same
// bus as chat.Config.Bus, then h.Attach(srv) and go h.Run(ctx).
type handoffStack struct {
	Service   *handoff.Service
	Engine    *handoff.Engine
	persister *handoff.Persister
	webhooks  *handoff.Webhooks
}

// newHandoff builds the engine (restoring the open handoffs from the store), the persister, the
// optional webhooks and the service.
func newHandoff(ctx context.Context, c *config, store *kb.Store, bus chat.Bus, log *slog.Logger) (*handoffStack, error) {
	hc := c.Handoff
	engine, err := handoff.NewEngine(handoff.EngineConfig{Logger: log, DefaultMaxConcurrent: hc.MaxConcurrent,
		ManualOnly: hc.ManualOnly, AnswerTimeout: hc.AnswerTimeout, MaxQueueWait: hc.MaxQueueWait})
	if err != nil {
		return nil, err
	}
	if err := handoff.RestoreFrom(ctx, engine, store); err != nil {
		return nil, fmt.Errorf("restore handoffs: %w", err)
	}
	h := &handoffStack{Engine: engine, persister: handoff.NewPersister(store, log)}
	engine.Observe(h.persister)
	if hc.WebhookURL != "" {
		h.webhooks, err = handoff.NewWebhooks(handoff.WebhookConfig{URL: hc.WebhookURL, Secret: hc.WebhookSecret, Store: store, Logger: log})
		if err != nil {
			return nil, usageError{fmt.Errorf("handoff.webhook_url: %w", err)}
		}
		engine.Observe(h.webhooks)
	}
	auth, err := handoff.NewAuth(handoff.AuthConfig{Store: store, Logger: log, SessionTTL: hc.SessionTTL})
	if err != nil {
		return nil, err
	}
	training := hc.TrainingFile
	if training == "" {
		training = filepath.Join(c.DataDir, "training", "labelled.csv")
	}
	h.Service, err = handoff.NewService(handoff.ServiceConfig{Engine: engine, Store: store, Auth: auth, Bus: bus,
		Webhooks: h.webhooks, Logger: log, TrainingFile: training, OfflineGrace: hc.OfflineGrace,
		SecureCookies: hc.SecureCookies, AllowedOrigins: hc.AllowedOrigins})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Attach gives the service its way to the customers and mounts the console at /console/.
func (h *handoffStack) Attach(srv *chat.Server) {
	h.Service.SetOutbound(srv)
	srv.Handle("/console/", h.Service.Handler())
}

// Run runs the engine's timers, the persister, the webhooks and the service until ctx is done.
func (h *handoffStack) Run(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(func(ctx context.Context) { h.Engine.Run(ctx, time.Second) })
	run(h.persister.Run)
	run(h.Service.Run)
	if h.webhooks != nil {
		run(h.webhooks.Run)
	}
	wg.Wait()
}
