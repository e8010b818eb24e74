package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/recommender"
)

func newRecommenderCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recommender",
		Short: "Train and evaluate the recommendation model",
		Long: `Train the shop's recommendation model offline (libtorch) and evaluate it with the leave-one-out
protocol of the NCF benchmark. See docs/recommender.md.`,
	}
	cmd.AddCommand(newRecommenderTrainCmd(), newRecommenderEvalCmd(), newRecommenderBenchCmd())
	return cmd
}

func addTrainFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Int64("seed", 1, "random seed (libtorch and Go)")
	f.Float64("lambda", 0, "L2 regularisation of the item-to-item regression (0 = default 500)")
	f.Int("neighbours", 0, "item-to-item weights kept per product (0 = default 500)")
	f.Float64("popularity-weight", 0, "weight of the time-weighted popularity in scores (0 = default 0.1, <0 = none)")
	f.Float64("recency-boost", 0, "extra weight of a customer's most recent interactions (0 = default 3, <0 = none)")
	f.Int("threads", 2, "libtorch threads")
}

func trainConfigFromFlags(cmd *cobra.Command) recommender.TrainConfig {
	f := cmd.Flags()
	var c recommender.TrainConfig
	c.Seed, _ = f.GetInt64("seed")
	c.Lambda, _ = f.GetFloat64("lambda")
	c.Neighbours, _ = f.GetInt("neighbours")
	c.PopularityWeight, _ = f.GetFloat64("popularity-weight")
	c.RecencyBoost, _ = f.GetFloat64("recency-boost")
	c.Threads, _ = f.GetInt("threads")
	return c
}

func newRecommenderTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train (--interactions FILE [--format csv|ncf] | --from-kb) --out DIR [--seed N]",
		Short: "Train a model from an interaction file or from the knowledge base",
		Long: `Train a recommendation model and save it to --out (atomically: a reader sees the old model or the new one).

--interactions FILE reads interactions: --format csv (customer_id,sku,kind,weight,timestamp; kind view, cart or
purchase; weight optional; timestamp unix seconds or RFC 3339; header optional) or --format ncf (the NCF
benchmark's tab-separated user item rating timestamp). Every invalid line is reported with its number. For csv,
when the knowledge base (--db, default DATA_DIR/shopchat.db) exists, products it does not know are errors and
its catalogue gives the product features (category, price band).

--from-kb trains on the knowledge base's interactions and orders, with its catalogue.`,
		Args: cobra.NoArgs,
		RunE: runRecommenderTrain,
	}
	f := cmd.Flags()
	f.String("interactions", "", "interaction file")
	f.String("format", "csv", "format of --interactions: csv or ncf")
	f.Bool("from-kb", false, "train on the knowledge base")
	f.String("db", "", "knowledge base file (default DATA_DIR/shopchat.db)")
	f.String("out", "", "model directory to write (default DATA_DIR/models/recommender)")
	addTrainFlags(cmd)
	return cmd
}

