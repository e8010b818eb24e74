package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

// servedModels are the trained models the server answers with.
type servedModels struct {
	classifier      chat.Classifier
	recommender     chat.Recommender // nil: recommendations come from a catalogue search
	recommenderHTTP http.Handler
	checks          []chat.ReadinessCheck
	close           func()
}

// loadModels loads (and with demo, first trains when missing) the intent model and the recommender.
func loadModels(ctx context.Context, c *config, store *kb.Store, demo bool, log *slog.Logger) (*servedModels, error) {
	return nil, fmt.Errorf("serve: the intent model: %w (issue #3 wires it)", errNotYet)
}
