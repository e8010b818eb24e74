package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. Zero values get defaults.
type Config struct {
	// Addr is the listen address for ListenAndServe (default 127.0.0.1:8080).
	Addr string
	// Logger receives the server's logs (default: discard).
	Logger *slog.Logger
	// Version is reported by /version.
	Version string
	// ShutdownTimeout bounds graceful shutdown (default 10s).
	ShutdownTimeout time.Duration

	// Messages and Conversations store the conversations (usually both a *kb.Store). Without them the
	// server serves only the health endpoints and /ws answers 503.
	Messages      MessageStore
	Conversations ConversationStore
	// Bus carries conversation events between sockets (default: a new MemoryBus).
	Bus Bus
	// Bot answers customer messages (usually a *Dialogue). Nil: messages are stored and acknowledged
	// but nobody answers (until a human does).
	Bot Bot
	// Handoff is the human handoff (default: nobody is ever available).
	Handoff Handoff
	// Secret signs resume tokens. Empty: a random one, so tokens do not survive a restart (a warning
	// is logged). Give every node of a cluster the same secret.
	Secret []byte
	// CustomerSecret verifies the customer identities shops sign (see VerifyIdentity). Empty: shops
	// cannot identify customers and every shopper is anonymous.
	CustomerSecret []byte
	// AllowedOrigins lists the origins ("https://shop.example", scheme://host[:port]) whose pages may
	// open /ws, besides the server's own origin. There is no wildcard.
	AllowedOrigins []string
	// TokenTTL is how long a resume token is valid (default 30 days).
	TokenTTL time.Duration

	// MaxFrameBytes is the largest client frame accepted (default 8 KiB); larger frames get a
	// too_large error and the socket is closed.
	MaxFrameBytes int
	// MaxTextRunes limits a message's text (default 2000 characters).
	MaxTextRunes int
	// SendQueue is the number of frames queued per socket (default 32). Stored messages that do not
	// fit are sent from the store later; other frames that do not fit drop the socket as a slow
	// consumer.
	SendQueue int
	// PingInterval, PongWait, WriteWait and HelloTimeout are the keepalive and deadline settings
	// (defaults 25s, 60s, 10s, 10s).
	PingInterval time.Duration
	PongWait     time.Duration
	WriteWait    time.Duration
	HelloTimeout time.Duration
	// ReplyTimeout bounds answering one message (default 10s).
	ReplyTimeout time.Duration
	// TypingDelay is how long the bot may take to answer before the customer's sockets get a bot
	// typing frame (default 300ms; negative: at once, before every answer). A quick answer comes
	// without one, so the indicator does not flash and every answer costs a frame less.
	TypingDelay time.Duration
	// ConnRate and ConnBurst limit frames per socket (default 5/s, burst 20).
	ConnRate  float64
	ConnBurst int
	// IPRate and IPBurst limit messages and connection attempts per client IP over all its sockets
	// (default 20/s, burst 60); a negative IPRate disables the per-IP limit (load tests).
	IPRate  float64
	IPBurst int
	// MaxConnsPerIP limits open sockets per client IP (default 256; negative = unlimited).
	MaxConnsPerIP int
	// TrustForwardedFor takes the client IP from X-Forwarded-For (only behind a trusted proxy).
	TrustForwardedFor bool
	// Registry receives the server's metrics and is served at /metrics (default: a new registry
	// with the Go and process collectors).
	Registry *prometheus.Registry
	// Mask hides personal data (emails, phones, order numbers) in logged text (default: the text is
	// never logged).
	Mask func(string) string
}

// Server serves the HTTP endpoints and the customer WebSocket. Its methods are safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	ready    readiness
	metrics  *metrics
	registry *prometheus.Registry
	bus      Bus
	hub      *hub
	tokens   tokenSigner
	ipLim    *ipLimiter
	upgrader websocket.Upgrader
	origins  map[string]bool
	convLock keyedMutex
	frames   map[string]bool // extra customer frame types (CustomerFrameHandler)
	frameH   CustomerFrameHandler
	nextID   uint64
	idMu     sync.Mutex
	closing  chan struct{}
}

