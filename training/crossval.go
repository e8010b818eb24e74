package training

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
)

// CVReport summarises a k-fold cross-validation.
type CVReport struct {
	Folds int `json:"folds"`
	// Accuracy is over every held-out example (out of scope included); AccuracyInScope over in-scope
	// ones; each with the mean and standard deviation over folds.
	Accuracy         float64    `json:"accuracy"`
	AccuracyStd      float64    `json:"accuracy_std"`
	AccuracyInScope  float64    `json:"accuracy_in_scope"`
	MacroF1          float64    `json:"macro_f1"`
	OOSRecall        *float64   `json:"oos_recall"`
	PerFold          []*Metrics `json:"per_fold"`
	BaselineAccuracy *float64   `json:"baseline_accuracy,omitempty"`
	BaselinePerFold  []*Metrics `json:"baseline_per_fold,omitempty"`
}

// CrossValidate trains k models, each on all folds but one of ds.Train (stratified by label, seeded),
// and scores each on its held-out fold. The validation split for early stopping and the threshold is
// taken from the training folds as in Train.
func CrossValidate(ctx context.Context, ds *Dataset, k int, o Options) (*CVReport, error) {
	if k < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 folds, got %d", k)
	}
	o = o.withDefaults()
	if err := o.checkTableOptimizer(); err != nil {
		return nil, err
	}
	vc := DefaultValidation()
	vc.DropConflicts = o.DropConflicts
	rep := Validate(ds, vc)
	if err := rep.Err(); err != nil {
		return nil, err
	}
	folds := stratifiedFolds(rep.Train, k, o.Seed)
	tmp, err := os.MkdirTemp("", "shopchat-cv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cv := &CVReport{Folds: k}
	var accs, in, f1s, oos, base []float64
	for f := 0; f < k; f++ {
		var train, test []Example
		for i, e := range rep.Train {
			if folds[i] == f {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
		dir := fmt.Sprintf("%s/fold%d", tmp, f)
		fo := o
		fo.Progress = nil
		if _, err := Train(ctx, &Dataset{Train: train}, dir, fo); err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		r, err := Evaluate(ctx, dir, test, fmt.Sprintf("fold %d", f+1), EvalOptions{LatencySamples: 1, Baseline: o.Baseline})
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		r.Metrics.PerIntent = nil
		cv.PerFold = append(cv.PerFold, r.Metrics)
		accs = append(accs, r.Accuracy)
		in = append(in, r.AccuracyInScope)
		f1s = append(f1s, r.MacroF1)
		if r.OOSRecall != nil {
			oos = append(oos, *r.OOSRecall)
		}
		if b := r.Baselines["linear"]; b != nil {
			b.Metrics.PerIntent = nil
			cv.BaselinePerFold = append(cv.BaselinePerFold, b.Metrics)
			base = append(base, b.Accuracy)
		}
		o.Logger.Info("cross-validation fold", "fold", f+1, "of", k, "accuracy", r.Accuracy)
		os.RemoveAll(dir)
	}
	cv.Accuracy, cv.AccuracyStd = meanStd(accs)
	cv.AccuracyInScope, _ = meanStd(in)
	cv.MacroF1, _ = meanStd(f1s)
	if len(oos) > 0 {
		m, _ := meanStd(oos)
		cv.OOSRecall = &m
	}
	if len(base) > 0 {
		m, _ := meanStd(base)
		cv.BaselineAccuracy = &m
	}
	return cv, nil
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	var q float64
	for _, x := range v {
		q += (x - m) * (x - m)
	}
	return m, math.Sqrt(q / float64(len(v)))
}

// stratifiedFolds assigns each example a fold in [0,k), spreading every label evenly.
func stratifiedFolds(ex []Example, k int, seed int64) []int {
	by, labels := indicesByLabel(ex)
	rng := rand.New(rand.NewSource(seed))
	out := make([]int, len(ex))
	next := 0
	for _, l := range labels {
		idx := by[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			out[i] = next % k
			next++
		}
	}
	return out
}
