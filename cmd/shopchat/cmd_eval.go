package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/training"
)

func newEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate an intent model",
		Long: `Score an intent model on labelled data and write a JSON report (accuracy, accuracy_in_scope,
oos_recall, macro_f1, per_intent, latency_ms, model_version, misclassified examples, and the linear
baseline's figures under baselines.linear when the model directory holds one), a confusion-matrix CSV and
a PNG of the most confused pairs.

CLINC150 JSON is scored on test + oos_test (--split to change); YAML and CSV on every example.`,
		Args: cobra.NoArgs,
		RunE: runEval,
	}
	f := cmd.Flags()
	f.String("model", "", "model directory (required)")
	f.String("data", "", "labelled data file (required)")
	f.String("format", "auto", "data format: auto, yaml, csv or clinc150")
	f.String("split", "test", "CLINC150 split to score: test, val or train")
	f.String("report", "report.json", "JSON report to write")
	f.String("confusion", "", "PNG plot of the most confused pairs (default: beside the report)")
	f.String("confusion-csv", "", "confusion matrix CSV (default: beside the report)")
	f.String("scores", "", "also write every example's calibrated probabilities to this CSV (where, gold, predicted, confidence, one column per intent)")
	f.Bool("no-baseline", false, "do not score the model's linear baseline")
	f.String("table-precision", "", "score with the model's tables held at this precision (f32 or int8) instead of its own")
	f.Int("latency-samples", 2000, "messages timed one at a time for latency_ms")
	return cmd
}

func runEval(cmd *cobra.Command, args []string) error {
	_, log, err := setup(cmd)
	if err != nil {
		return err
	}
	f := cmd.Flags()
	model, _ := f.GetString("model")
	data, _ := f.GetString("data")
	format, _ := f.GetString("format")
	split, _ := f.GetString("split")
	reportPath, _ := f.GetString("report")
	png, _ := f.GetString("confusion")
	csvPath, _ := f.GetString("confusion-csv")
	scores, _ := f.GetString("scores")
	noBase, _ := f.GetBool("no-baseline")
	samples, _ := f.GetInt("latency-samples")
	prec, _ := f.GetString("table-precision")
	if err := intents.ValidPrecision(prec); err != nil {
		return usageError{fmt.Errorf("eval: --table-precision: %w", err)}
	}
	if model == "" || data == "" {
		return usageError{fmt.Errorf("eval: --model and --data are required")}
	}
	ds, err := training.Load(data, format)
	if err != nil {
		return err
	}
	ex := ds.Train
	if len(ds.Test) > 0 || len(ds.Val) > 0 {
		switch split {
		case "test":
			ex = ds.Test
		case "val":
			ex = ds.Val
		case "train":
		default:
			return usageError{fmt.Errorf("eval: --split %q: want test, val or train", split)}
		}
	}
	for _, e := range ex {
		if e.Text == "" {
			return fmt.Errorf("%s: empty text", e.Where())
		}
	}
	rep, err := training.Evaluate(cmd.Context(), model, ex, data, training.EvalOptions{LatencySamples: samples, Baseline: !noBase, TablePrecision: prec})
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(reportPath, filepath.Ext(reportPath))
	if png == "" {
		png = base + "-confusion.png"
	}
	if csvPath == "" {
		csvPath = base + "-confusion.csv"
	}
	if err := rep.WriteJSON(reportPath); err != nil {
		return err
	}
	if err := rep.WriteConfusionCSV(csvPath); err != nil {
		return err
	}
	if err := rep.WriteConfusionPNG(png); err != nil {
		return err
	}
	if scores != "" {
		if err := rep.WriteScoresCSV(scores); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d scored examples)\n", scores, rep.Examples)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "model %s (version %s, %s tables) on %d examples of %s\n", model, rep.ModelVersion, rep.TablePrecision, rep.Examples, data)
	printMetrics(w, "model", rep.Metrics)
	fmt.Fprintf(w, "latency per message (1 thread): p50 %.3f ms, p99 %.3f ms\n", rep.LatencyMs.P50, rep.LatencyMs.P99)
	if b := rep.Baselines["linear"]; b != nil {
		printMetrics(w, "linear baseline", b.Metrics)
	}
	fmt.Fprintf(w, "wrote %s, %s, %s (%d misclassified)\n", reportPath, csvPath, png, len(rep.Misclassified))
	log.Debug("eval done", "report", reportPath)
	return nil
}
