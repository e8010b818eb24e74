package main

import "github.com/spf13/cobra"

// newBenchCmd is a placeholder until its issue lands; replace this file.
func newBenchCmd() *cobra.Command { return notYet("bench", "Load-test a running server", "issue #6") }
