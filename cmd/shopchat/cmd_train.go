package main

import "github.com/spf13/cobra"

// newTrainCmd is a placeholder until its issue lands; replace this file.
func newTrainCmd() *cobra.Command { return notYet("train", "Train an intent model", "issue #3") }
