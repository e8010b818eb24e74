// Package training trains and evaluates intent models offline: it reads training data (the shop's YAML
// intents, CSV, CLINC150's JSON), validates it, learns the tokenizer vocabulary and the feature
// dictionary, trains the intent network and the linear baseline with gotch, calibrates the out-of-scope
// threshold, writes model directories atomically and scores models on test data.
package training

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/shopchat/shopchat/intents"
)

// Example is one labelled text with where it came from.
type Example struct {
	Text  string
	Label string
	// File and Line locate the example in its source (Line is 1-based; 0 when unknown).
	File string
	Line int
}

// Where is "file:line" for messages.
func (e Example) Where() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return e.File
}

// Dataset is labelled data split for training. Val or Test may be empty.
type Dataset struct {
	Train, Val, Test []Example
	// Responses holds answer templates per intent when the source has them (our YAML format).
	Responses map[string][]string
}

// Formats accepted by Load.
const (
	FormatAuto     = "auto"
	FormatYAML     = "yaml"
	FormatCSV      = "csv"
	FormatCLINC150 = "clinc150"
)

// MaxTextBytes is the longest training or evaluation text accepted.
const MaxTextBytes = 2000

// ErrFormat is wrapped by every error about a malformed data file; the message names the file and line.
var ErrFormat = errors.New("malformed data")

// LineError is an error at a place in a data file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *LineError) Unwrap() error { return ErrFormat }

// DetectFormat guesses a file's format from its extension and, for JSON, its keys.
func DetectFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".csv", ".tsv":
		return FormatCSV
	case ".json":
		return FormatCLINC150
	}
	return ""
}

// Load reads a data file in the given format (FormatAuto guesses). YAML and CSV fill Train only (the
// caller splits); CLINC150 fills Train (train + oos_train), Val (val + oos_val) and Test
// (test + oos_test), with the out-of-scope label mapped to intents.OutOfScope.
func Load(path, format string) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, format)
}

// Parse is Load on data already in memory; name is used in messages.
func Parse(name string, data []byte, format string) (*Dataset, error) {
	if format == "" || format == FormatAuto {
		format = DetectFormat(name)
		if format == "" {
			return nil, &LineError{File: name, Msg: "cannot tell the format from the name; use --format yaml|csv|clinc150"}
		}
	}
	switch format {
	case FormatYAML:
		return parseYAML(name, data)
	case FormatCSV:
		ex, err := parseCSV(name, data)
		if err != nil {
			return nil, err
		}
		return &Dataset{Train: ex}, nil
	case FormatCLINC150:
		return parseCLINC(name, data)
	}
	return nil, fmt.Errorf("unknown format %q: want auto, yaml, csv or clinc150", format)
}

// ---- YAML ----

// The shop's intents file (docs/intents.md):
//
//	version: 1
//	intents:
//	  - name: order_status
//	    examples:
//	      - where is my order
//	    responses:
//	      - "Your order {order.number} is {order.status}."
//	out_of_scope:          # optional examples of what the shop does not handle
//	  - whats the weather tomorrow
type yamlFile struct {
	Version int          `yaml:"version"`
	Intents []yamlIntent `yaml:"intents"`
	OOS     []yaml.Node  `yaml:"out_of_scope"`
}

type yamlIntent struct {
	Name      string      `yaml:"name"`
	Examples  []yaml.Node `yaml:"examples"`
	Responses []string    `yaml:"responses"`
	line      int
}

func parseYAML(name string, data []byte) (*Dataset, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, &LineError{File: name, Line: 1, Msg: "empty file"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &LineError{File: name, Line: doc.Line, Msg: "want a mapping with 'intents:'"}
	}
	known := map[string]bool{"version": true, "intents": true, "out_of_scope": true, "language": true, "description": true}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if k := doc.Content[i]; !known[k.Value] {
			return nil, &LineError{File: name, Line: k.Line, Msg: fmt.Sprintf("unknown key %q", k.Value)}
		}
	}
	var f yamlFile
	if err := doc.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	if f.Version != 0 && f.Version != 1 {
		return nil, &LineError{File: name, Line: 1, Msg: fmt.Sprintf("version %d: this build reads version 1", f.Version)}
	}
	// Find each intent's line.
	var intentNodes []*yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "intents" {
			if doc.Content[i+1].Kind != yaml.SequenceNode {
				return nil, &LineError{File: name, Line: doc.Content[i+1].Line, Msg: "'intents' must be a list"}
			}
			intentNodes = doc.Content[i+1].Content
		}
	}
	if len(f.Intents) == 0 {
		return nil, &LineError{File: name, Line: 1, Msg: "no intents"}
	}
	ds := &Dataset{Responses: map[string][]string{}}
	seen := map[string]int{}
	for i, in := range f.Intents {
		line := intentNodes[i].Line
		for j := 0; j+1 < len(intentNodes[i].Content); j += 2 {
			switch k := intentNodes[i].Content[j]; k.Value {
			case "name", "examples", "responses", "description":
			default:
				return nil, &LineError{File: name, Line: k.Line, Msg: fmt.Sprintf("unknown key %q in intent", k.Value)}
			}
		}
		if err := checkLabel(in.Name); err != nil {
			return nil, &LineError{File: name, Line: line, Msg: err.Error()}
		}
		if in.Name == intents.OutOfScope {
			return nil, &LineError{File: name, Line: line, Msg: "use the top-level 'out_of_scope:' list for out-of-scope examples"}
		}
		if prev, ok := seen[in.Name]; ok {
			return nil, &LineError{File: name, Line: line, Msg: fmt.Sprintf("intent %q already defined at line %d", in.Name, prev)}
		}
		seen[in.Name] = line
		if len(in.Examples) == 0 {
			return nil, &LineError{File: name, Line: line, Msg: fmt.Sprintf("intent %q has no examples", in.Name)}
		}
		for _, n := range in.Examples {
			if n.Kind != yaml.ScalarNode {
				return nil, &LineError{File: name, Line: n.Line, Msg: "an example must be a string"}
			}
			ds.Train = append(ds.Train, Example{Text: n.Value, Label: in.Name, File: name, Line: n.Line})
		}
		if len(in.Responses) > 0 {
			ds.Responses[in.Name] = in.Responses
		}
	}
	for _, n := range f.OOS {
		if n.Kind != yaml.ScalarNode {
			return nil, &LineError{File: name, Line: n.Line, Msg: "an out-of-scope example must be a string"}
		}
		ds.Train = append(ds.Train, Example{Text: n.Value, Label: intents.OutOfScope, File: name, Line: n.Line})
	}
	return ds, nil
}

