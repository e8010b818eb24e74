package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

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

