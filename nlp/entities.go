package nlp

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// ErrBadExtractorConfig is returned (wrapped, with the reason) by NewExtractor when its configuration is
// invalid: an order pattern that does not compile or matches the empty string, an unknown date order, a
// non-numeric phone country code or a negative input limit.
var ErrBadExtractorConfig = errors.New("nlp: invalid extractor config")

// DefaultOrderPattern is the order-number pattern used when ExtractorConfig.OrderPattern is empty. It
// matches "#A10023", "# 1234", "A-10023", "AB10023" and a bare "10023" (5–8 digits). The value is the
// match with '#', '-' and spaces removed, upper-cased: "A10023", "1234", "10023".
const DefaultOrderPattern = `(?i)#\s?(?:[A-Z]{1,2}-?)?\d{3,10}\b|\b[A-Z]{1,2}-?\d{5,10}\b|\b\d{5,8}\b`

// DefaultMaxInputBytes is the input limit used when ExtractorConfig.MaxInputBytes is zero.
const DefaultMaxInputBytes = 1 << 20

// Date orders for ExtractorConfig.DateOrder: how an ambiguous numeric date such as 03/04/2026 is read.
const (
	DateOrderDMY = "DMY" // 03/04/2026 is 3 April 2026 (the default)
	DateOrderMDY = "MDY" // 03/04/2026 is 4 March 2026
)

// ExtractorConfig configures an Extractor. Zero values take the documented defaults.
type ExtractorConfig struct {
	// OrderPattern is a Go (RE2) regular expression matching an order number; default
	// DefaultOrderPattern. When it has a capture group named "number", the value is built from that
	// group, otherwise from the whole match; either way '#', '-', spaces and other non-alphanumerics are
	// removed and letters upper-cased.
	OrderPattern string
	// Location is the time zone in which relative dates ("yesterday", "last friday") are resolved
	// against the reference time; default time.UTC.
	Location *time.Location
	// DateOrder says how ambiguous numeric dates are read: DateOrderDMY (default) or DateOrderMDY.
	// Dates whose first or second number is over 12 are read the only way they can be.
	DateOrder string
	// PhoneCountryCode is the calling code ("44", "49", "1") used to turn national phone numbers
	// ("020 7946 0958", "(555) 123-4567" for "1") into E.164 ("+442079460958"). Empty: national numbers
	// keep their digits as written ("02079460958").
	PhoneCountryCode string
	// MaxInputBytes bounds the work per message: only the first MaxInputBytes bytes are scanned.
	// Default DefaultMaxInputBytes (1 MiB); extraction is linear in the input either way.
	MaxInputBytes int
}

// Extractor finds entities (order numbers, emails, phones, tracking numbers, money, quantities, dates,
// postcodes and catalogue products) in customer messages. Build one with NewExtractor and share it: an
// Extractor is safe for concurrent use by multiple goroutines, including SetProducts while Extract and
// Mask run (they see either the old or the new catalogue, never a mix).
type Extractor struct {
	order        *regexp.Regexp
	orderNum     int  // index of the "number" group, 0 for the whole match
	orderDefault bool // the order pattern is DefaultOrderPattern
	loc          *time.Location
	mdy          bool
	phoneCC      string
	maxInput     int
	products     atomic.Pointer[productIndex]
}

