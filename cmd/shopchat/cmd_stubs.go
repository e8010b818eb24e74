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