func runRecommenderTrain(cmd *cobra.Command, args []string) error {
	c, log, err := setup(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	f := cmd.Flags()
	file, _ := f.GetString("interactions")
	format, _ := f.GetString("format")
	fromKB, _ := f.GetBool("from-kb")
	out, _ := f.GetString("out")
	if out == "" {
		out = c.Models.Recommender
	}
	if (file == "") == !fromKB {
		return usageError{errors.New("give exactly one of --interactions FILE or --from-kb")}
	}
	format = strings.ToLower(format)
	if format != recommender.FormatCSV && format != recommender.FormatNCF {
		return usageError{fmt.Errorf("--format %q: want csv or ncf", format)}
	}
	cfg := trainConfigFromFlags(cmd)
	w := cmd.OutOrStdout()
	start := time.Now()
	progress := func(stage string) { fmt.Fprintf(w, "[%5.1fs] %s\n", time.Since(start).Seconds(), stage) }
	if fromKB {
		store, err := kb.Open(ctx, kb.Config{Path: c.DB, Logger: log, ReadOnly: true})
		if err != nil {
			return fmt.Errorf("open knowledge base %s: %w", c.DB, err)
		}
		defer store.Close()
		progress("reading the knowledge base " + c.DB)
		m, err := recommender.TrainFromStore(ctx, store, out, cfg, log)
		if err != nil {
			return err
		}
		printTrained(w, m, out, start)
		return nil
	}
	var catalog map[string]recommender.ItemInfo
	if format == recommender.FormatCSV {
		if _, err := os.Stat(c.DB); err == nil {
			store, err := kb.Open(ctx, kb.Config{Path: c.DB, Logger: log, ReadOnly: true})
			if err != nil {
				return fmt.Errorf("open knowledge base %s: %w", c.DB, err)
			}
			products, err := store.ListProducts(ctx)
			store.Close()
			if err != nil {
				return err
			}
			catalog = recommender.CatalogInfo(products)
			progress(fmt.Sprintf("checking products against the catalogue of %s (%d products)", c.DB, len(products)))
		}
	}
	in, err := readInteractions(file, format, catalog, progress)
	if err != nil {
		return err
	}
	m, err := recommender.Train(ctx, in, cfg, recommender.TrainOptions{Catalog: catalog, Logger: log, Progress: progress})
	if err != nil {
		return err
	}
	if err := m.Save(out); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	printTrained(w, m, out, start)
	return nil
}

func readInteractions(file, format string, catalog map[string]recommender.ItemInfo, progress func(string)) ([]recommender.Interaction, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, usageError{err}
	}
	defer fh.Close()
	opt := recommender.ParseOptions{Format: format, Source: file,
		Progress: func(n int) { progress(fmt.Sprintf("read %d lines", n)) }}
	if catalog != nil {
		opt.KnownItem = func(sku string) bool { _, ok := catalog[sku]; return ok }
	}
	progress("reading " + file)
	in, err := recommender.ParseInteractions(fh, opt)
	if err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("read %d interactions", len(in)))
	return in, nil
}

func printTrained(w io.Writer, m *recommender.Model, out string, start time.Time) {
	st := m.Meta().Stats
	fmt.Fprintf(w, "model %s: %d customers, %d products, %d positives, %d neighbour weights; trained in %.1fs; saved to %s\n",
		m.Version(), st.Users, st.Items, st.Positives, st.Neighbours, time.Since(start).Seconds(), out)
}

func newRecommenderEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval --model DIR --data DIR --report report.json",
		Short: "Evaluate a model with the leave-one-out protocol, with popularity and item-kNN baselines",
		Long: `Rank each user's held-out item (DIR/test.rating) among its sampled negatives (DIR/test.negative, the NCF
format); ties count against the held-out item. Reports hr_at_10 and ndcg_at_10, and under "baselines" the same
metrics of a popularity and an item-kNN (cosine) baseline fitted on --train (default DIR/train.rating).`,
		Args: cobra.NoArgs,
		RunE: runRecommenderEval,
	}
	f := cmd.Flags()
	f.String("model", "", "model directory (default DATA_DIR/models/recommender)")
	f.String("data", "", "directory with test.rating and test.negative")
	f.String("train", "", "training interactions for the baselines, NCF format (default DATA/train.rating)")
	f.String("report", "", "write the JSON report here (default: stdout only)")
	return cmd
}

func runRecommenderEval(cmd *cobra.Command, args []string) error {
	c, _, err := setup(cmd)
	if err != nil {
		return err
	}
	f := cmd.Flags()
	modelDir, _ := f.GetString("model")
	data, _ := f.GetString("data")
	trainFile, _ := f.GetString("train")
	reportPath, _ := f.GetString("report")
	if modelDir == "" {
		modelDir = c.Models.Recommender
	}
	if data == "" {
		return usageError{errors.New("--data DIR is required")}
	}
	m, err := recommender.Load(modelDir)
	if err != nil {
		return err
	}
	cases, err := recommender.ReadLOO(data)
	if err != nil {
		return err
	}
	if trainFile == "" {
		trainFile = filepath.Join(data, "train.rating")
	}
	var train []recommender.Interaction
	if _, err := os.Stat(trainFile); err == nil {
		if train, err = readInteractions(trainFile, recommender.FormatNCF, nil, func(string) {}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(cmd.ErrOrStderr(), "no %s: baselines skipped\n", trainFile)
	}
	start := time.Now()
	r := recommender.Evaluate(m, cases, train)
	r.Data = data
	r.Seconds = time.Since(start).Seconds()
	return writeReport(cmd.OutOrStdout(), reportPath, r)
}

func writeReport(w io.Writer, path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return err
	}
	if path != "" {
		return os.WriteFile(path, b, 0o644)
	}
	return nil
}