// New returns a Server with cfg's zero values defaulted.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.Bus == nil {
		cfg.Bus = NewMemoryBus()
	}
	if cfg.Handoff == nil {
		cfg.Handoff = noHandoff{}
	}
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		if _, err := rand.Read(cfg.Secret); err != nil {
			return nil, fmt.Errorf("chat: secret: %w", err)
		}
		if cfg.Messages != nil {
			cfg.Logger.Warn("no session secret configured: resume tokens will not survive a restart")
		}
	} else if len(cfg.Secret) < 16 {
		return nil, errors.New("chat: Secret must be at least 16 bytes")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.TokenTTL, 30*24*time.Hour)
	def(&cfg.PingInterval, 25*time.Second)
	def(&cfg.PongWait, 60*time.Second)
	def(&cfg.WriteWait, 10*time.Second)
	def(&cfg.HelloTimeout, 10*time.Second)
	def(&cfg.ReplyTimeout, 10*time.Second)
	if cfg.PongWait <= cfg.PingInterval {
		return nil, errors.New("chat: PongWait must be longer than PingInterval")
	}
	if cfg.TypingDelay == 0 {
		cfg.TypingDelay = 300 * time.Millisecond
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 8 << 10
	}
	if cfg.MaxTextRunes <= 0 {
		cfg.MaxTextRunes = 2000
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 32
	}
	if cfg.ConnRate <= 0 {
		cfg.ConnRate = 5
	}
	if cfg.ConnBurst <= 0 {
		cfg.ConnBurst = 20
	}
	if cfg.IPRate == 0 {
		cfg.IPRate = 20
	}
	if cfg.IPBurst <= 0 {
		cfg.IPBurst = 60
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = 256
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	origins := make(map[string]bool, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("chat: allowed origin %q: %w", o, err)
		}
		origins[n] = true
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), bus: cfg.Bus, origins: origins,
		tokens:   tokenSigner{key: cfg.Secret, ttl: cfg.TokenTTL},
		registry: cfg.Registry, closing: make(chan struct{}),
	}
	s.metrics = newMetrics(cfg.Registry)
	s.hub = newHub(s.bus)
	maxConns := cfg.MaxConnsPerIP
	if maxConns < 0 {
		maxConns = 0
	}
	if cfg.IPRate > 0 {
		s.ipLim = newIPLimiter(cfg.IPRate, cfg.IPBurst, maxConns)
	} else {
		s.ipLim = newIPLimiter(1e9, 1<<30, maxConns)
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      s.checkOrigin,
		Error:            s.upgradeError,
	}
	if fh, ok := cfg.Handoff.(CustomerFrameHandler); ok {
		s.frameH = fh
		s.frames = make(map[string]bool)
		for _, t := range fh.FrameTypes() {
			if !clientTypes[t] {
				s.frames[t] = true
			}
		}
	}
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.HandleFunc("GET /version", s.handleVersion)
	s.mux.Handle("GET /metrics", metricsHandler(cfg.Registry))
	s.mux.HandleFunc("GET /ws", s.handleWS)
	return s, nil
}

// AddReadinessCheck registers a part whose state /readyz reports.
func (s *Server) AddReadinessCheck(c ReadinessCheck) { s.ready.add(c) }

// Handle registers an extra handler on the server's mux (pattern as in net/http.ServeMux).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Bus returns the server's event bus (for the console to subscribe to conversation events).
func (s *Server) Bus() Bus { return s.bus }

// Registry returns the registry /metrics serves, for other parts to register their metrics on.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// ListenAndServe listens on the configured address and serves until ctx is done, then shuts down
// gracefully.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("chat: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then stops accepting, closes the sockets (clients reconnect
// and resume elsewhere), waits for requests in flight (up to ShutdownTimeout) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(func() { s.hub.closeAll("server shutting down") })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	s.log.Info("serving", "addr", ln.Addr().String(), "version", s.cfg.Version)
	for done := false; !done; {
		select {
		case err := <-errc:
			return fmt.Errorf("chat: serve: %w", err)
		case now := <-sweep.C:
			s.ipLim.sweep(now, 10*time.Minute)
		case <-ctx.Done():
			done = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("chat: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// keyedMutex serialises work per key (conversation) with a fixed set of stripes.
type keyedMutex struct{ stripes [256]sync.Mutex }

func (k *keyedMutex) lock(key string) func() {
	var h uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	m := &k.stripes[h%uint32(len(k.stripes))]
	m.Lock()
	return m.Unlock
}
