package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/nlp"
	"github.com/shopchat/shopchat/web"
)

// chatConfig is the chat server's part of the configuration (keys chat.*; see docs/configuration.md).
type chatConfig struct {
	// Secret signs resume tokens (env SHOPCHAT_CHAT_SECRET). Empty: DATA_DIR/session.key, created
	// on first start.
	Secret string `mapstructure:"secret"`
	// CustomerSecret verifies the customer identities the shop signs (env
	// SHOPCHAT_CHAT_CUSTOMER_SECRET). Empty: every shopper is anonymous (with --demo:
	// DATA_DIR/customer.key, created on first start).
	CustomerSecret string   `mapstructure:"customer_secret"`
	AllowedOrigins []string `mapstructure:"allowed_origins"`
	IPRate         float64  `mapstructure:"ip_rate"`
	IPBurst        int      `mapstructure:"ip_burst"`
	ConnRate       float64  `mapstructure:"conn_rate"`
	MaxConnsPerIP  int      `mapstructure:"max_conns_per_ip"`
	TrustProxy     bool     `mapstructure:"trust_proxy"`
	ShopURL        string   `mapstructure:"shop_url"`
	// TypingDelay is how long the bot may take before the customer sees it typing (default 300ms;
	// negative: before every answer).
	TypingDelay time.Duration `mapstructure:"typing_delay"`
	// DBSynchronous is SQLite's synchronous mode for the message store: FULL (default: every
	// acknowledged message survives a power loss) or NORMAL (survives a crash of the process).
	DBSynchronous string `mapstructure:"db_synchronous"`
	// RecommenderAPIKeys enable GET /api/v1/recommendations for callers with one of these keys.
	RecommenderAPIKeys []string `mapstructure:"recommender_api_keys"`
}

func setChatDefaults(v *viper.Viper) {
	v.SetDefault("chat.secret", "")
	v.SetDefault("chat.customer_secret", "")
	v.SetDefault("chat.allowed_origins", []string{})
	v.SetDefault("chat.ip_rate", 20.0)
	v.SetDefault("chat.ip_burst", 60)
	v.SetDefault("chat.conn_rate", 5.0)
	v.SetDefault("chat.typing_delay", 300*time.Millisecond)
	v.SetDefault("chat.max_conns_per_ip", 256)
	v.SetDefault("chat.trust_proxy", false)
	v.SetDefault("chat.shop_url", "https://shop.example")
	v.SetDefault("chat.recommender_api_keys", []string{})
	v.SetDefault("chat.db_synchronous", "FULL")
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the chat server",
		Long: `Run the chat server on --addr (env SHOPCHAT_ADDR): the customer WebSocket at /ws, the widget at
/widget/shopchat.js, /healthz, /readyz and /metrics.

With --demo, prepare the demo shop first: load its knowledge base into a fresh database, train its
intent model and recommender when there are none yet, and serve the demo shop page at /.`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.String("addr", "127.0.0.1:8080", "listen address; env SHOPCHAT_ADDR")
	f.Bool("demo", false, "prepare and serve the demo shop")
	f.String("db", "", "SQLite database file (default DATA_DIR/shopchat.db)")
	f.String("intent-model", "", "intent model directory (default DATA_DIR/models/intent)")
	f.String("recommender-model", "", "recommender model directory (default DATA_DIR/models/recommender)")
	f.String("word-vectors", "", "with --demo: pretrained word vectors the demo intent model trains with when there is none yet (make vectors fetches them; default none)")
	f.StringSlice("allowed-origin", nil, "origin allowed to open the chat socket besides the server's own (repeatable); env SHOPCHAT_CHAT_ALLOWED_ORIGINS")
	f.Float64("ip-rate", 20, "messages and connection attempts per second per client IP (negative: no limit); env SHOPCHAT_CHAT_IP_RATE")
	f.Int("max-conns-per-ip", 256, "open sockets per client IP (negative: no limit)")
	f.String("debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060 (default: off)")
	f.String("db-sync", "FULL", "SQLite synchronous mode: FULL (survives power loss) or NORMAL (survives a crash); env SHOPCHAT_CHAT_DB_SYNCHRONOUS")
	return cmd
}