func yamlError(name string, err error) error {
	msg := err.Error()
	line := 0
	// yaml.v3 messages look like "yaml: line 12: did not find expected key".
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i:], "line %d", &line)
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if line > 0 {
		msg = strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))
	}
	return &LineError{File: name, Line: line, Msg: msg}
}

// checkLabel accepts intent names of at most 64 bytes without white space, control characters or
// commas (BANKING77 has "reverted_card_payment?").
func checkLabel(l string) error {
	if l == "" {
		return errors.New("empty intent name")
	}
	if len(l) > 64 {
		return fmt.Errorf("intent name %.20q... longer than 64 bytes", l)
	}
	if !utf8.ValidString(l) {
		return fmt.Errorf("intent name %q is not valid UTF-8", l)
	}
	for _, r := range l {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == '"' {
			return fmt.Errorf("intent name %q: no spaces, control characters, commas or quotes", l)
		}
	}
	return nil
}

// ---- CSV ----

// parseCSV reads "text,label" rows; a first row "text,label" (or "text,category"/"text,intent") is a header.
func parseCSV(name string, data []byte) ([]Example, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	var out []Example
	first := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &LineError{File: name, Line: pe.Line, Msg: pe.Err.Error()}
			}
			return nil, &LineError{File: name, Msg: err.Error()}
		}
		line, _ := r.FieldPos(0)
		if first {
			first = false
			if len(rec) == 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "text") {
				switch strings.ToLower(strings.TrimSpace(rec[1])) {
				case "label", "category", "intent":
					continue
				}
			}
		}
		if len(rec) != 2 {
			return nil, &LineError{File: name, Line: line, Msg: fmt.Sprintf("want 2 fields (text,label), got %d", len(rec))}
		}
		label := strings.TrimSpace(rec[1])
		if err := checkLabel(label); err != nil {
			return nil, &LineError{File: name, Line: line, Msg: err.Error()}
		}
		out = append(out, Example{Text: rec[0], Label: label, File: name, Line: line})
	}
	if len(out) == 0 {
		return nil, &LineError{File: name, Line: 1, Msg: "no rows"}
	}
	return out, nil
}

// ---- CLINC150 ----

func parseCLINC(name string, data []byte) (*Dataset, error) {
	lineOf := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return bytes.Count(data[:off], []byte("\n")) + 1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, &LineError{File: name, Line: 1, Msg: "want a JSON object with train/val/test lists"}
	}
	ds := &Dataset{}
	found := 0
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, &LineError{File: name, Line: lineOf(dec.InputOffset()), Msg: err.Error()}
		}
		key, _ := kt.(string)
		var dst *[]Example
		switch key {
		case "train", "oos_train":
			dst = &ds.Train
		case "val", "oos_val":
			dst = &ds.Val
		case "test", "oos_test":
			dst = &ds.Test
		}
		if dst == nil {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, &LineError{File: name, Line: lineOf(dec.InputOffset()), Msg: err.Error()}
			}
			continue
		}
		found++
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, &LineError{File: name, Line: lineOf(dec.InputOffset()), Msg: fmt.Sprintf("%q must be a list of [text, label] pairs", key)}
		}
		for dec.More() {
			// The offset is just past the previous value: skip to the pair's first byte.
			off := dec.InputOffset()
			for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
				off++
			}
			line := lineOf(off)
			var pair []string
			if err := dec.Decode(&pair); err != nil || len(pair) != 2 {
				if err == nil {
					err = errors.New("want [text, label]")
				}
				return nil, &LineError{File: name, Line: lineOf(dec.InputOffset()), Msg: fmt.Sprintf("in %q: %v", key, err)}
			}
			label := pair[1]
			if label == "oos" {
				label = intents.OutOfScope
			}
			if err := checkLabel(label); err != nil {
				return nil, &LineError{File: name, Line: line, Msg: err.Error()}
			}
			*dst = append(*dst, Example{Text: pair[0], Label: label, File: name, Line: line})
		}
		if _, err := dec.Token(); err != nil {
			return nil, &LineError{File: name, Line: lineOf(dec.InputOffset()), Msg: err.Error()}
		}
	}
	if found == 0 {
		return nil, &LineError{File: name, Line: 1, Msg: "no train/val/test lists: not CLINC150 JSON"}
	}
	return ds, nil
}

// validText reports why a text cannot be used, or "".
func validText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "text is not valid UTF-8"
	case strings.TrimSpace(s) == "":
		return "empty text"
	case len(s) > MaxTextBytes:
		return fmt.Sprintf("text longer than %d bytes", MaxTextBytes)
	}
	return ""
}
