package nlp

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Amounts: money with a currency, and quantities.

const moneyNumber = `(?:\d{1,3}(?:[,.']\d{3})+|\d+)(?:[.,]\d{1,2})?`

var (
	reMoneyPrefix = regexp.MustCompile(`(?:(\bus\$|\bc\$|\ba\$|€|\$|£|¥)|\b(eur|usd|gbp|chf|jpy|cad|aud|sek|nok|dkk|pln)\b)\s?(` + moneyNumber + `)`)
	reMoneySuffix = regexp.MustCompile(`\b(` + moneyNumber + `)\s?(?:(€|\$|£|¥)|(eur|euros?|usd|us dollars?|dollars?|bucks|gbp|pounds?|quid|chf|francs?|jpy|yen|cad|aud|sek|nok|dkk|pln)\b)`)

	reQtyTimesA = regexp.MustCompile(`(?:\bx|×) ?(\d{1,3})\b`)
	reQtyTimesB = regexp.MustCompile(`\b(\d{1,3}) ?(?:x\b|×)`)
)

// currencyCodes maps a lower-cased symbol or word to its ISO 4217 code.
var currencyCodes = map[string]string{
	"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
	"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "us dollar": "USD", "us dollars": "USD", "bucks": "USD",
	"£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
	"¥": "JPY", "jpy": "JPY", "yen": "JPY",
	"chf": "CHF", "franc": "CHF", "francs": "CHF",
	"c$": "CAD", "cad": "CAD", "a$": "AUD", "aud": "AUD",
	"sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN",
}

func (e *Extractor) findMoney(s *entityScan) {
	if s.words&flagCurrency == 0 {
		return
	}
	// Groups: 1 symbol, 2 code, 3 number.
	for _, m := range s.inKeywords(reMoneyPrefix, flagCurrency) {
		cs, ce := m[2], m[3]
		if cs < 0 {
			cs, ce = m[4], m[5]
		}
		s.addMoney(m[0], m[1], s.text[m[6]:m[7]], s.lower[cs:ce])
	}
	// Groups: 1 number, 2 symbol, 3 word.
	for _, m := range s.inKeywords(reMoneySuffix, flagCurrency) {
		cs, ce := m[4], m[5]
		if cs < 0 {
			cs, ce = m[6], m[7]
		}
		s.addMoney(m[0], m[1], s.text[m[2]:m[3]], s.lower[cs:ce])
	}
}

func (s *entityScan) addMoney(start, end int, num, cur string) {
	code, ok := currencyCodes[cur]
	if !ok {
		return
	}
	if v, ok := moneyValue(num); ok {
		s.add(start, end, EntityMoney, v+" "+code)
	}
}

