package kb

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Kind names what an import or export file holds.
type Kind string

// The kinds of import and export files.
const (
	KindProducts  Kind = "products"
	KindCustomers Kind = "customers"
	KindOrders    Kind = "orders"
	KindFAQs      Kind = "faqs"
	KindAnswers   Kind = "answers"
)

// Kinds lists every Kind.
var Kinds = []Kind{KindProducts, KindCustomers, KindOrders, KindFAQs, KindAnswers}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == strings.ToLower(s) {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: kind %q (want products, customers, orders, faqs or answers)", ErrInvalid, s)
}

// Format is a file format.
type Format string

// The file formats.
const (
	FormatCSV  Format = "csv"
	FormatJSON Format = "json"
	FormatYAML Format = "yaml"
)

// FormatFromPath picks the format from a file name's extension (.csv, .json, .yaml, .yml).
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, nil
	case ".json":
		return FormatJSON, nil
	case ".yaml", ".yml":
		return FormatYAML, nil
	}
	return "", fmt.Errorf("%w: %s: cannot tell the format from the extension (want .csv, .json, .yaml or .yml)", ErrInvalid, path)
}

// Import limits: a file or row beyond them is rejected with an error naming the limit.
const (
	MaxImportBytes = 256 << 20 // the largest import file
	MaxImportRows  = 1_000_000 // the most rows (records) in one file
	maxShortText   = 200       // names, cities, ... in bytes
	maxKey         = 64        // SKUs, ids, order numbers, FAQ keys, intents
	maxLongText    = 8 << 10   // descriptions, answers
	maxURL         = 2048
	maxAttributes  = 50
	maxAttrValue   = 500
	maxVariants    = 50
	maxTags        = 20
	maxItems       = 500
	maxTemplate    = 4 << 10
)

// RowError is one bad row of an import file.
type RowError struct {
	File   string
	Line   int // 1-based; 0 when the problem is the whole file
	Reason string
}

func (e RowError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// ImportError lists every bad row of a rejected import; nothing of the file was applied.
type ImportError struct {
	File string
	Rows []RowError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kb: import %s rejected, nothing was changed: %d problem(s)", e.File, len(e.Rows))
	for i, r := range e.Rows {
		if i == 100 {
			fmt.Fprintf(&b, "\n... and %d more", len(e.Rows)-100)
			break
		}
		b.WriteString("\n")
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true for import errors.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// errs collects row errors.
type errs struct {
	file string
	list []RowError
}

func (e *errs) add(line int, format string, args ...any) {
	if len(e.list) < 10000 {
		e.list = append(e.list, RowError{File: e.file, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	sort.SliceStable(e.list, func(i, j int) bool { return e.list[i].Line < e.list[j].Line })
	return &ImportError{File: e.file, Rows: e.list}
}

// text checks one text field: valid UTF-8, no NUL, within max bytes, present when required.
func (e *errs) text(line int, field, v string, max int, required bool) {
	switch {
	case !utf8.ValidString(v):
		e.add(line, "%s: not valid UTF-8 (save the file as UTF-8)", field)
	case strings.ContainsRune(v, 0):
		e.add(line, "%s: contains a NUL byte", field)
	case len(v) > max:
		e.add(line, "%s: %d bytes, the limit is %d", field, len(v), max)
	case required && strings.TrimSpace(v) == "":
		e.add(line, "%s: required", field)
	}
}

// readAll reads an import file within MaxImportBytes and checks its encoding.
func readAll(file string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("kb: read %s: %w", file, err)
	}
	if len(data) > MaxImportBytes {
		return nil, &ImportError{File: file, Rows: []RowError{{File: file, Reason: fmt.Sprintf("file is larger than the limit of %d MiB", MaxImportBytes>>20)}}}
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, &ImportError{File: file, Rows: []RowError{{File: file, Reason: "file is UTF-16; save it as UTF-8"}}}
	}
	return bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), nil
}

// ---- CSV ----

// csvTable is a parsed CSV file: the header and the records with their line numbers.
type csvTable struct {
	header []string
	index  map[string]int
	rows   [][]string
	lines  []int
}

func (t *csvTable) get(row int, col string) string {
	if i, ok := t.index[col]; ok && i < len(t.rows[row]) {
		return t.rows[row][i]
	}
	return ""
}

func (t *csvTable) has(col string) bool { _, ok := t.index[col]; return ok }

// readCSV parses data with the given known columns (a trailing '*' marks required ones; prefix
// columns like "attr." end with '.').
func readCSV(e *errs, data []byte, columns []string) *csvTable {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = false
	t := &csvTable{index: map[string]int{}}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			e.add(1, "empty file: want a header line with the columns %s", strings.Join(columns, ","))
		} else {
			e.add(1, "header: %v", csvReason(err))
		}
		return nil
	}
	known := map[string]bool{}
	var required, prefixes []string
	for _, c := range columns {
		switch {
		case strings.HasSuffix(c, "*"):
			c = strings.TrimSuffix(c, "*")
			required = append(required, c)
			known[c] = true
		case strings.HasSuffix(c, "."):
			prefixes = append(prefixes, c)
		default:
			known[c] = true
		}
	}
	ok := true
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		header[i] = h
		if !utf8.ValidString(h) {
			e.add(1, "header: column %d is not valid UTF-8", i+1)
			ok = false
			continue
		}
		isPrefix := false
		for _, p := range prefixes {
			if strings.HasPrefix(h, p) && len(h) > len(p) {
				isPrefix = true
			}
		}
		if !known[h] && !isPrefix {
			e.add(1, "header: unknown column %q (known: %s)", h, strings.Join(columns, ", "))
			ok = false
			continue
		}
		if _, dup := t.index[h]; dup {
			e.add(1, "header: column %q appears twice", h)
			ok = false
		}
		t.index[h] = i
	}
	for _, r := range required {
		if _, ok2 := t.index[r]; !ok2 {
			e.add(1, "header: required column %q is missing", r)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	t.header = header
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.StartLine
				if pe.Err == csv.ErrFieldCount {
					e.add(line, "has %d fields, the header has %d", len(rec), len(header))
					continue
				}
			}
			e.add(line, "%v", csvReason(err))
			return t // the CSV reader cannot resynchronise after a quoting error
		}
		if len(t.rows) == MaxImportRows {
			e.add(0, "more than %d rows; split the file", MaxImportRows)
			return t
		}
		line, _ := cr.FieldPos(0)
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	return t
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("malformed CSV (column %d): %v", pe.Column, pe.Err)
	}
	return err.Error()
}

