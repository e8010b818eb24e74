package recommender

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Interaction kinds and their default weights when a file gives none.
const (
	KindView     = "view"
	KindCart     = "cart"
	KindPurchase = "purchase"
	KindRating   = "rating" // an explicit rating from the NCF benchmark format, used as an implicit positive
)

// DefaultKindWeight is the weight of an interaction whose source gives none.
var DefaultKindWeight = map[string]float64{KindView: 1, KindCart: 3, KindPurchase: 5, KindRating: 1}

// Interaction is one event between a customer and a product.
type Interaction struct {
	User   string
	Item   string
	Kind   string
	Weight float64
	At     time.Time
}

// Input formats of interaction files.
const (
	FormatCSV = "csv" // customer_id,sku,kind,weight,timestamp (header optional; weight may be empty)
	FormatNCF = "ncf" // user<TAB>item<TAB>rating<TAB>unix-timestamp (the NCF benchmark's train.rating)
)

// ErrBadInput marks invalid interaction data; the error text has the line numbers.
var ErrBadInput = errors.New("recommender: invalid input")

// LineError is one invalid line of an input file.
type LineError struct {
	Line int
	Msg  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// InputError lists the invalid lines of an input file (at most maxLineErrors of them, then a count).
// It matches ErrBadInput with errors.Is.
type InputError struct {
	Source string
	Lines  []LineError
	More   int // invalid lines beyond those listed
}

const maxLineErrors = 20

func (e *InputError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d invalid line(s)", e.Source, len(e.Lines)+e.More)
	for _, l := range e.Lines {
		b.WriteString("\n  ")
		b.WriteString(l.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

// Is reports whether target is ErrBadInput.
func (e *InputError) Is(target error) bool { return target == ErrBadInput }

func (e *InputError) add(line int, format string, args ...any) {
	if len(e.Lines) < maxLineErrors {
		e.Lines = append(e.Lines, LineError{Line: line, Msg: fmt.Sprintf(format, args...)})
		return
	}
	e.More++
}

// ParseOptions tunes ParseInteractions.
type ParseOptions struct {
	Format string // FormatCSV (default) or FormatNCF
	Source string // name used in errors (the file name)
	// KnownItem, when set, rejects interactions with products it does not know.
	KnownItem func(sku string) bool
	// Now bounds timestamps: later than Now+24h is an error. Zero means time.Now().
	Now time.Time
	// Progress, when set, is called every 100,000 lines with the count so far.
	Progress func(lines int)
}

// maxFieldLen bounds ids so a corrupt file cannot make a huge key.
const maxFieldLen = 256

// ParseInteractions reads an interaction file. Invalid lines (bad numbers, bad or future timestamps,
// unknown products, unknown kinds, empty ids) are all reported with their line numbers in an *InputError;
// nothing is returned then. It is safe for concurrent use.
func ParseInteractions(r io.Reader, opt ParseOptions) ([]Interaction, error) {
	if opt.Source == "" {
		opt.Source = "input"
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	switch opt.Format {
	case "", FormatCSV:
		return parseCSV(r, opt)
	case FormatNCF:
		return parseNCF(r, opt)
	default:
		return nil, fmt.Errorf("%w: unknown format %q (want csv or ncf)", ErrBadInput, opt.Format)
	}
}

func parseNCF(r io.Reader, opt ParseOptions) ([]Interaction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	bad := &InputError{Source: opt.Source}
	var out []Interaction
	line := 0
	for sc.Scan() {
		line++
		if opt.Progress != nil && line%100000 == 0 {
			opt.Progress(line)
		}
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) < 2 || len(f) > 4 {
			bad.add(line, "want 4 tab-separated fields (user item rating timestamp), got %d", len(f))
			continue
		}
		it := Interaction{User: strings.TrimSpace(f[0]), Item: strings.TrimSpace(f[1]), Kind: KindRating, Weight: 1}
		if msg := checkIDs(it.User, it.Item); msg != "" {
			bad.add(line, "%s", msg)
			continue
		}
		if len(f) >= 3 {
			if _, err := parseWeight(f[2]); err != nil {
				bad.add(line, "rating %q: %v", f[2], err)
				continue
			}
		}
		if msg := finishInteraction(&it, f, 3, len(f) == 4, opt); msg != "" {
			bad.add(line, "%s", msg)
			continue
		}
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", opt.Source, line+1, err)
	}
	if len(bad.Lines) > 0 {
		return nil, bad
	}
	return out, nil
}

func parseCSV(r io.Reader, opt ParseOptions) ([]Interaction, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	bad := &InputError{Source: opt.Source}
	var out []Interaction
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad.add(pe.Line, "%v", pe.Err)
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					continue
				}
			} else {
				return nil, fmt.Errorf("%s: %w", opt.Source, err)
			}
			continue
		}
		line, _ := cr.FieldPos(0) // valid only after a successful Read
		rows++
		if opt.Progress != nil && rows%100000 == 0 {
			opt.Progress(rows)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if rows == 1 && isCSVHeader(rec) {
			continue
		}
		if len(rec) < 2 || len(rec) > 5 {
			bad.add(line, "want customer_id,sku,kind,weight,timestamp (5 fields, the last 3 optional), got %d fields", len(rec))
			continue
		}
		it := Interaction{User: strings.TrimSpace(rec[0]), Item: strings.TrimSpace(rec[1]), Kind: KindPurchase}
		if msg := checkIDs(it.User, it.Item); msg != "" {
			bad.add(line, "%s", msg)
			continue
		}
		if len(rec) >= 3 && strings.TrimSpace(rec[2]) != "" {
			it.Kind = strings.ToLower(strings.TrimSpace(rec[2]))
			if _, ok := DefaultKindWeight[it.Kind]; !ok {
				bad.add(line, "kind %q: want view, cart or purchase", rec[2])
				continue
			}
		}
		it.Weight = DefaultKindWeight[it.Kind]
		if len(rec) >= 4 && strings.TrimSpace(rec[3]) != "" {
			w, err := parseWeight(rec[3])
			if err != nil {
				bad.add(line, "weight %q: %v", rec[3], err)
				continue
			}
			it.Weight = w
		}
		if msg := finishInteraction(&it, rec, 4, len(rec) == 5 && strings.TrimSpace(rec[4]) != "", opt); msg != "" {
			bad.add(line, "%s", msg)
			continue
		}
		out = append(out, it)
	}
	if len(bad.Lines) > 0 {
		return nil, bad
	}
	return out, nil
}

// finishInteraction does what both formats do last: it reads the timestamp field fields[ts] when
// hasTS, and checks the product against the catalogue. It returns what is wrong with the line, or "".
func finishInteraction(it *Interaction, fields []string, ts int, hasTS bool, opt ParseOptions) string {
	if hasTS {
		at, err := parseTimestamp(fields[ts], opt.Now)
		if err != nil {
			return fmt.Sprintf("timestamp %q: %v", fields[ts], err)
		}
		it.At = at
	}
	if opt.KnownItem != nil && !opt.KnownItem(it.Item) {
		return fmt.Sprintf("unknown product %q", it.Item)
	}
	return ""
}

func isCSVHeader(rec []string) bool {
	if len(rec) < 2 {
		return false
	}
	a := strings.ToLower(strings.TrimSpace(rec[0]))
	b := strings.ToLower(strings.TrimSpace(rec[1]))
	return (a == "customer_id" || a == "customer" || a == "user" || a == "user_id") &&
		(b == "sku" || b == "item" || b == "item_id" || b == "product")
}

func checkIDs(user, item string) string {
	switch {
	case user == "":
		return "empty customer id"
	case item == "":
		return "empty product id"
	case len(user) > maxFieldLen || len(item) > maxFieldLen:
		return fmt.Sprintf("id longer than %d bytes", maxFieldLen)
	}
	return ""
}

func parseWeight(s string) (float64, error) {
	w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 || w > 1e6 {
		return 0, errors.New("want a number between 0 and 1e6")
	}
	return w, nil
}

// earliest is the earliest timestamp accepted (before it, the value is almost surely in another unit or
// corrupt).
var earliest = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// parseTimestamp accepts unix seconds or RFC 3339.
func parseTimestamp(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return time.Time{}, errors.New("unix seconds out of range")
		}
		t = time.Unix(n, 0).UTC()
	} else {
		t, err = time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, errors.New("want unix seconds or RFC 3339 (2024-05-01T10:00:00Z)")
		}
	}
	if t.Before(earliest) {
		return time.Time{}, fmt.Errorf("before %s", earliest.Format("2006-01-02"))
	}
	if t.After(now.Add(24 * time.Hour)) {
		return time.Time{}, errors.New("in the future")
	}
	return t, nil
}