// moneyValue turns "1,200", "1.200,50", "49,90" or "49.9" into "1200.00", "1200.50", "49.90", "49.90".
// A final '.' or ',' followed by one or two digits is the decimal separator; other separators group
// thousands.
func moneyValue(num string) (string, bool) {
	intPart, frac := num, ""
	if i := strings.LastIndexAny(num, ".,"); i >= 0 && len(num)-i-1 <= 2 {
		intPart, frac = num[:i], num[i+1:]
	}
	d := strings.TrimLeft(entOnlyDigits(intPart), "0")
	if d == "" {
		d = "0"
	}
	if len(d) > 15 {
		return "", false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	return d + "." + frac, true
}

// quantityUnits are counting words included in a quantity's span ("2 pairs", "3 pcs").
var quantityUnits = entWordSet("pair pairs pc pcs piece pieces item items unit units pack packs packet packets box boxes set sets bottle bottles roll rolls bag bags")

// quantityStop are words after a number that mean it is not a count of things (times, measures,
// money, function words).
var quantityStop = entWordSet(`day days week weeks month months year years yr yrs hour hours hr hrs h min mins minute minutes
second seconds sec secs am pm oclock ago time times th st nd rd
euro euros eur usd dollar dollars bucks pound pounds quid gbp cent cents pence p chf yen jpy
cm mm m km kg g mg lb lbs oz inch inches in ft feet foot ml l litre litres liter liters gb tb mb percent pct
and or to of on at for from by with the a an is are was were be been it i you we he she they me my your
more less other another thing things question questions way moment last left star stars business working
x xs xl xxl s`)

// quantityNotAfter are words before a number that mean it is a label, not a count ("size 10").
var quantityNotAfter = entWordSet("size sizes number no nr num page step version model gen series room apt floor order ref top iphone galaxy pixel level chapter table gate platform route")

var entNumberWords = map[string]string{
	"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
	"nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "a couple of": "2", "couple of": "2",
	"a dozen": "12", "dozen": "12",
}

func entWordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

func (e *Extractor) findQuantities(s *entityScan) {
	if len(s.regions) > 0 && hasTimesSign(s.lower) {
		for _, re := range []*regexp.Regexp{reQtyTimesA, reQtyTimesB} {
			for _, m := range s.inDigits(re, s.lower, regionNeed{cluster: 1}) {
				if m[0] > 0 && entIsDigit(s.text[m[0]-1]) || m[1] < len(s.text) && entIsDigit(s.text[m[1]]) {
					continue
				}
				s.add(m[0], m[1], EntityQuantity, entTrimZeros(s.text[m[2]:m[3]]))
			}
		}
	}
	if len(s.regions) == 0 && s.words&flagNumber == 0 {
		return
	}
	var productAt map[int]bool
	for _, c := range s.cands {
		if c.typ == EntityProduct {
			if productAt == nil {
				productAt = map[int]bool{}
			}
			productAt[c.start] = true
		}
	}
	for _, m := range quantityNumbers(s.lower) {
		start, end := m[0], m[1]
		num := s.lower[start:end]
		value, isWord := entNumberWords[num]
		if !isWord {
			// Not part of a decimal, a price, a time, a range or a longer number.
			if start > 0 && (strings.IndexByte("#$.,/:-+", s.text[start-1]) >= 0 || s.text[start-1] >= 0x80) {
				continue
			}
			if end < len(s.text) && (s.text[end] == '%' ||
				strings.IndexByte(".,:/-", s.text[end]) >= 0 && end+1 < len(s.text) && entIsDigit(s.text[end+1])) {
				continue
			}
			value = entTrimZeros(num)
		}
		if quantityNotAfter[entPrevWord(s.lower, start)] {
			continue
		}
		ws, we := entNextWord(s.lower, end)
		if ws < 0 {
			continue
		}
		w := s.lower[ws:we]
		if w == "of" && productWithin(productAt, s.lower, we) {
			s.add(start, end, EntityQuantity, value) // "2 of the merino jumpers"
			continue
		}
		if quantityStop[w] || entNumberWords[w] != "" || w == "a" || w == "couple" || w == "dozen" {
			continue
		}
		if _, ok := currencyCodes[w]; ok {
			continue
		}
		switch {
		case quantityUnits[w]:
			end = we
		case len(w) > 3 && w[len(w)-1] == 's' && !productAt[ws]:
			end = we
		}
		s.add(start, end, EntityQuantity, value)
	}
}

// quantityNumbers returns the spans of count words in lower: 1–3 digit numbers standing alone, "one" to
// "twelve", "a couple of", "couple of", "a dozen", "dozen". Linear in len(lower).
func quantityNumbers(lower string) [][2]int {
	var out [][2]int
	prevStart, prevEnd := -1, -1 // the previous word
	for i := 0; i < len(lower); {
		c := lower[i]
		if !entIsWordByte(c) {
			i++
			continue
		}
		j := i
		for j < len(lower) && entIsWordByte(lower[j]) {
			j++
		}
		w := lower[i:j]
		start, end := i, j
		ok := false
		switch {
		case entIsDigit(c):
			ok = len(w) <= 3 && entCountDigits(w) == len(w)
		case w == "couple":
			if k := j + 3; k <= len(lower) && lower[j:k] == " of" && (k == len(lower) || !entIsWordByte(lower[k])) {
				end, ok = k, true
			}
		case w == "dozen":
			ok = true
		default:
			ok = entNumberWords[w] != ""
		}
		if ok && (w == "couple" || w == "dozen") && prevEnd == i-1 && lower[prevStart:prevEnd] == "a" {
			start = prevStart
		}
		if ok {
			out = append(out, [2]int{start, end})
		}
		prevStart, prevEnd = i, j
		i = j
	}
	return out
}

// productWithin reports whether a product mention starts right after lower[:i], directly or after one
// determiner ("of the merino jumpers", "of those mugs").
func productWithin(productAt map[int]bool, lower string, i int) bool {
	ws, we := entNextWord(lower, i)
	if ws < 0 {
		return false
	}
	if productAt[ws] {
		return true
	}
	switch lower[ws:we] {
	case "the", "these", "those", "your", "my", "our", "this", "that":
		ws, _ = entNextWord(lower, we)
		return ws >= 0 && productAt[ws]
	}
	return false
}

// hasTimesSign reports whether lower has an 'x' or '×' next to a digit (one space allowed): "x3", "3 x".
func hasTimesSign(lower string) bool {
	digitAt := func(i int) bool { return i >= 0 && i < len(lower) && entIsDigit(lower[i]) }
	for i := 0; i < len(lower); i++ {
		w := 0
		switch {
		case lower[i] == 'x':
			w = 1
		case strings.HasPrefix(lower[i:], "×"):
			w = len("×")
		default:
			continue
		}
		if digitAt(i-1) || lower[max(i-1, 0)] == ' ' && digitAt(i-2) || digitAt(i+w) || i+w < len(lower) && lower[i+w] == ' ' && digitAt(i+w+1) {
			return true
		}
	}
	return false
}

// entTrimZeros drops leading zeros from a digit string ("007" -> "7", "0" -> "0").
func entTrimZeros(d string) string {
	t := strings.TrimLeft(d, "0")
	if t == "" {
		return "0"
	}
	return t
}

// entNextWord returns the span of the word (letters, possibly non-ASCII) that follows text[i:] after one
// to three spaces, or -1, -1.
func entNextWord(lower string, i int) (int, int) {
	j := i
	for j < len(lower) && j-i < 3 && (lower[j] == ' ' || lower[j] == '\t') {
		j++
	}
	if j == i || j >= len(lower) {
		return -1, -1
	}
	k := j
	for k < len(lower) {
		c := lower[k]
		if c >= 'a' && c <= 'z' || c == '\'' && k > j {
			k++
			continue
		}
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(lower[k:])
			if r != utf8.RuneError && entIsLetterRune(r) {
				k += n
				continue
			}
		}
		break
	}
	if k == j {
		return -1, -1
	}
	if strings.HasSuffix(lower[j:k], "'") {
		k--
	}
	return j, k
}

// entPrevWord returns the ASCII word that ends just before text[i:] (after spaces), lower-cased.
func entPrevWord(lower string, i int) string {
	j := i
	for j > 0 && (lower[j-1] == ' ' || lower[j-1] == '\t') && i-j < 3 {
		j--
	}
	k := j
	for k > 0 && lower[k-1] >= 'a' && lower[k-1] <= 'z' {
		k--
	}
	if k > 0 && entIsWordByte(lower[k-1]) {
		return ""
	}
	return lower[k:j]
}

// entParseSmallInt parses a non-negative decimal of at most 9 digits.
func entParseSmallInt(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
