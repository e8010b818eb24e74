package handoff

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopchat/shopchat/kb"
)

// DeliveryStore keeps the webhook delivery log. *kb.Store implements it; implementations must be safe
// for concurrent use.
type DeliveryStore interface {
	EnqueueDelivery(ctx context.Context, d kb.WebhookDelivery) (kb.WebhookDelivery, error)
	UpdateDelivery(ctx context.Context, d kb.WebhookDelivery) error
	// DueDeliveries returns pending deliveries due at now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]kb.WebhookDelivery, error)
	// Deliveries returns the log, newest first.
	Deliveries(ctx context.Context, limit int) ([]kb.WebhookDelivery, error)
}

// Webhook headers.
const (
	// HeaderSignature carries "t=UNIX,v1=HEX": HEX is the HMAC-SHA256, keyed with the shared secret, of
	// "UNIX." followed by the request body.
	HeaderSignature = "X-Shopchat-Signature"
	HeaderEvent     = "X-Shopchat-Event"    // handoff.queued, handoff.assigned, handoff.resolved, handoff.failed
	HeaderDelivery  = "X-Shopchat-Delivery" // the event id, the same on every retry: deduplicate on it
)

// WebhookConfig configures Webhooks. Zero values get defaults.
type WebhookConfig struct {
	// URL receives a POST per event; http or https. Required.
	URL string
	// Secret keys the HMAC signature. Required, at least 16 bytes.
	Secret string
	Store  DeliveryStore
	Logger *slog.Logger
	Now    func() time.Time
	// Client sends the requests (default: a client with Timeout).
	Client *http.Client
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// MaxAttempts before a delivery is marked failed (default 8).
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled after each failure (with ±20% jitter) up to
	// MaxBackoff (defaults 5s and 30m).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Poll is how often due retries are looked for (default 1s).
	Poll time.Duration
}

// Webhooks posts handoff status changes (queued, assigned, resolved, failed) to a URL, signed, with
// retries and a delivery log in the store. It is an Observer of the Engine; Run sends. It is safe for
// concurrent use.
type Webhooks struct {
	cfg    WebhookConfig
	log    *slog.Logger
	client *http.Client

	mu     sync.Mutex
	queue  []kb.WebhookDelivery // observed, not yet stored
	wake   chan struct{}
	closed bool
}

// NewWebhooks checks cfg and returns Webhooks.
func NewWebhooks(cfg WebhookConfig) (*Webhooks, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook URL %q (want http:// or https://)", ErrBadInput, cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return nil, fmt.Errorf("%w: webhook secret shorter than 16 bytes", ErrBadInput)
	}
	if cfg.Store == nil {
		return nil, errors.New("handoff: NewWebhooks: nil Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Webhooks{cfg: cfg, log: cfg.Logger, client: client, wake: make(chan struct{}, 1)}, nil
}

// WebhookPayload is the JSON body of a webhook.
type WebhookPayload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"` // handoff.queued, handoff.assigned, handoff.resolved, handoff.failed
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		Handoff Handoff `json:"handoff"`
		Detail  string  `json:"detail,omitempty"`
	} `json:"data"`
}

func newEventID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// HandoffEvent queues a delivery for the webhook kinds; it never blocks on the network or the store.
func (w *Webhooks) HandoffEvent(ev Event) {
	switch ev.Kind {
	case EventQueued, EventAssigned, EventResolved, EventFailed:
	default:
		return
	}
	if ev.Handoff == nil {
		return
	}
	var p WebhookPayload
	p.ID = newEventID()
	p.Type = "handoff." + string(ev.Kind)
	p.CreatedAt = ev.At.UTC()
	p.Data.Handoff = *ev.Handoff
	p.Data.Detail = ev.Detail
	body, err := json.Marshal(p)
	if err != nil {
		w.log.Error("webhook payload", "err", err)
		return
	}
	w.mu.Lock()
	if !w.closed {
		w.queue = append(w.queue, kb.WebhookDelivery{EventID: p.ID, Kind: p.Type, ConvID: ev.Handoff.ConvID, URL: w.cfg.URL, Payload: body})
	}
	w.mu.Unlock()
	w.poke()
}

