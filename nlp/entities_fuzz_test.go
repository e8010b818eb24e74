package nlp

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// entityFuzzSeeds are realistic messages and the awkward inputs the extractors must survive.
var entityFuzzSeeds = []string{
	"", " ", "\x00", "\xff\xfe", "hi",
	"where is my order #A10023?? ordered last friday",
	"order A-10023, postcode SW1A 1AA, email Sam.K@Mail.com, call +44 20 7946 0958",
	"tracking 1Z999AA10123456784 / 9400 1000 0000 0000 0000 00 / RR123456789GB",
	"I paid €49.90 and 49,90 EUR and $1,200 under 50 euros",
	"2 pairs of trail runners, three shirts x3, 4 tees",
	"yesterday, 3 days ago, next monday, on the 5th, 12/03/2026, March 3, tomorrow, 2026-11-02",
	"Hauptstraße 5, 10115 Berlin; NY 10023; zip 94105-1234",
	"card 4111 1111 1111 1111 exp 12/27",
	"crème brûlée mugs, men's rain jackets, organic cotton t-shirts",
	strings.Repeat("1 ", 300), strings.Repeat("a1", 300), strings.Repeat("€1,", 100),
}

var (
	reFuzzMoney = regexp.MustCompile(`^\d{1,15}\.\d{2} [A-Z]{3}$`)
	reFuzzPhone = regexp.MustCompile(`^\+?\d{8,15}$`)
	reFuzzAlnum = regexp.MustCompile(`^[0-9A-Z]+$`)
)

func entityFuzzExtractor(t testing.TB) *Extractor {
	e := newTestExtractor(t, ExtractorConfig{PhoneCountryCode: "44"})
	e.SetProducts(entityTestCatalogue())
	return e
}

// FuzzExtract checks, for any input: no panic, spans are valid byte ranges in order and not
// overlapping, Text == text[Start:End], values have their documented format, and the result is
// deterministic.
func FuzzExtract(f *testing.F) {
	for _, s := range entityFuzzSeeds {
		f.Add(s)
	}
	e := entityFuzzExtractor(f)
	f.Fuzz(func(t *testing.T, in string) {
		got := e.Extract(in, entRefNow)
		checkEntitySpans(t, in, got)
		for _, g := range got {
			ok := true
			switch g.Type {
			case EntityDate:
				_, err := time.Parse("2006-01-02", g.Value)
				ok = err == nil
			case EntityMoney:
				ok = reFuzzMoney.MatchString(g.Value)
			case EntityPhone:
				ok = reFuzzPhone.MatchString(g.Value)
			case EntityEmail:
				ok = strings.Count(g.Value, "@") == 1 && g.Value == strings.ToLower(g.Value)
			case EntityQuantity:
				_, ok = entParseSmallInt(g.Value)
			case EntityOrderNumber, EntityTracking:
				ok = reFuzzAlnum.MatchString(g.Value)
			case EntityPostcode:
				ok = g.Value != "" && len(g.Value) <= 10
			case EntityProduct:
				ok = g.Value != ""
			default:
				ok = false
			}
			if !ok {
				t.Fatalf("entity %+v: bad value for its type (input %q)", g, in)
			}
		}
		again := e.Extract(in, entRefNow)
		if len(again) != len(got) {
			t.Fatalf("not deterministic: %v then %v", got, again)
		}
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("not deterministic: %v then %v", got, again)
			}
		}
	})
}

// FuzzMask checks that Mask never panics, writes one valid UTF-8 line without control characters, and
// that what it leaves holds no email, phone, order, tracking, postcode or card number.
func FuzzMask(f *testing.F) {
	for _, s := range entityFuzzSeeds {
		f.Add(s)
	}
	e := entityFuzzExtractor(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := e.Mask(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Mask(%q) = %q: invalid UTF-8", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) {
				t.Fatalf("Mask(%q) = %q: control character %U", in, out, r)
			}
		}
		for _, c := range e.candidates(out, entRefNow) {
			if _, sensitive := maskLabels[c.typ]; sensitive {
				t.Fatalf("Mask(%q) = %q still holds %s %q", in, out, c.typ, out[c.start:c.end])
			}
		}
	})
}

// FuzzProducts checks that any catalogue name is found in a message that is exactly that name, and
// that building the matcher never panics.
func FuzzProducts(f *testing.F) {
	for _, s := range []string{"Trail Runner", "Crème Brûlée Mug", "T-Shirt", "men's jacket", "a", "\xff", "ǅungla", "ﬁsh", "x\u0301\u0301"} {
		f.Add(s, "Alias "+s)
	}
	f.Fuzz(func(t *testing.T, name, alias string) {
		e := newTestExtractor(t, ExtractorConfig{})
		e.SetProducts([]ProductName{{SKU: "S1", Name: name, Aliases: []string{alias}}})
		var toks int
		var only string
		productTokens(name, func(_, _ int, tok []byte) { toks++; only = string(tok) })
		if toks == 0 || toks == 1 && len(only) < 2 {
			return
		}
		s := newEntityScan(name)
		e.findProducts(s)
		for _, c := range s.cands {
			if c.value == "S1" {
				return
			}
		}
		t.Fatalf("product named %q not found in its own name", name)
	})
}
