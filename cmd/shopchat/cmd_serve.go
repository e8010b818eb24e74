package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/shopchat/shopchat/chat"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the chat server",
		Long: `Run the chat server on --addr (env SHOPCHAT_ADDR). With --demo, prepare the demo shop first: load
its knowledge base into a fresh database and train its models when there are none yet.`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.String("addr", "127.0.0.1:8080", "listen address; env SHOPCHAT_ADDR")
	f.Bool("demo", false, "prepare and serve the demo shop")
	f.String("db", "", "SQLite database file (default DATA_DIR/shopchat.db)")
	f.String("intent-model", "", "intent model directory (default DATA_DIR/models/intent)")
	f.String("recommender-model", "", "recommender model directory (default DATA_DIR/models/recommender)")
	return cmd
}

func runServe(cmd *cobra.Command, args []string) error {
	c, log, err := setup(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	srv, err := chat.New(chat.Config{Addr: c.Addr, Logger: log, Version: version})
	if err != nil {
		return err
	}
	srv.AddReadinessCheck(dirCheck("intent_model", c.Models.Intent))
	srv.AddReadinessCheck(dirCheck("recommender_model", c.Models.Recommender))
	srv.AddReadinessCheck(fileCheck("database", c.DB))
	return srv.ListenAndServe(ctx)
}

func dirCheck(name, dir string) chat.ReadinessCheck {
	return chat.CheckFunc{Label: name, Fn: func(context.Context) error {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("no model at %s", dir)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a model directory", dir)
		}
		return nil
	}}
}

func fileCheck(name, path string) chat.ReadinessCheck {
	return chat.CheckFunc{Label: name, Fn: func(context.Context) error {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no database at %s", path)
		}
		return nil
	}}
}
