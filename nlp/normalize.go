package nlp

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the canonical form of a customer message that the tokenizer and the intent model
// see: invalid UTF-8 dropped, Unicode NFKC (full-width letters, ligatures, circled digits), case folded,
// accents removed ("Café" -> "cafe"), typographic quotes and dashes mapped to ASCII, apostrophes inside
// words removed ("don't" -> "dont", so it matches the common misspelling), control and format characters
// removed, emoji and other symbols set apart as their own tokens, and runs of white space collapsed to
// one space. It is idempotent and safe for concurrent use.
func Normalize(s string) string {
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	// Decompose to strip combining marks (accents), then recompose what is left.
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := true // at the start, a space is pending-suppressed
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // accents, variation selectors
		case r == '\u2019' || r == '\u2018' || r == '`' || r == '\u00b4' || r == '\'':
			// An apostrophe between two letters disappears; elsewhere it is a space.
			if i > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]) {
				continue
			}
			r = ' '
		case r == '\u201c' || r == '\u201d' || r == '\u201e' || r == '\u00ab' || r == '\u00bb':
			r = '"'
		case r == '\u2013' || r == '\u2014' || r == '\u2212':
			r = '-'
		case r == '\u2026':
			r = '.'
		}
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		case isSymbolToken(r):
			if !space {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			b.WriteByte(' ')
			space = true
		default:
			b.WriteRune(r)
			space = false
		}
	}
	out := strings.TrimRight(b.String(), " ")
	return norm.NFC.String(out)
}

// isSymbolToken reports whether r (an emoji, pictograph or other symbol) stands as a token of its own.
func isSymbolToken(r rune) bool {
	if r < 0x80 {
		return false
	}
	return unicode.In(r, unicode.So, unicode.Sk) || (r >= 0x1F000 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF)
}

// Words splits normalised text (see Normalize) into word tokens: runs of letters and digits, single
// symbols such as emoji, and a question mark (it tells questions from statements). Other punctuation
// separates words and is dropped. It is safe for concurrent use.
func Words(normalized string) []string {
	var out []string
	start := -1
	for i, r := range normalized {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, normalized[start:i])
			start = -1
		}
		if r == '?' || isSymbolToken(r) {
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, normalized[start:])
	}
	return out
}
