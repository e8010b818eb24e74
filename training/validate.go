package training

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/shopchat/shopchat/nlp"
)

// ValidationConfig sets the data checks run before training. DefaultValidation gives the defaults.
type ValidationConfig struct {
	// MinExamples: an intent with fewer examples is an error (it cannot be learnt or validated).
	MinExamples int
	// WarnExamples: an intent with fewer examples gets a warning.
	WarnExamples int
	// MaxImbalance: a warning when the largest intent has more than this many times the examples of the
	// smallest.
	MaxImbalance float64
	// DropConflicts turns "the same text under two intents" from an error into a warning and keeps the
	// first (public data sets such as BANKING77 have a few such label errors).
	DropConflicts bool
	// MinChars: a warning for texts shorter than this (after normalisation); 0 turns it off ("y", "👍"
	// are fine answers).
	MinChars int
}

// DefaultValidation returns the checks Train runs.
func DefaultValidation() ValidationConfig {
	return ValidationConfig{MinExamples: 2, WarnExamples: 10, MaxImbalance: 10}
}

// ValidationReport is the outcome of Validate.
type ValidationReport struct {
	// Train is the training data with exact duplicates removed.
	Train []Example
	// Errors stop training; each names the file and line.
	Errors []error
	// Warnings are listed but do not stop training.
	Warnings []string
}

// ErrInvalidData is wrapped by the error of a validation that found errors.
var ErrInvalidData = errors.New("invalid training data")

// maxListedErrors bounds the errors spelt out in Err's message.
const maxListedErrors = 25

// Err returns nil when there are no errors, or one error listing them (file:line: message per line).
func (r *ValidationReport) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d error(s)", ErrInvalidData, len(r.Errors))
	for i, e := range r.Errors {
		if i == maxListedErrors {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Errors)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %v", e)
	}
	return &validationError{msg: b.String(), errs: r.Errors}
}

type validationError struct {
	msg  string
	errs []error
}

func (e *validationError) Error() string { return e.msg }

// Unwrap lets errors.Is find ErrInvalidData and each LineError.
func (e *validationError) Unwrap() []error { return append([]error{ErrInvalidData}, e.errs...) }

// textKey is the form under which two texts count as the same.
func textKey(s string) string { return strings.Join(nlp.Words(nlp.Normalize(s)), " ") }

// Validate checks the training data of ds: unusable texts (empty, not UTF-8, too long, no words), the
// same text under two intents, intents with too few examples are errors; exact duplicates (dropped),
// very short texts, small intents and heavy imbalance are warnings. Validation and test texts are checked
// for unusable texts too.
func Validate(ds *Dataset, cfg ValidationConfig) *ValidationReport {
	r := &ValidationReport{}
	type first struct {
		label string
		where string
	}
	seen := map[string]first{}
	counts := map[string]int{}
	for _, e := range ds.Train {
		if msg := validText(e.Text); msg != "" {
			r.Errors = append(r.Errors, &LineError{File: e.File, Line: e.Line, Msg: msg})
			continue
		}
		key := textKey(e.Text)
		if key == "" {
			r.Errors = append(r.Errors, &LineError{File: e.File, Line: e.Line, Msg: fmt.Sprintf("text %q has no words", e.Text)})
			continue
		}
		if f, ok := seen[key]; ok {
			if f.label != e.Label && cfg.DropConflicts {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %q is labelled %q here and %q at %s: dropped", e.Where(), e.Text, e.Label, f.label, f.where))
			} else if f.label != e.Label {
				r.Errors = append(r.Errors, &LineError{File: e.File, Line: e.Line,
					Msg: fmt.Sprintf("%q is labelled %q here and %q at %s", e.Text, e.Label, f.label, f.where)})
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: duplicate of %s (%q), dropped", e.Where(), f.where, e.Text))
			}
			continue
		}
		seen[key] = first{label: e.Label, where: e.Where()}
		if cfg.MinChars > 0 && len([]rune(key)) < cfg.MinChars {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: very short text %q", e.Where(), e.Text))
		}
		counts[e.Label]++
		r.Train = append(r.Train, e)
	}
	for _, part := range [][]Example{ds.Val, ds.Test} {
		for _, e := range part {
			if msg := validText(e.Text); msg != "" {
				r.Errors = append(r.Errors, &LineError{File: e.File, Line: e.Line, Msg: msg})
			}
		}
	}
	labels := make([]string, 0, len(counts))
	for l := range counts {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	if len(labels) == 1 {
		r.Errors = append(r.Errors, errors.New("only one intent: a classifier needs at least two"))
	}
	firstLine := map[string]string{}
	for _, e := range r.Train {
		if _, ok := firstLine[e.Label]; !ok {
			firstLine[e.Label] = e.Where()
		}
	}
	lo, hi := 0, 0
	for _, l := range labels {
		n := counts[l]
		switch {
		case n < cfg.MinExamples:
			r.Errors = append(r.Errors, fmt.Errorf("%s: intent %q has %d example(s), at least %d needed", firstLine[l], l, n, cfg.MinExamples))
		case n < cfg.WarnExamples:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: intent %q has only %d examples (%d or more recommended)", firstLine[l], l, n, cfg.WarnExamples))
		}
		if lo == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	if lo > 0 && cfg.MaxImbalance > 0 && float64(hi) > cfg.MaxImbalance*float64(lo) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("imbalanced intents: the largest has %d examples, the smallest %d", hi, lo))
	}
	return r
}
