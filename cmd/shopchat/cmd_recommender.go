package main

import "github.com/spf13/cobra"

// newRecommenderCmd is a placeholder until its issue lands; replace this file.
func newRecommenderCmd() *cobra.Command {
	return notYet("recommender", "Train and evaluate the recommendation model", "issue #5")
}
