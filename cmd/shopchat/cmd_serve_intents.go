package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shopchat/shopchat/chat"
)

// loadClassifier loads the intent model (training the demo's first with demo). Until the intents
// package's classifier lands on this branch, the server runs without one (FAQ answers and the
// handoff only) and /readyz says so.
func loadClassifier(ctx context.Context, c *config, demo bool, log *slog.Logger) (chat.Classifier, chat.ReadinessCheck, func(), error) {
	dir := c.Models.Intent
	log.Warn("no intent classifier in this build: answering from the FAQ only", "dir", dir)
	check := chat.CheckFunc{Label: "intent_model", Fn: func(context.Context) error {
		return fmt.Errorf("%w at %s", errNoIntentModel, dir)
	}}
	return unsureClassifier{}, check, nil, nil
}
