package training

import (
	"math"
	"sort"

	"github.com/shopchat/shopchat/intents"
)

// IntentMetrics are one label's figures.
type IntentMetrics struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Metrics are a model's figures on labelled data.
type Metrics struct {
	Examples int `json:"examples"`
	// Accuracy counts an out-of-scope example as right when it is predicted out of scope.
	Accuracy float64 `json:"accuracy"`
	// AccuracyInScope is over in-scope examples; one rejected as out of scope counts as wrong.
	AccuracyInScope float64 `json:"accuracy_in_scope"`
	// AccuracyInScopeNoThreshold is the same without the threshold (the explicit class still applies).
	AccuracyInScopeNoThreshold float64 `json:"accuracy_in_scope_no_threshold"`
	// OOSRecall and OOSPrecision are nil when the data has no out-of-scope examples.
	OOSRecall    *float64 `json:"oos_recall"`
	OOSPrecision *float64 `json:"oos_precision"`
	MacroF1      float64  `json:"macro_f1"`
	Threshold    float64  `json:"threshold"`
	Temperature  float64  `json:"temperature"`
	// ECE is the expected calibration error of the top probability (15 bins).
	ECE       float64                  `json:"expected_calibration_error"`
	PerIntent map[string]IntentMetrics `json:"per_intent,omitempty"`
}

// prediction is one scored example.
type prediction struct {
	gold, pred string
	probs      []float64 // calibrated, by label index
	top        int       // index of the top label (any class)
	conf       float64   // probability of the predicted label (top in-scope probability, or oos class)
	noThresh   string    // prediction without the threshold
}

// predictAll scores prepared examples with m's current temperature and threshold.
func predictAll(m *intents.Model, p []intents.Prepared, ex []Example) []prediction {
	out := make([]prediction, len(ex))
	for i := range ex {
		probs := make([]float64, len(m.Labels))
		m.Logits(p[i], probs)
		intents.Probabilities(probs, m.Config.Temperature)
		out[i] = decide(m, probs, ex[i].Label)
	}
	return out
}

func decide(m *intents.Model, probs []float64, gold string) prediction {
	top, oos := m.Decide(probs, m.Config.Threshold)
	pr := prediction{gold: gold, probs: probs, top: top, conf: probs[top], pred: m.Labels[top], noThresh: m.Labels[top]}
	if oos {
		pr.pred = intents.OutOfScope
	}
	return pr
}

// computeMetrics summarises predictions.
func computeMetrics(preds []prediction, perIntent bool) *Metrics {
	m := &Metrics{Examples: len(preds)}
	var nIn, inOK, inOKNoT, nOOS, oosOK, predOOS, ok int
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	support := map[string]int{}
	for _, p := range preds {
		support[p.gold]++
		if p.pred == p.gold {
			ok++
			tp[p.gold]++
		} else {
			fp[p.pred]++
			fn[p.gold]++
		}
		if p.pred == intents.OutOfScope {
			predOOS++
		}
		if p.gold == intents.OutOfScope {
			nOOS++
			if p.pred == intents.OutOfScope {
				oosOK++
			}
		} else {
			nIn++
			if p.pred == p.gold {
				inOK++
			}
			if p.noThresh == p.gold {
				inOKNoT++
			}
		}
	}
	if len(preds) > 0 {
		m.Accuracy = float64(ok) / float64(len(preds))
	}
	if nIn > 0 {
		m.AccuracyInScope = float64(inOK) / float64(nIn)
		m.AccuracyInScopeNoThreshold = float64(inOKNoT) / float64(nIn)
	}
	if nOOS > 0 {
		r := float64(oosOK) / float64(nOOS)
		m.OOSRecall = &r
		pr := 0.0
		if predOOS > 0 {
			pr = float64(oosOK) / float64(predOOS)
		}
		m.OOSPrecision = &pr
	}
	labels := make([]string, 0, len(support))
	for l := range support {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	if perIntent {
		m.PerIntent = map[string]IntentMetrics{}
	}
	var f1s float64
	for _, l := range labels {
		var im IntentMetrics
		im.Support = support[l]
		if d := tp[l] + fp[l]; d > 0 {
			im.Precision = float64(tp[l]) / float64(d)
		}
		if d := tp[l] + fn[l]; d > 0 {
			im.Recall = float64(tp[l]) / float64(d)
		}
		if im.Precision+im.Recall > 0 {
			im.F1 = 2 * im.Precision * im.Recall / (im.Precision + im.Recall)
		}
		f1s += im.F1
		if perIntent {
			m.PerIntent[l] = im
		}
	}
	if len(labels) > 0 {
		m.MacroF1 = f1s / float64(len(labels))
	}
	m.ECE = ece(preds)
	return m
}

// ece is the expected calibration error of the top probability over 15 equal-width bins.
func ece(preds []prediction) float64 {
	const bins = 15
	var cnt [bins]int
	var conf, acc [bins]float64
	for _, p := range preds {
		c := p.probs[p.top]
		b := min(int(c*bins), bins-1)
		cnt[b]++
		conf[b] += c
		if p.noThresh == p.gold {
			acc[b]++
		}
	}
	var e float64
	for b := 0; b < bins; b++ {
		if cnt[b] > 0 {
			e += math.Abs(acc[b]-conf[b]) / float64(len(preds))
		}
	}
	return e
}

// calibrate fits the model's temperature and out-of-scope threshold on validation data and returns the
// validation metrics with them.
func calibrate(m *intents.Model, p []intents.Prepared, ex []Example, spec thresholdSpec) *Metrics {
	li := map[string]int{}
	for i, l := range m.Labels {
		li[l] = i
	}
	logits := make([][]float64, len(ex))
	var fitL [][]float64
	var fitY []int
	for i := range ex {
		logits[i] = make([]float64, len(m.Labels))
		m.Logits(p[i], logits[i])
		if y, ok := li[ex[i].Label]; ok {
			fitL = append(fitL, logits[i])
			fitY = append(fitY, y)
		}
	}
	m.Config.Temperature = fitTemperature(fitL, fitY)
	sc := make([]scored, len(ex))
	for i := range ex {
		probs := append([]float64(nil), logits[i]...)
		intents.Probabilities(probs, m.Config.Temperature)
		top := 0
		for j, v := range probs {
			if v > probs[top] {
				top = j
			}
		}
		s := scored{top: probs[top], goldOOS: ex[i].Label == intents.OutOfScope, correct: m.Labels[top] == ex[i].Label}
		if top == m.OOSIndex() {
			s.oosClass, s.top = true, 0
		}
		sc[i] = s
	}
	spec.classes = len(m.Labels)
	m.Config.Threshold = chooseThreshold(sc, spec)
	preds := predictAll(m, p, ex)
	met := computeMetrics(preds, false)
	met.Threshold, met.Temperature = m.Config.Threshold, m.Config.Temperature
	return met
}