// benchReport is the output of `recommender bench`.
type benchReport struct {
	Data      string                         `json:"data"`
	Seeds     []int64                        `json:"seeds"`
	Runs      []benchRun                     `json:"runs"`
	MeanHR    float64                        `json:"mean_hr_at_10"`
	MeanNDCG  float64                        `json:"mean_ndcg_at_10"`
	MeanTrain float64                        `json:"mean_train_seconds"`
	Baselines map[string]recommender.Metrics `json:"baselines"`
}

type benchRun struct {
	Seed         int64   `json:"seed"`
	Model        string  `json:"model"`
	HR           float64 `json:"hr_at_10"`
	NDCG         float64 `json:"ndcg_at_10"`
	TrainSeconds float64 `json:"train_seconds"`
}

func newRecommenderBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench --data DIR [--seeds 1,2,3] [--report FILE]",
		Short: "Train on DIR/train.rating and evaluate on DIR once per seed (the figures of docs/BENCHMARKS.md)",
		Args:  cobra.NoArgs,
		RunE:  runRecommenderBench,
	}
	f := cmd.Flags()
	f.String("data", "", "directory with train.rating, test.rating and test.negative")
	f.String("seeds", "1,2,3", "comma-separated seeds")
	f.String("report", "", "write the JSON report here")
	addTrainFlags(cmd)
	return cmd
}

func runRecommenderBench(cmd *cobra.Command, args []string) error {
	if _, _, err := setup(cmd); err != nil {
		return err
	}
	f := cmd.Flags()
	data, _ := f.GetString("data")
	seedList, _ := f.GetString("seeds")
	reportPath, _ := f.GetString("report")
	if data == "" {
		return usageError{errors.New("--data DIR is required")}
	}
	var seeds []int64
	for _, s := range strings.Split(seedList, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("--seeds %q: %v", seedList, err)}
		}
		seeds = append(seeds, n)
	}
	train, err := readInteractions(filepath.Join(data, "train.rating"), recommender.FormatNCF, nil, func(string) {})
	if err != nil {
		return err
	}
	cases, err := recommender.ReadLOO(data)
	if err != nil {
		return err
	}
	rep := benchReport{Data: data, Seeds: seeds}
	for _, seed := range seeds {
		cfg := trainConfigFromFlags(cmd)
		cfg.Seed = seed
		start := time.Now()
		m, err := recommender.Train(cmd.Context(), train, cfg, recommender.TrainOptions{})
		if err != nil {
			return err
		}
		took := time.Since(start).Seconds()
		got := recommender.EvaluateLOO(cases, m)
		rep.Runs = append(rep.Runs, benchRun{Seed: seed, Model: m.Version(), HR: got.HR, NDCG: got.NDCG, TrainSeconds: took})
		rep.MeanHR += got.HR / float64(len(seeds))
		rep.MeanNDCG += got.NDCG / float64(len(seeds))
		rep.MeanTrain += took / float64(len(seeds))
		fmt.Fprintf(cmd.ErrOrStderr(), "seed %d: HR@10 %.4f NDCG@10 %.4f, trained in %.1fs\n", seed, got.HR, got.NDCG, took)
	}
	rep.Baselines = map[string]recommender.Metrics{
		"popularity": recommender.EvaluateLOO(cases, recommender.PopularityScorer(train)),
		"item_knn":   recommender.EvaluateLOO(cases, recommender.ItemKNNScorer(train)),
	}
	return writeReport(cmd.OutOrStdout(), reportPath, rep)
}
