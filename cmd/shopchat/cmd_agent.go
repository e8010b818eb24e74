package main

import "github.com/spf13/cobra"

// newAgentCmd is a placeholder until its issue lands; replace this file.
func newAgentCmd() *cobra.Command { return notYet("agent", "Manage support agents", "issue #7") }
