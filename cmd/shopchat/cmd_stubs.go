package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Subcommands whose packages are still being built. Each replaces its stub as its issue lands.

func notYet(use, short, issue string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("%s: %w (%s)", use, errNotYet, issue)
		},
	}
}

func newTrainCmd() *cobra.Command { return notYet("train", "Train an intent model", "issue #3") }
func newEvalCmd() *cobra.Command  { return notYet("eval", "Evaluate an intent model", "issue #3") }
func newKBCmd() *cobra.Command    { return notYet("kb", "Manage the knowledge base", "issue #4") }
func newRecommenderCmd() *cobra.Command {
	return notYet("recommender", "Train and evaluate the recommendation model", "issue #5")
}
func newAgentCmd() *cobra.Command { return notYet("agent", "Manage support agents", "issue #7") }
func newBenchCmd() *cobra.Command { return notYet("bench", "Load-test a running server", "issue #6") }