func runServe(cmd *cobra.Command, args []string) error {
	c, log, err := setup(cmd)
	if err != nil {
		return err
	}
	demo, _ := cmd.Flags().GetBool("demo")
	ctx := cmd.Context()
	if addr, _ := cmd.Flags().GetString("debug-addr"); addr != "" {
		if err := startDebug(ctx, addr, log); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	store, err := kb.Open(ctx, kb.Config{Path: c.DB, Logger: log.With("part", "kb"), Synchronous: c.Chat.DBSynchronous})
	if err != nil {
		return err
	}
	defer store.Close()
	if demo {
		if err := kb.LoadDemo(ctx, store); err != nil {
			return fmt.Errorf("demo shop: %w", err)
		}
	}
	secret, err := secretFrom(c.Chat.Secret, filepath.Join(c.DataDir, "session.key"), true, log)
	if err != nil {
		return err
	}
	customerSecret, err := secretFrom(c.Chat.CustomerSecret, filepath.Join(c.DataDir, "customer.key"), demo, log)
	if err != nil {
		return err
	}

	ex, err := nlp.NewExtractor(nlp.ExtractorConfig{})
	if err != nil {
		return err
	}
	if err := loadProductNames(ctx, store, ex); err != nil {
		return err
	}
	models, err := loadModels(ctx, c, store, demo, log)
	if err != nil {
		return err
	}
	defer models.close()

	registry := chat.NewRegistry()
	bus := chat.NewMemoryBus()
	// cl is nil unless cluster.postgres_dsn is set (serve_cluster.go); it then replaces the store, the
	// bus and the handoff below with the cluster's.
	cl, err := startCluster(ctx, c, store, log)
	if err != nil {
		return err
	}
	defer cl.close()
	// The human handoff and the agent console (issue #7, cmd_agent.go).
	var hs *handoffStack
	var handoff chat.Handoff
	if cl == nil {
		if hs, err = newHandoff(ctx, c, store, bus, log.With("part", "handoff")); err != nil {
			return err
		}
		handoff = hs.Service
	}
	dcfg := chat.DialogueConfig{
		Classifier: models.classifier, Entities: ex, Knowledge: store, States: store, Impressions: store,
		Recommender: models.recommender, Handoff: handoff, Logger: log.With("part", "dialogue"), Registry: registry,
		ShopURL: c.Chat.ShopURL, Shop: shopSlots(),
	}
	cl.dialogue(&dcfg)
	dlg, err := chat.NewDialogue(dcfg)
	if err != nil {
		return err
	}
	scfg := chat.Config{
		Addr: c.Addr, Logger: log, Version: version, Messages: store, Conversations: store, Bus: bus, Bot: dlg,
		Handoff: handoff, Secret: secret, CustomerSecret: customerSecret, AllowedOrigins: c.Chat.AllowedOrigins,
		IPRate: c.Chat.IPRate, IPBurst: c.Chat.IPBurst, ConnRate: c.Chat.ConnRate, MaxConnsPerIP: c.Chat.MaxConnsPerIP, TypingDelay: c.Chat.TypingDelay,
		TrustForwardedFor: c.Chat.TrustProxy, Registry: registry, Mask: ex.Mask,
	}
	cl.server(&scfg)
	srv, err := chat.New(scfg)
	if err != nil {
		return err
	}
	cl.attach(srv, c, models)
	go cl.run(ctx)
	srv.AddReadinessCheck(chat.CheckFunc{Label: "database", Fn: func(ctx context.Context) error {
		_, err := store.Conversation(ctx, "readyz-probe")
		if errors.Is(err, kb.ErrNotFound) {
			return nil
		}
		return err
	}})
	for _, rc := range models.checks {
		srv.AddReadinessCheck(rc)
	}
	if models.recommenderHTTP != nil {
		srv.Handle("/api/v1/recommendations", models.recommenderHTTP)
	}
	srv.Handle("/widget/", web.Handler(demo))
	if hs != nil {
		hs.Attach(srv) // /console/
		go hs.Run(ctx)
	}
	if demo {
		srv.Handle("GET /{$}", web.Handler(true))
		srv.Handle("GET /demo/identity", demoIdentity(store, customerSecret))
		log.Info("demo shop ready", "url", "http://"+c.Addr+"/")
	}
	return srv.ListenAndServe(ctx)
}

// secretFrom returns the configured secret, or the one kept in file (created when create is true
// and it is missing). A nil secret with no error means "none".
func secretFrom(configured, file string, create bool, log *slog.Logger) ([]byte, error) {
	if configured != "" {
		if len(configured) < 16 {
			return nil, usageError{fmt.Errorf("secrets must be at least 16 characters")}
		}
		return []byte(configured), nil
	}
	b, err := os.ReadFile(file)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 16 {
			return nil, fmt.Errorf("%s: secret too short", file)
		}
		return []byte(s), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if !create {
		return nil, nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	log.Info("created a secret", "file", file)
	return []byte(s), nil
}

func loadProductNames(ctx context.Context, store *kb.Store, ex *nlp.Extractor) error {
	ps, err := store.ListProducts(ctx)
	if err != nil {
		return err
	}
	names := make([]nlp.ProductName, 0, len(ps))
	for _, p := range ps {
		names = append(names, nlp.ProductName{SKU: p.SKU, Name: p.Name})
	}
	ex.SetProducts(names)
	return nil
}

// shopSlots are the shop-wide template slots of the demo shop.
func shopSlots() map[string]any {
	return map[string]any{
		"shop.hours":              "Monday to Saturday, 8:00–20:00 CET",
		"shop.email":              "hello@fernwood.example",
		"delivery.options":        "standard delivery in 2–4 working days (€4.95), express next-day (€9.95), pick-up points and parcel lockers (€3.95)",
		"delivery.free_threshold": "€60",
		"delivery.cost":           "€4.95",
		"payment.methods":         "Visa, Mastercard, American Express, PayPal, Apple Pay, Google Pay and Klarna",
		"discount.code":           "WELCOME10",
		"discount.expires":        time.Now().AddDate(0, 1, 0).Format("2 January 2006"),
	}
}

// demoIdentity signs a demo customer's identity, as a shop's backend would for its signed-in
// customer. Only served with --demo.
func demoIdentity(store *kb.Store, secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("customer")
		if _, err := store.Customer(r.Context(), id); err != nil {
			http.Error(w, "unknown demo customer", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(chat.SignJWT(id, time.Now().Add(12*time.Hour), secret)))
	})
}
