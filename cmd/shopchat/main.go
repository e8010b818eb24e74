// Command shopchat is the shop's chat backend: one binary with subcommands to serve, train, evaluate
// and administer. It holds only wiring; the product lives in the top-level packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "shopchat:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "shopchat:", err)
		os.Exit(1)
	}
}

// usageError marks an error in the command line or configuration (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "shopchat",
		Short: "Customer-service chat backend for online shops",
		Long: `shopchat answers a shop's customers in a chat widget: it understands them with a neural intent
model, answers from the shop's knowledge base, suggests products and hands over to human agents.

Configuration comes from flags, then SHOPCHAT_* environment variables, then an optional YAML or TOML
file (--config or SHOPCHAT_CONFIG), then defaults; see docs/configuration.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addGlobalFlags(root)
	root.AddCommand(
		newServeCmd(),
		newTrainCmd(),
		newEvalCmd(),
		newKBCmd(),
		newRecommenderCmd(),
		newAgentCmd(),
		newBenchCmd(),
		newVersionCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "shopchat", version)
			return nil
		},
	}
}
