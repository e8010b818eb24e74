package main

import "github.com/spf13/cobra"

// newKBCmd is a placeholder until its issue lands; replace this file.
func newKBCmd() *cobra.Command { return notYet("kb", "Manage the knowledge base", "issue #4") }
