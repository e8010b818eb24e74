package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shopchat/shopchat/kb"
)

func newKBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kb",
		Short: "Manage the knowledge base: import, export, stats, GDPR requests",
		Long: `Manage the shop's knowledge base (the SQLite file at --db, default DATA_DIR/shopchat.db).

Import files are CSV, JSON or YAML (by extension); their formats are in docs/kb-formats.md. An import
checks every row first and reports every bad one as FILE:LINE: reason; only a file without errors is
applied, in one transaction. Re-importing a file is harmless: records are upserted by their natural key.`,
	}
	cmd.PersistentFlags().String("db", "", "database file (default DATA_DIR/shopchat.db); env SHOPCHAT_DB")
	cmd.AddCommand(newKBImportCmd(), newKBExportCmd(), newKBStatsCmd(), newKBForgetCmd(), newKBExportCustomerCmd(), newKBLoadDemoCmd())
	return cmd
}

// openKB opens the configured database; readOnly skips migrations and refuses writes.
func openKB(cmd *cobra.Command, readOnly bool) (*kb.Store, error) {
	c, log, err := setup(cmd)
	if err != nil {
		return nil, err
	}
	if readOnly {
		if _, err := os.Stat(c.DB); err != nil {
			return nil, fmt.Errorf("database %s: %w", c.DB, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(c.DB), 0o755); err != nil {
		return nil, fmt.Errorf("database directory: %w", err)
	}
	return kb.Open(cmd.Context(), kb.Config{Path: c.DB, Logger: log, ReadOnly: readOnly})
}

func kindArg(s string) (kb.Kind, error) {
	k, err := kb.ParseKind(s)
	if err != nil {
		return "", usageError{err}
	}
	return k, nil
}

func newKBImportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import products|customers|orders|faqs|answers FILE",
		Short: "Import a CSV, JSON or YAML file (all rows or none)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := kindArg(args[0])
			if err != nil {
				return err
			}
			f := kb.Format(format)
			if format == "" {
				if f, err = kb.FormatFromPath(args[1]); err != nil {
					return usageError{fmt.Errorf("%w; or pass --format", err)}
				}
			}
			s, err := openKB(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			var r io.Reader = os.Stdin
			if args[1] != "-" {
				file, err := os.Open(args[1])
				if err != nil {
					return err
				}
				defer file.Close()
				r = file
			}
			rep, err := s.Import(cmd.Context(), kind, f, args[1], r)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d %s from %s: %d new, %d updated\n", rep.Rows, kind, args[1], rep.Created, rep.Updated)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (default: from the file's extension; required for - (stdin))")
	return cmd
}

func newKBExportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export products|customers|orders|faqs|answers",
		Short: "Export records in the import format (CSV, JSON or YAML)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := kindArg(args[0])
			if err != nil {
				return err
			}
			f := kb.Format(format)
			if format == "" && out != "" {
				if f, err = kb.FormatFromPath(out); err != nil {
					return usageError{err}
				}
			} else if format == "" {
				f = kb.FormatCSV
			}
			s, err := openKB(cmd, true)
			if err != nil {
				return err
			}
			defer s.Close()
			return writeOut(out, func(w io.Writer) error { return s.Export(cmd.Context(), kind, f, w) }, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (default: from -o's extension, else csv)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// writeOut writes to path atomically (temporary file, then rename), or to stdout when path is empty.
func writeOut(path string, write func(io.Writer) error, stdout io.Writer) error {
	if path == "" {
		return write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newKBStatsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count what the knowledge base holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openKB(cmd, true)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.Stats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "database\t%s (%.1f MiB, schema %04d)\n", st.Path, float64(st.FileBytes)/(1<<20), st.SchemaVersion)
			fmt.Fprintf(w, "products\t%d (%d active, %d categories)\n", st.Products, st.ActiveProducts, st.Categories)
			fmt.Fprintf(w, "customers\t%d\n", st.Customers)
			var statuses []string
			for k, v := range st.OrdersByStatus {
				statuses = append(statuses, fmt.Sprintf("%s %d", k, v))
			}
			sort.Strings(statuses)
			fmt.Fprintf(w, "orders\t%d (%s)\n", st.Orders, strings.Join(statuses, ", "))
			fmt.Fprintf(w, "faqs\t%d\n", st.FAQs)
			fmt.Fprintf(w, "answer templates\t%d\n", st.Templates)
			fmt.Fprintf(w, "conversations\t%d (%d messages)\n", st.Conversations, st.Messages)
			fmt.Fprintf(w, "signals\t%d interactions, %d impressions, %d events\n", st.Interactions, st.Impressions, st.Events)
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newKBForgetCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "forget-customer ID",
		Short: "Erase a customer's personal data and conversations (GDPR art. 17)",
		Long: `Erase a customer's personal data: the customer record, their conversations and messages,
recommendation signals and analytics events are deleted; their orders are kept for accounting but
anonymised (no customer link, email, name, street or postcode). This cannot be undone; pass --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageError{errors.New("forget-customer erases data for good; pass --yes to confirm")}
			}
			s, err := openKB(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.ForgetCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "erased customer %s: record deleted %v, %d conversations, %d orders anonymised, %d interactions, %d impressions, %d events\n",
				rep.CustomerID, rep.Customer, rep.Conversations, rep.Orders, rep.Interactions, rep.Impressions, rep.Events)
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the erasure")
	return cmd
}

func newKBExportCustomerCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export-customer ID",
		Short: "Export everything stored about a customer as JSON (GDPR art. 15 and 20)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openKB(cmd, true)
			if err != nil {
				return err
			}
			defer s.Close()
			exp, err := s.ExportCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeOut(out, func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(exp)
			}, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func newKBLoadDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "load-demo",
		Short: "Load the demo shop (Fernwood & Co.) into an empty database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openKB(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := kb.LoadDemo(cmd.Context(), s); err != nil {
				return err
			}
			st, err := s.Stats(context.WithoutCancel(cmd.Context()))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d products, %d customers, %d orders, %d FAQs, %d answer templates\n",
				st.Path, st.Products, st.Customers, st.Orders, st.FAQs, st.Templates)
			return nil
		},
	}
}