// ---- JSON and YAML ----

// record is one element of a JSON or YAML array with its line.
type record struct {
	line   int
	decode func(dst any) error
}

// readRecords splits a JSON or YAML file into its records: the file is an array, or an object with one
// key, the kind, holding the array.
func readRecords(e *errs, data []byte, format Format, kind Kind, elem any) []record {
	allowed := fieldNames(reflect.TypeOf(elem))
	switch format {
	case FormatJSON:
		return readJSON(e, data, kind, allowed)
	case FormatYAML:
		return readYAML(e, data, kind, allowed)
	}
	e.add(0, "unsupported format %q", format)
	return nil
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	// Skip the separator and white space before the element.
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func readJSON(e *errs, data []byte, kind Kind, allowed map[string]bool) []record {
	dec := json.NewDecoder(bytes.NewReader(data))
	jsonErr := func(err error) {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e.add(lineAt(data, se.Offset), "malformed JSON: %v", err)
			return
		}
		e.add(lineAt(data, dec.InputOffset()), "malformed JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		jsonErr(err)
		return nil
	}
	wrapped := false
	if tok == json.Delim('{') {
		key, err := dec.Token()
		if err != nil {
			jsonErr(err)
			return nil
		}
		if k, _ := key.(string); k != string(kind) {
			e.add(lineAt(data, dec.InputOffset()), "want an array or {%q: [...]}, found key %q", kind, key)
			return nil
		}
		if tok, err = dec.Token(); err != nil {
			jsonErr(err)
			return nil
		}
		wrapped = true
	}
	if tok != json.Delim('[') {
		e.add(1, "want a JSON array of %s", kind)
		return nil
	}
	var out []record
	for dec.More() {
		line := lineAt(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			jsonErr(err)
			return out
		}
		if len(out) == MaxImportRows {
			e.add(line, "more than %d records; split the file", MaxImportRows)
			return out
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			e.add(line, "want an object, found %.20s", raw)
			continue
		}
		var bad []string
		for k := range keys {
			if !allowed[k] {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			e.add(line, "unknown field(s) %s", strings.Join(bad, ", "))
			continue
		}
		out = append(out, record{line: line, decode: func(dst any) error {
			d := json.NewDecoder(bytes.NewReader(raw))
			return d.Decode(dst)
		}})
	}
	if _, err := dec.Token(); err != nil { // closing ]
		jsonErr(err)
	}
	if wrapped {
		if _, err := dec.Token(); err != nil {
			jsonErr(err)
		}
	}
	return out
}

func readYAML(e *errs, data []byte, kind Kind, allowed map[string]bool) (out []record) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on hostile input before; never pass it on
			e.add(0, "malformed YAML: %v", r)
			out = nil
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e.add(yamlLine(err), "malformed YAML: %v", err)
		return nil
	}
	if len(doc.Content) == 0 {
		e.add(1, "empty file: want a YAML list of %s", kind)
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.MappingNode {
		if len(root.Content) != 2 || root.Content[0].Value != string(kind) {
			e.add(root.Line, "want a list or a mapping with the single key %q", kind)
			return nil
		}
		root = root.Content[1]
	}
	if root.Kind != yaml.SequenceNode {
		e.add(root.Line, "want a YAML list of %s", kind)
		return nil
	}
	if len(root.Content) > MaxImportRows {
		e.add(0, "more than %d records; split the file", MaxImportRows)
		return nil
	}
	for _, n := range root.Content {
		if n.Kind != yaml.MappingNode {
			e.add(n.Line, "want a mapping (key: value lines)")
			continue
		}
		var bad []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !allowed[k] {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			e.add(n.Line, "unknown field(s) %s", strings.Join(bad, ", "))
			continue
		}
		node := n
		out = append(out, record{line: n.Line, decode: func(dst any) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%v", r)
				}
			}()
			return node.Decode(dst)
		}})
	}
	return out
}

func yamlLine(err error) int {
	// yaml.v3 errors read "yaml: line N: ..."
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 0
}

// fieldNames lists the json names of a struct's fields.
func fieldNames(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// ---- field parsing shared by the CSV readers ----

func parseBool(s string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "1", "true", "yes", "y", "t":
		return true, nil
	case "0", "false", "no", "n", "f":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true/false", s)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseTime accepts RFC 3339 and a few spreadsheet forms (UTC when no zone is given).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want 2006-01-02 or RFC 3339)", s)
}

func parseMoney(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e9 || v != v {
		return 0, fmt.Errorf("%q is not an amount (want a plain number like 49.90)", s)
	}
	return v, nil
}

func parseInt(s string, min, max int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min || v > max {
		return 0, fmt.Errorf("%q is not a whole number between %d and %d", s, min, max)
	}
	return v, nil
}

// splitList splits "a | b | c" (sep "|") trimming blanks.
func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