func (w *Webhooks) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Sign returns the signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature means a webhook's signature header is missing, malformed, stale or wrong.
var ErrBadSignature = errors.New("handoff: bad webhook signature")

// VerifySignature checks a received webhook: the signature must match body and be at most tolerance
// old (receivers should also deduplicate on HeaderDelivery).
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadSignature
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrBadSignature
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s outside tolerance", ErrBadSignature, t.UTC().Format(time.RFC3339))
	}
	want := Sign(secret, t, body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return ErrBadSignature
	}
	return nil
}

// Run stores observed events and sends due deliveries until ctx is done.
func (w *Webhooks) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		w.persist(ctx)
		w.sendDue(ctx)
		select {
		case <-ctx.Done():
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
			w.persist(context.WithoutCancel(ctx))
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

func (w *Webhooks) persist(ctx context.Context) {
	w.mu.Lock()
	batch := w.queue
	w.queue = nil
	w.mu.Unlock()
	for _, d := range batch {
		if _, err := w.cfg.Store.EnqueueDelivery(ctx, d); err != nil {
			w.log.Error("webhook: store delivery", "event", d.EventID, "err", err)
		}
	}
}

// sendDue makes one attempt on every due delivery.
func (w *Webhooks) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := w.cfg.Store.DueDeliveries(ctx, w.cfg.Now(), 50)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("webhook: due deliveries", "err", err)
			}
			return
		}
		if len(due) == 0 {
			return
		}
		for _, d := range due {
			w.attempt(ctx, d)
		}
		if len(due) < 50 {
			return
		}
	}
}

// attempt sends d once and records the outcome.
func (w *Webhooks) attempt(ctx context.Context, d kb.WebhookDelivery) {
	now := w.cfg.Now()
	code, err := w.send(ctx, d, now)
	if ctx.Err() != nil {
		return // shutting down: the attempt does not count
	}
	d.Attempts++
	d.LastStatusCode = code
	d.LastError = ""
	switch {
	case err == nil && code >= 200 && code < 300:
		d.Status = kb.DeliveryDelivered
		d.NextAttemptAt = time.Time{}
	default:
		if err != nil {
			d.LastError = err.Error()
		} else {
			d.LastError = fmt.Sprintf("HTTP %d", code)
		}
		permanent := err == nil && code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
		if permanent || d.Attempts >= w.cfg.MaxAttempts {
			d.Status = kb.DeliveryFailed
			d.NextAttemptAt = time.Time{}
			w.log.Warn("webhook: giving up", "event", d.EventID, "attempts", d.Attempts, "last", d.LastError)
		} else {
			d.Status = kb.DeliveryPending
			d.NextAttemptAt = now.Add(w.backoff(d.Attempts))
		}
	}
	if err := w.cfg.Store.UpdateDelivery(context.WithoutCancel(ctx), d); err != nil {
		w.log.Error("webhook: record attempt", "event", d.EventID, "err", err)
	}
}

// backoff is the wait after the n-th failed attempt: Backoff·2^(n-1), ±20%, at most MaxBackoff.
func (w *Webhooks) backoff(n int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < n && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(d)/5*2+1))
	return d - d/5 + time.Duration(j.Int64())
}

func (w *Webhooks) send(ctx context.Context, d kb.WebhookDelivery, now time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "shopchat-webhooks/1")
	req.Header.Set(HeaderEvent, d.Kind)
	req.Header.Set(HeaderDelivery, d.EventID)
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, now, d.Payload))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Deliveries returns the delivery log, newest first.
func (w *Webhooks) Deliveries(ctx context.Context, limit int) ([]kb.WebhookDelivery, error) {
	return w.cfg.Store.Deliveries(ctx, limit)
}
