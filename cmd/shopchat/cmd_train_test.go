package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTrainWithExtraExamples trains a small model from a CSV plus the agent console's labelled file
// (--extra) and checks that the intent only the extra file has is in the model.
func TestTrainWithExtraExamples(t *testing.T) {
	dir := t.TempDir()
	var data, extra strings.Builder
	data.WriteString("text,label\n")
	for i, w := range []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"} {
		fmt.Fprintf(&data, "where is my order number %s please,order_status\n", w)
		fmt.Fprintf(&data, "i want to return item %s it does not fit,return_item\n", w)
		fmt.Fprintf(&data, "hello there friend %s,greeting\n", w)
		fmt.Fprintf(&extra, "is the gift wrap option %d available for me,gift_wrap\n", i)
	}
	dataPath := filepath.Join(dir, "data.csv")
	extraPath := filepath.Join(dir, "labelled.csv")
	if err := os.WriteFile(dataPath, []byte(data.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extraPath, []byte("text,label\n"+extra.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	if _, err := runCLI(t, "train", "--data", dataPath, "--extra", extraPath, "--out", out, "--epochs", "3", "--members", "1", "--no-baseline", "--no-progress", "--seed", "1"); err != nil {
		t.Fatalf("train: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(out, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	if err := json.Unmarshal(b, &labels); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(labels, "gift_wrap") || !slices.Contains(labels, "order_status") {
		t.Fatalf("labels %v: the extra file's intent is missing", labels)
	}
	if _, err := runCLI(t, "train", "--data", dataPath, "--extra", filepath.Join(dir, "missing.csv"), "--out", out); err == nil {
		t.Fatal("a missing --extra file was accepted")
	}
}

// TestTrainBadFlags checks that out-of-range training flags are refused with a message naming the flag,
// before any data is read.
func TestTrainBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		flag, value string
	}{
		{"--oos-confidence", "1"},
		{"--oos-confidence", "-0.5"},
		{"--pseudo-oos", "2"},
		{"--table-optimizer", "sgd"},
		{"--table-precision", "f16"},
		{"--oos-recall", "0"},
		{"--threshold-rule", "median"},
	} {
		_, err := runCLI(t, "train", "--data", filepath.Join(dir, "none.csv"), "--out", filepath.Join(dir, "m"), tc.flag, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s %s: error %v, want one naming the flag", tc.flag, tc.value, err)
		}
	}
}
