package nlp

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maskLabels are the placeholders Mask writes for each kind of personal or order data.
var maskLabels = map[string]string{
	EntityEmail:       "[EMAIL]",
	EntityPhone:       "[PHONE]",
	EntityOrderNumber: "[ORDER]",
	EntityTracking:    "[TRACKING]",
	EntityPostcode:    "[POSTCODE]",
	entityCard:        "[CARD]",
}

// Mask returns text made safe for logs. Control characters (newlines included) become spaces and
// invalid UTF-8 becomes U+FFFD, so one message is one log line; then emails, phone numbers, order
// numbers, tracking numbers, postcodes and payment-card numbers (found as Extract finds them) are
// replaced by "[EMAIL]", "[PHONE]", "[ORDER]", "[TRACKING]", "[POSTCODE]" and "[CARD]", repeatedly
// until none is left. Bytes past MaxInputBytes are dropped and replaced by a "[… N bytes]" note. Mask
// never panics and is linear in len(text). Safe for concurrent use.
func (e *Extractor) Mask(text string) string {
	scanned := text
	if len(scanned) > e.maxInput {
		scanned = scanned[:e.maxInput]
	}
	var b strings.Builder
	b.Grow(len(scanned))
	maskClean(&b, scanned)
	out := b.String()
	// Masking a greedy match can leave digits that now read as another number ("1Z… 0000 0000 0000"
	// once the UPS number took the first group): mask again until nothing sensitive is left. Every
	// round that changes the text removes digits or '@', so this ends; the cap only bounds adversarial
	// input.
	for round := 0; round < 8; round++ {
		next, changed := e.maskOnce(out)
		if !changed {
			break
		}
		out = next
	}
	if n := len(text) - len(scanned); n > 0 {
		out += "[… " + strconv.Itoa(n) + " bytes]"
	}
	return out
}

// maskOnce replaces the sensitive entities of text by their labels and reports whether it replaced any.
func (e *Extractor) maskOnce(text string) (string, bool) {
	var b strings.Builder
	pos := 0
	for _, c := range e.candidates(text, time.Time{}) {
		label, ok := maskLabels[c.typ]
		if !ok {
			continue
		}
		if pos == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[pos:c.start])
		b.WriteString(label)
		pos = c.end
	}
	if pos == 0 {
		return text, false
	}
	b.WriteString(text[pos:])
	return b.String(), true
}

// maskClean writes s to b with control characters as spaces and invalid UTF-8 as U+FFFD.
func maskClean(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				c = ' '
			}
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}