// NewExtractor builds an Extractor from cfg, filling defaults for zero values. It returns an error
// wrapping ErrBadExtractorConfig when cfg is invalid. The catalogue starts empty: call SetProducts.
func NewExtractor(cfg ExtractorConfig) (*Extractor, error) {
	e := &Extractor{loc: cfg.Location, maxInput: cfg.MaxInputBytes}
	pat := cfg.OrderPattern
	if pat == "" || pat == DefaultOrderPattern {
		pat = DefaultOrderPattern
		e.orderDefault = true
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("%w: order pattern: %w", ErrBadExtractorConfig, err)
	}
	if re.MatchString("") {
		return nil, fmt.Errorf("%w: order pattern %q matches the empty string", ErrBadExtractorConfig, pat)
	}
	e.order = re
	if i := re.SubexpIndex("number"); i > 0 {
		e.orderNum = i
	}
	if e.loc == nil {
		e.loc = time.UTC
	}
	switch strings.ToUpper(cfg.DateOrder) {
	case "", DateOrderDMY:
	case DateOrderMDY:
		e.mdy = true
	default:
		return nil, fmt.Errorf("%w: date order %q (want %s or %s)", ErrBadExtractorConfig, cfg.DateOrder, DateOrderDMY, DateOrderMDY)
	}
	cc := strings.TrimPrefix(cfg.PhoneCountryCode, "+")
	if cc != "" && (len(cc) > 3 || strings.Trim(cc, "0123456789") != "" || cc[0] == '0') {
		return nil, fmt.Errorf("%w: phone country code %q (want 1-3 digits such as \"44\")", ErrBadExtractorConfig, cfg.PhoneCountryCode)
	}
	e.phoneCC = cc
	if e.maxInput < 0 {
		return nil, fmt.Errorf("%w: negative MaxInputBytes %d", ErrBadExtractorConfig, e.maxInput)
	}
	if e.maxInput == 0 {
		e.maxInput = DefaultMaxInputBytes
	}
	e.products.Store(&productIndex{})
	return e, nil
}

// entityCard is an internal type: payment-card numbers take part in overlap resolution (so they are not
// reported as tracking numbers or phones), are never returned by Extract and are masked by Mask.
const entityCard = "card_number"

// typePriority breaks ties between candidates with exactly the same span: the more specific type wins.
var typePriority = map[string]int{
	EntityEmail:       10,
	entityCard:        9,
	EntityTracking:    8,
	EntityPhone:       7,
	EntityMoney:       6,
	EntityDate:        5,
	EntityPostcode:    4,
	EntityOrderNumber: 3,
	EntityProduct:     2,
	EntityQuantity:    1,
}

// entityCandidate is a possible entity before overlap resolution.
type entityCandidate struct {
	start, end int
	typ        string
	value      string
}

// entityScan holds the per-call state of one extraction.
type entityScan struct {
	text    string
	lower   string        // ASCII-lower-cased copy of text (same byte offsets)
	regions []digitRegion // spans around the digits of text, where every entity with a digit lies
	words   wordFlag      // which kinds of keyword occur in text
	hits    []keywordHit
	cands   []entityCandidate
}

// entRegionMargin is how far around a run of digits an entity containing it may reach (before widening
// to the next whitespace): "september the 3", "49.90 us dollars".
const entRegionMargin = 24

// newEntityScan prepares text for the finders: the lower-cased copy, the digit regions and the keyword flags.
func newEntityScan(text string) *entityScan {
	s := &entityScan{text: text, lower: entAsciiLower(text)}
	s.regions = digitRegions(text)
	s.keywordFlags()
	s.regionStats()
	return s
}

// entMaxWindow is the longest span a pattern is run on at once: longer windows (only in long, dense
// texts) are cut at whitespace into overlapping chunks, so that the regexp engine stays on its fast
// path for short inputs.
const entMaxWindow = 512

// digitRegions returns the spans around each run of digits, widened by entRegionMargin and then out to
// whitespace so no word is cut, merged, and chunked to entMaxWindow. Running the digit-bearing patterns on
// these spans only is what keeps typical messages fast; it finds every entity whose other parts lie
// within entRegionMargin bytes of its digits (all of them, short of freak spacing such as "3" and "march"
// forty spaces apart). Linear in len(t).
func digitRegions(t string) []digitRegion {
	var raw [][2]int
	for i := 0; i < len(t); {
		if !entIsDigit(t[i]) {
			i++
			continue
		}
		a := i
		for i < len(t) && entIsDigit(t[i]) {
			i++
		}
		raw = append(raw, [2]int{a - entRegionMargin, i + entRegionMargin})
	}
	var out []digitRegion
	for _, w := range entMergeWindows(t, raw) {
		entSplitWindow(t, w[0], w[1], func(lo, hi int) { out = append(out, digitRegion{lo: lo, hi: hi}) })
	}
	return out
}

