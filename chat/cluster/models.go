package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// ModelWatcherConfig configures a ModelWatcher. Dir and Swap are required.
type ModelWatcherConfig struct {
	// Name labels the model in logs ("intent", "recommender").
	Name string
	// Dir is the model's shared location (a network file system or a volume every node mounts). It is
	// usually a symbolic link that a rollout repoints at a newly trained directory in one atomic
	// rename; replacing the directory's files in place also works.
	Dir string
	// Swap loads the model at dir and replaces the served one atomically (in-flight requests finish
	// on the old one): intents.Classifier.Swap, or a recommender.Load followed by Service.Swap.
	Swap func(ctx context.Context, dir string) error
	// Interval between checks (default 5s).
	Interval time.Duration
	Logger   *slog.Logger
}

// ModelWatcher rolls a new model out on this node without downtime: it checks the shared model
// location every Interval and, when what it points at changed (another directory, or other files),
// calls Swap. Every node runs one, so a model published once reaches the whole cluster within an
// interval. A Swap that fails (a half-copied model) keeps the old model and is retried at the next
// change. Safe for concurrent use.
type ModelWatcher struct {
	cfg ModelWatcherConfig
	log *slog.Logger

	mu   sync.Mutex
	last string
}

// NewModelWatcher returns a watcher that takes the model now at Dir as the one being served.
func NewModelWatcher(cfg ModelWatcherConfig) (*ModelWatcher, error) {
	if cfg.Dir == "" || cfg.Swap == nil {
		return nil, fmt.Errorf("cluster: model watcher needs Dir and Swap")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &ModelWatcher{cfg: cfg, log: cfg.Logger.With("model", cfg.Name, "dir", cfg.Dir)}
	w.last, _ = ModelFingerprint(cfg.Dir)
	return w, nil
}

// ModelFingerprint identifies what dir holds now: the directory it resolves to and the names, sizes
// and modification times of its files.
func ModelFingerprint(dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	var lines []string
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(real, p)
		lines = append(lines, fmt.Sprintf("%s\t%d\t%d", rel, fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(lines)
	h := sha256.New()
	h.Write([]byte(real))
	for _, l := range lines {
		h.Write([]byte("\n" + l))
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// Check swaps the model in when the location changed since the last check; it reports whether it did.
func (w *ModelWatcher) Check(ctx context.Context) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fp, err := ModelFingerprint(w.cfg.Dir)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil // not published yet
		}
		return false, fmt.Errorf("cluster: model %s: %w", w.cfg.Name, err)
	}
	if fp == w.last {
		return false, nil
	}
	if err := w.cfg.Swap(ctx, w.cfg.Dir); err != nil {
		w.last = fp // do not retry a broken model every interval; the next publication is tried
		return false, fmt.Errorf("cluster: swap model %s: %w", w.cfg.Name, err)
	}
	w.last = fp
	w.log.Info("new model rolled out on this node", "fingerprint", fp)
	return true, nil
}

// Run checks every Interval until ctx is done.
func (w *ModelWatcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := w.Check(ctx); err != nil {
				w.log.Error("model rollout", "err", err)
			}
		}
	}
}
