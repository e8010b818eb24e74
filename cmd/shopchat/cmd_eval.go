package main

import "github.com/spf13/cobra"

// newEvalCmd is a placeholder until its issue lands; replace this file.
func newEvalCmd() *cobra.Command { return notYet("eval", "Evaluate an intent model", "issue #3") }