// entMergeWindows clamps the spans of raw (sorted by start) to t, widens each out to whitespace and merges
// those that touch. Linear in len(t) + len(raw): no byte is scanned twice when widening.
func entMergeWindows(t string, raw [][2]int) [][2]int {
	var out [][2]int
	n := len(t)
	for _, w := range raw {
		lo, hi := w[0], w[1]
		floor := 0
		if len(out) > 0 {
			floor = out[len(out)-1][1]
		}
		lo = max(lo, floor)
		for lo > floor && !entIsSpaceByte(t[lo-1]) {
			lo--
		}
		hi = min(max(hi, floor), n)
		for hi < n && !entIsSpaceByte(t[hi]) {
			hi++
		}
		if len(out) > 0 && lo <= floor {
			out[len(out)-1][1] = max(out[len(out)-1][1], hi)
		} else if lo < hi {
			out = append(out, [2]int{lo, hi})
		}
	}
	return out
}

// entSplitWindow calls fn with t[lo:hi] cut at whitespace into chunks of about entMaxWindow/2 bytes that
// overlap by 2*entRegionMargin, or with the whole span when it is short (or has no whitespace to cut at).
func entSplitWindow(t string, lo, hi int, fn func(lo, hi int)) {
	for hi-lo > entMaxWindow {
		end := lo + entMaxWindow/2
		for end < hi && !entIsSpaceByte(t[end]) {
			end++
		}
		fn(lo, end)
		if end >= hi {
			return
		}
		next := end - 2*entRegionMargin
		for next > lo && !entIsSpaceByte(t[next-1]) {
			next--
		}
		if next <= lo {
			next = end
		}
		lo = next
	}
	fn(lo, hi)
}

// digitRegion is a span of text around one or more runs of digits, with what the patterns run on it need.
type digitRegion struct {
	lo, hi  int
	cluster int  // most digits in one cluster: digits joined by at most two separators ("+44 (20) 7946")
	mixed   bool // a letter touches a digit ("A10023", "EH1", "1Z")
	dateSep bool // a digit, then '/', '.' or '-', then a digit ("12/03")
	inward  bool // a digit, then two letters ending a word: a UK postcode's inward code ("1AA")
}

// regionNeed says which regions a pattern can match in: its matches have at least cluster digits in one
// cluster, a letter touching a digit when mixed, a date separator between digits when dateSep, a UK
// inward code when inward.
type regionNeed struct {
	cluster int
	mixed   bool
	dateSep bool
	inward  bool
}

// regionStats fills the cluster, mixed, dateSep and inward fields of every region. Linear in the regions'
// length.
func (s *entityScan) regionStats() {
	t := s.lower
	for ri := range s.regions {
		r := &s.regions[ri]
		run, gap := 0, 0
		for i := r.lo; i < r.hi; i++ {
			c := t[i]
			switch {
			case entIsDigit(c):
				run++
				gap = 0
				r.cluster = max(r.cluster, run)
				if i > r.lo && t[i-1] >= 'a' && t[i-1] <= 'z' || i+1 < r.hi && t[i+1] >= 'a' && t[i+1] <= 'z' {
					r.mixed = true
				}
				if i+2 < r.hi && (t[i+1] == '/' || t[i+1] == '.' || t[i+1] == '-') && entIsDigit(t[i+2]) {
					r.dateSep = true
				}
				if i+2 < r.hi && entIsASCIILetter(t[i+1]) && entIsASCIILetter(t[i+2]) && (i+3 == len(t) || !entIsWordByte(t[i+3])) {
					r.inward = true
				}
			case c >= 'a' && c <= 'z' || c >= 0x80:
				run, gap = 0, 0
			default:
				if gap++; gap > 2 {
					run = 0
				}
			}
		}
	}
}

