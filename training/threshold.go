package training

import (
	"math"
	"sort"
)

// scored is one prediction reduced to what threshold selection needs.
type scored struct {
	top      float64 // probability of the top in-scope label (0 when the explicit oos class is on top)
	oosClass bool    // the explicit out-of-scope class is on top
	correct  bool    // the top label is the gold label
	goldOOS  bool    // the gold label is out of scope
}

// thresholdRule says how chooseThreshold picks.
const (
	// RuleBalanced maximises in-scope accuracy + out-of-scope recall on validation data.
	RuleBalanced = "balanced"
	// RuleWeighted maximises in-scope accuracy + w * out-of-scope recall (Options.OOSWeight).
	RuleWeighted = "weighted"
	// RuleAccuracy maximises overall accuracy (out-of-scope examples count once each).
	RuleAccuracy = "accuracy"
	// RuleRecall takes the lowest threshold whose out-of-scope recall on validation data reaches a target
	// (Options.OOSRecall) with a confidence (Options.OOSConfidence: the lower end of the one-sided Wilson
	// interval must reach it): the most in-scope accuracy that still catches that share of off-topic
	// messages.
	RuleRecall = "recall"
)

// thresholdSpec is what chooseThreshold needs besides the predictions.
type thresholdSpec struct {
	rule       string
	weight     float64 // RuleWeighted: weight of out-of-scope recall
	recall     float64 // RuleRecall: out-of-scope recall to reach
	confidence float64 // RuleRecall: confidence of the lower bound that must reach recall (0: the point estimate)
	classes    int     // labels of the model
	rejectRate float64 // without out-of-scope examples (see chooseThreshold)
}

// chooseThreshold picks the out-of-scope threshold on validation predictions. With out-of-scope examples
// it maximises the rule over every distinct top probability (RuleRecall: takes the lowest one reaching
// the recall). Without them every rule reduces to in-scope
// accuracy, which no threshold improves: the threshold is 0 unless rejectRate > 0, in which case it is the
// lowest threshold that rejects at most that share of the correctly classified messages (so that clear
// nonsense, which the model is unsure about, falls out of scope), and at most 1.2 times chance level when
// there are fewer than 100 of them.
func chooseThreshold(s []scored, spec thresholdSpec) float64 {
	rule, weight, classes, rejectRate := spec.rule, spec.weight, spec.classes, spec.rejectRate
	nIn, nOOS := 0, 0
	for _, p := range s {
		if p.goldOOS {
			nOOS++
		} else {
			nIn++
		}
	}
	if nIn == 0 {
		return 0
	}
	cands := make([]float64, 0, len(s)+1)
	cands = append(cands, 0)
	for _, p := range s {
		if !p.oosClass {
			cands = append(cands, p.top)
		}
	}
	sort.Float64s(cands)
	if nOOS == 0 {
		if rejectRate <= 0 {
			return 0
		}
		var ok []float64
		for _, p := range s {
			if p.correct && !p.oosClass {
				ok = append(ok, p.top)
			}
		}
		if len(ok) == 0 {
			return 0
		}
		sort.Float64s(ok)
		k := min(int(float64(len(ok))*rejectRate), len(ok)-1)
		if len(ok) < 100 && classes > 0 {
			// Too few validation messages for a 1% quantile: stay near chance level.
			return min(ok[k], 1.2/float64(classes))
		}
		return ok[k]
	}
	// Sweep thresholds upwards: sort by top probability and move examples from accepted to rejected.
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return s[order[a]].top < s[order[b]].top })
	inOK, oosOK := 0, 0
	for _, p := range s {
		if p.goldOOS && p.oosClass {
			oosOK++
		}
		if !p.goldOOS && p.correct && !p.oosClass {
			inOK++
		}
	}
	score := func() float64 {
		if rule == RuleAccuracy {
			return float64(inOK+oosOK) / float64(nIn+nOOS)
		}
		w := 1.0
		if rule == RuleWeighted {
			w = weight
		}
		return float64(inOK)/float64(nIn) + w*float64(oosOK)/float64(nOOS)
	}
	z := 0.0
	if spec.confidence > 0 && spec.confidence < 1 {
		z = math.Sqrt2 * math.Erfinv(2*spec.confidence-1)
		if wilsonLower(nOOS, nOOS, z) < spec.recall {
			z = 0 // too few out-of-scope examples for any bound to reach the target: the point estimate
		}
	}
	recallReached := func() bool { return wilsonLower(oosOK, nOOS, z) >= spec.recall-1e-9 }
	if rule == RuleRecall && recallReached() {
		return 0
	}
	best, bestT := score(), 0.0
	i := 0
	for i < len(order) {
		// Threshold just above s[order[i]].top: reject every example with top <= that value.
		t := s[order[i]].top
		for i < len(order) && s[order[i]].top <= t {
			p := s[order[i]]
			if !p.oosClass {
				if p.goldOOS {
					oosOK++
				} else if p.correct {
					inOK--
				}
			}
			i++
		}
		next := 1.0
		if i < len(order) {
			next = s[order[i]].top
		}
		if rule == RuleRecall {
			if recallReached() {
				return (t + next) / 2
			}
			continue
		}
		if v := score(); v > best {
			best, bestT = v, (t+next)/2
		}
	}
	return bestT
}

// wilsonLower is the lower end of the Wilson score interval for k successes in n trials with normal
// quantile z (one-sided: z = 1.645 for 95%): the recall that can be claimed with that confidence from
// n examples. z = 0 gives k/n.
func wilsonLower(k, n int, z float64) float64 {
	if n == 0 {
		return 0
	}
	p, nf := float64(k)/float64(n), float64(n)
	if z == 0 {
		return p
	}
	z2 := z * z
	centre := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return (centre - half) / (1 + z2/nf)
}
