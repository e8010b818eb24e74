package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/training"
)

// loadClassifier loads the intent model, training the demo shop's first when demo is set and there
// is none. Without a model (and without demo) the server still runs: every message is treated as
// not understood (FAQ answers and the offer of a person), and /readyz reports the missing model.
func loadClassifier(ctx context.Context, c *config, demo bool, log *slog.Logger) (chat.Classifier, chat.ReadinessCheck, func(), error) {
	dir := c.Models.Intent
	if demo && !exists(dir) {
		log.Info("training the demo intent model (once; a few minutes on 2 cores)", "dir", dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, nil, nil, err
		}
		if err := training.TrainDemo(ctx, dir, c.Models.WordVectors, log.With("part", "training")); err != nil {
			return nil, nil, nil, fmt.Errorf("demo intent model: %w", err)
		}
	}
	if !exists(dir) {
		log.Warn("no intent model: answering from the FAQ only until one is trained (shopchat train)", "dir", dir)
		return unsureClassifier{}, chat.CheckFunc{Label: "intent_model", Fn: func(context.Context) error {
			return fmt.Errorf("%w at %s", errNoIntentModel, dir)
		}}, nil, nil
	}
	cls, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, Logger: log.With("part", "intents"), TablePrecision: c.Models.IntentPrecision})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("intent model: %w", err)
	}
	check := chat.CheckFunc{Label: "intent_model", Fn: func(context.Context) error {
		if cls.Version() == "" {
			return fmt.Errorf("intent model at %s not loaded", dir)
		}
		return nil
	}}
	return cls, check, cls.Close, nil
}