// inDigits runs re over the digit regions of src (s.text or s.lower) that meet n, and returns every
// match's submatch indices as offsets into src.
func (s *entityScan) inDigits(re *regexp.Regexp, src string, n regionNeed) [][]int {
	var out [][]int
	for _, r := range s.regions {
		if r.cluster < n.cluster || n.mixed && !r.mixed || n.dateSep && !r.dateSep || n.inward && !r.inward {
			continue
		}
		for _, m := range re.FindAllStringSubmatchIndex(src[r.lo:r.hi], -1) {
			for k := range m {
				if m[k] >= 0 {
					m[k] += r.lo
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// wordFlag marks kinds of keyword found in a message, so patterns that need one are skipped otherwise.
type wordFlag uint16

const (
	flagMonth wordFlag = 1 << iota
	flagWeekday
	flagRelative
	flagAgo
	flagIn
	flagUnit
	flagCurrency
	flagNumber
)

var keywordTable = func() map[string]wordFlag {
	m := map[string]wordFlag{}
	add := func(f wordFlag, words string) {
		for _, w := range strings.Fields(words) {
			m[w] |= f
		}
	}
	add(flagMonth, strings.ReplaceAll(dateMonths, "|", " "))
	add(flagWeekday, "monday tuesday wednesday thursday friday saturday sunday mon tues tue wed thurs thur thu fri sat sun")
	add(flagRelative, "yesterday yday yesterdy yesteday today tonight tomorrow tomorow tommorow tommorrow tmrw tmr night morning afternoon evening")
	add(flagAgo, "ago back earlier")
	add(flagIn, "in now")
	add(flagUnit, "day days week weeks month months year years")
	add(flagCurrency, "eur euro euros usd dollar dollars bucks gbp pound pounds quid chf franc francs jpy yen cad aud sek nok dkk pln")
	add(flagNumber, "one two three four five six seven eight nine ten eleven twelve couple dozen")
	return m
}()

// keywordFlags looks every ASCII word of lower up in keywordTable, and records where the keywords are.
// Linear in len(lower).
func (s *entityScan) keywordFlags() {
	lower := s.lower
	for i := 0; i < len(lower); {
		c := lower[i]
		if c < 'a' || c > 'z' {
			// Currency symbols: $ € £ ¥.
			if c == '$' || c == 0xe2 && strings.HasPrefix(lower[i:], "€") || c == 0xc2 && i+1 < len(lower) && (lower[i+1] == 0xa3 || lower[i+1] == 0xa5) {
				s.words |= flagCurrency
				s.hits = append(s.hits, keywordHit{i, i + 1, flagCurrency})
			}
			i++
			continue
		}
		j := i
		for j < len(lower) && lower[j] >= 'a' && lower[j] <= 'z' {
			j++
		}
		if j-i <= 9 && (i == 0 || !entIsWordByte(lower[i-1])) && (j == len(lower) || !entIsWordByte(lower[j])) {
			if f := keywordTable[lower[i:j]]; f != 0 {
				s.words |= f
				s.hits = append(s.hits, keywordHit{i, j, f})
			}
		}
		i = j
	}
}

// keywordHit is one keyword of the message.
type keywordHit struct {
	start, end int
	flags      wordFlag
}

// inKeywords runs re over the spans of s.lower around keywords with any of flags (entRegionMargin either
// side, widened to whitespace, merged, chunked) and returns the matches' submatch indices as offsets
// into s.lower.
func (s *entityScan) inKeywords(re *regexp.Regexp, flags wordFlag) [][]int {
	var raw [][2]int
	for _, h := range s.hits {
		if h.flags&flags != 0 {
			raw = append(raw, [2]int{h.start - entRegionMargin, h.end + entRegionMargin})
		}
	}
	var out [][]int
	for _, w := range entMergeWindows(s.lower, raw) {
		entSplitWindow(s.lower, w[0], w[1], func(lo, hi int) {
			for _, m := range re.FindAllStringSubmatchIndex(s.lower[lo:hi], -1) {
				for k := range m {
					if m[k] >= 0 {
						m[k] += lo
					}
				}
				out = append(out, m)
			}
		})
	}
	return out
}

// orderMatches runs the order pattern: the default one only around digits (its matches all have
// digits), a configured one over the whole text.
func (s *entityScan) orderMatches(e *Extractor) [][]int {
	if e.orderDefault {
		return s.inDigits(e.order, s.text, regionNeed{cluster: 3})
	}
	return e.order.FindAllStringSubmatchIndex(s.text, -1)
}

func (s *entityScan) add(start, end int, typ, value string) {
	if start < 0 || end > len(s.text) || start >= end || value == "" {
		return
	}
	s.cands = append(s.cands, entityCandidate{start: start, end: end, typ: typ, value: value})
}

// Extract returns the entities found in text, ordered by Start, with non-overlapping spans: Start and
// End are byte offsets into text and Text == text[Start:End]. Relative dates are resolved against now in
// the configured Location. Overlapping candidates are resolved deterministically: the longest span wins,
// then the earliest, then the more specific type (email, tracking, phone, money, date, postcode, order
// number, product, quantity). Extract never panics: any byte string (invalid UTF-8, control characters,
// empty) is accepted, and the work is linear in len(text) up to MaxInputBytes. It returns an empty,
// non-nil slice when nothing is found. Safe for concurrent use.
func (e *Extractor) Extract(text string, now time.Time) []Entity {
	cands := e.candidates(text, now)
	out := make([]Entity, 0, len(cands))
	for _, c := range cands {
		if c.typ == entityCard {
			continue
		}
		out = append(out, Entity{Type: c.typ, Text: text[c.start:c.end], Start: c.start, End: c.end, Value: c.value})
	}
	return out
}

// candidates runs every extractor over text and returns the resolved, non-overlapping candidates in
// order of start.
func (e *Extractor) candidates(text string, now time.Time) []entityCandidate {
	if len(text) > e.maxInput {
		text = text[:e.maxInput]
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	s := newEntityScan(text)
	if strings.IndexByte(text, '@') >= 0 {
		e.findEmails(s)
	}
	if !e.orderDefault {
		e.findOrders(s)
	}
	if len(s.regions) > 0 {
		if e.orderDefault {
			e.findOrders(s)
		}
		e.findPhones(s)
		e.findTracking(s)
		e.findCards(s)
		e.findPostcodes(s)
		e.findMoney(s)
	}
	e.findDates(s, now)
	e.findProducts(s)
	e.findQuantities(s)
	return resolveCandidates(s.cands, len(text))
}

// resolveCandidates keeps non-overlapping candidates, longest first, then earliest, then by type priority, and
// returns them ordered by start. It runs in O(n log n + total candidate length).
func resolveCandidates(cands []entityCandidate, n int) []entityCandidate {
	if len(cands) == 0 {
		return nil
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if la, lb := a.end-a.start, b.end-b.start; la != lb {
			return la > lb
		}
		if a.start != b.start {
			return a.start < b.start
		}
		if pa, pb := typePriority[a.typ], typePriority[b.typ]; pa != pb {
			return pa > pb
		}
		return a.value < b.value
	})
	used := make([]uint64, n/64+1)
	kept := cands[:0:0]
	for _, c := range cands {
		free := true
		for i := c.start; i < c.end; i++ {
			if used[i>>6]&(1<<(uint(i)&63)) != 0 {
				free = false
				break
			}
		}
		if !free {
			continue
		}
		for i := c.start; i < c.end; i++ {
			used[i>>6] |= 1 << (uint(i) & 63)
		}
		kept = append(kept, c)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].start < kept[j].start })
	return kept
}

// entAsciiLower lower-cases ASCII letters only, so byte offsets stay those of s.
func entAsciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// entIsWordByte reports whether c is an ASCII letter or digit, or a byte of a multi-byte UTF-8 sequence
// (so letters such as "é" count as part of a word).
func entIsWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func entIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func entIsASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// entOnlyAlnumUpper keeps ASCII letters and digits of s, upper-cased.
func entOnlyAlnumUpper(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			b = append(b, c)
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		}
	}
	return string(b)
}

// entOnlyDigits keeps the ASCII digits of s.
func entOnlyDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if entIsDigit(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// entLastKeyword returns the end offset in window of the last occurrence of any of the keywords as a whole
// word, or -1. window must be lower-cased.
func entLastKeyword(window string, keywords []string) int {
	best := -1
	for _, k := range keywords {
		from := len(window)
		for from > 0 {
			i := strings.LastIndex(window[:from], k)
			if i < 0 {
				break
			}
			end := i + len(k)
			if (i == 0 || !entIsWordByte(window[i-1])) && (end == len(window) || !entIsWordByte(window[end])) {
				if end > best {
					best = end
				}
				break
			}
			from = i
		}
	}
	return best
}

// before returns up to n bytes of s.lower that end at i.
func (s *entityScan) before(i, n int) string {
	j := i - n
	if j < 0 {
		j = 0
	}
	return s.lower[j:i]
}

func entIsSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
