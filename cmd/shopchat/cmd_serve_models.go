package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/recommender"
)

// servedModels are the trained models the server answers with.
type servedModels struct {
	classifier      chat.Classifier
	recommender     chat.Recommender
	recommenderHTTP http.Handler
	checks          []chat.ReadinessCheck
	closers         []func()
}

func (m *servedModels) close() {
	for _, c := range m.closers {
		c()
	}
}

// loadModels loads the intent model and the recommender; with demo it first trains the ones that
// are missing.
func loadModels(ctx context.Context, c *config, store *kb.Store, demo bool, log *slog.Logger) (*servedModels, error) {
	m := &servedModels{}
	cls, check, closeCls, err := loadClassifier(ctx, c, demo, log)
	if err != nil {
		return nil, err
	}
	m.classifier = cls
	m.checks = append(m.checks, check)
	if closeCls != nil {
		m.closers = append(m.closers, closeCls)
	}

	dir := c.Models.Recommender
	if demo && !exists(dir) {
		log.Info("training the demo recommender", "dir", dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		if err := recommender.TrainFromKB(ctx, store, dir, 1, log.With("part", "recommender")); err != nil {
			return nil, fmt.Errorf("demo recommender: %w", err)
		}
	}
	var model *recommender.Model
	if exists(dir) {
		model, err = recommender.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("recommender model: %w", err)
		}
	} else {
		log.Warn("no recommender model: serving popular products until one is trained", "dir", dir)
	}
	svc, err := recommender.NewService(recommender.ServiceConfig{Store: store, Model: model, APIKeys: c.Chat.RecommenderAPIKeys,
		Logger: log.With("part", "recommender")})
	if err != nil {
		return nil, err
	}
	m.recommender = svc
	if len(c.Chat.RecommenderAPIKeys) > 0 {
		m.recommenderHTTP = svc.Handler()
	}
	m.checks = append(m.checks, chat.CheckFunc{Label: "recommender_model", Fn: func(context.Context) error {
		if model == nil {
			return fmt.Errorf("no model at %s (serving popular products)", dir)
		}
		return nil
	}})
	return m, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// unsureClassifier is used while no intent model exists: every message is "not sure", so the
// dialogue answers from the FAQ and otherwise offers a person; /readyz reports the missing model.
type unsureClassifier struct{}

func (unsureClassifier) Classify(context.Context, string) (intents.Result, error) {
	return intents.Result{Intent: intents.OutOfScope, OutOfScope: true}, nil
}

var errNoIntentModel = errors.New("no intent model")
