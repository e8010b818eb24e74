package recommender

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ml100kDir finds the benchmark split: $SHOPCHAT_SHARED/data/ml-100k/loo, else ../shared beside the
// repository root (the worktree may sit one level deeper than the main checkout).
func ml100kDir() string {
	cands := []string{"../../shared/data/ml-100k/loo", "../../../shared/data/ml-100k/loo"}
	if s := os.Getenv("SHOPCHAT_SHARED"); s != "" {
		cands = append([]string{filepath.Join(s, "data/ml-100k/loo")}, cands...)
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "train.rating")); err == nil {
			return c
		}
	}
	return cands[0]
}

func loadML100K(t testing.TB) ([]Interaction, []LOOCase) {
	t.Helper()
	dir := ml100kDir()
	f, err := os.Open(filepath.Join(dir, "train.rating"))
	if err != nil {
		t.Skipf("ml-100k benchmark data not available (%v); it lives in ../shared/data", err)
	}
	defer f.Close()
	train, err := ParseInteractions(f, ParseOptions{Format: FormatNCF, Source: "train.rating"})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ReadLOO(dir)
	if err != nil {
		t.Fatal(err)
	}
	return train, cases
}

// TestExperimentML100K trains with the JSON config in REC_EXPERIMENT and prints the metrics; it is a
// tuning aid, skipped unless the variable is set.
func TestExperimentML100K(t *testing.T) {
	raw := os.Getenv("REC_EXPERIMENT")
	if raw == "" {
		t.Skip("set REC_EXPERIMENT to a JSON TrainConfig to run")
	}
	var cfg TrainConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	train, cases := loadML100K(t)
	start := time.Now()
	m, err := Train(context.Background(), train, cfg, TrainOptions{Progress: func(s string) {
		t.Logf("%.1fs %s", time.Since(start).Seconds(), s)
	}})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got := EvaluateLOO(cases, m)
	t.Logf("cfg %s: HR@10 %.4f NDCG@10 %.4f train %.1fs", raw, got.HR, got.NDCG, took.Seconds())
	if os.Getenv("REC_BASELINES") != "" {
		t.Logf("popularity %+v", EvaluateLOO(cases, PopularityScorer(train)))
		t.Logf("item-kNN %+v", EvaluateLOO(cases, ItemKNNScorer(train)))
	}
}
