package nlp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// entRefNow is the reference time of the tests: Saturday 28 November 2026, 15:00 UTC.
var entRefNow = time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)

// wantEnt is an expected entity: type, text and value (spans are checked against the text separately).
type wantEnt struct{ typ, text, value string }

func (w wantEnt) String() string { return fmt.Sprintf("%s %q=%s", w.typ, w.text, w.value) }

type extractCase struct {
	name string
	in   string
	want []wantEnt
}

func newTestExtractor(t testing.TB, cfg ExtractorConfig) *Extractor {
	t.Helper()
	e, err := NewExtractor(cfg)
	if err != nil {
		t.Fatalf("NewExtractor: %v", err)
	}
	return e
}

// checkEntitySpans verifies the invariants every result must keep: valid byte ranges, in order, not
// overlapping, Text equal to the slice of the input.
func checkEntitySpans(t testing.TB, in string, got []Entity) {
	t.Helper()
	prevEnd := 0
	for i, g := range got {
		if g.Start < prevEnd || g.Start >= g.End || g.End > len(in) {
			t.Fatalf("entity %d %+v: bad span (previous end %d, len %d) in %q", i, g, prevEnd, len(in), in)
		}
		if g.Text != in[g.Start:g.End] {
			t.Fatalf("entity %d: Text %q != text[%d:%d] %q", i, g.Text, g.Start, g.End, in[g.Start:g.End])
		}
		if g.Type == "" || g.Value == "" {
			t.Fatalf("entity %d %+v: empty type or value", i, g)
		}
		prevEnd = g.End
	}
}

// runExtractCases extracts every case and compares the entities of the given types (all when types is empty)
// with the expected list, in order.
func runExtractCases(t *testing.T, e *Extractor, now time.Time, cases []extractCase, types ...string) {
	t.Helper()
	keep := map[string]bool{}
	for _, ty := range types {
		keep[ty] = true
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.Extract(c.in, now)
			checkEntitySpans(t, c.in, got)
			var gotE []wantEnt
			for _, g := range got {
				if len(keep) == 0 || keep[g.Type] {
					gotE = append(gotE, wantEnt{g.Type, g.Text, g.Value})
				}
			}
			if fmt.Sprint(gotE) != fmt.Sprint(c.want) {
				t.Errorf("Extract(%q)\n got  %v\n want %v", c.in, gotE, c.want)
			}
		})
	}
}

func TestNewExtractorConfig(t *testing.T) {
	bad := []ExtractorConfig{
		{OrderPattern: `([`},
		{OrderPattern: `\d*`},
		{DateOrder: "YMD"},
		{PhoneCountryCode: "4a"},
		{PhoneCountryCode: "0044"},
		{MaxInputBytes: -1},
	}
	for _, cfg := range bad {
		if _, err := NewExtractor(cfg); !errors.Is(err, ErrBadExtractorConfig) {
			t.Errorf("NewExtractor(%+v) = %v, want ErrBadExtractorConfig", cfg, err)
		}
	}
	good := []ExtractorConfig{{}, {DateOrder: "mdy"}, {PhoneCountryCode: "+1"}, {OrderPattern: `\bSO-(?P<number>\d{6})\b`}}
	for _, cfg := range good {
		if _, err := NewExtractor(cfg); err != nil {
			t.Errorf("NewExtractor(%+v): %v", cfg, err)
		}
	}
}

func TestExtractOrderNumbers(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"hash and letter", "Hi, where is my order #A10023?", []wantEnt{{EntityOrderNumber, "#A10023", "A10023"}}},
		{"dash", "order A-10023 hasn't arrived", []wantEnt{{EntityOrderNumber, "A-10023", "A10023"}}},
		{"bare digits", "my order number is 10023", []wantEnt{{EntityOrderNumber, "10023", "10023"}}},
		{"lower-case prefix", "it's order a-10023 thx", []wantEnt{{EntityOrderNumber, "a-10023", "A10023"}}},
		{"hash short", "Order # 4521 is late", []wantEnt{{EntityOrderNumber, "# 4521", "4521"}}},
		{"two orders", "orders 10023 and 10024 came together", []wantEnt{{EntityOrderNumber, "10023", "10023"}, {EntityOrderNumber, "10024", "10024"}}},
		{"four digits alone is not one", "I waited 1234 hours", nil},
		{"inside a word is not one", "code XYZ10023AB please", nil},
	}, EntityOrderNumber)

	custom := newTestExtractor(t, ExtractorConfig{OrderPattern: `(?i)\bSO-?(?P<number>\d{6})\b`})
	runExtractCases(t, custom, entRefNow, []extractCase{
		{"custom pattern group", "status of SO-123456 please", []wantEnt{{EntityOrderNumber, "SO-123456", "123456"}}},
		{"custom pattern ignores default forms", "order #A10023", nil},
	}, EntityOrderNumber)
}

func TestExtractEmails(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"lower-cased", "my email is John.Doe@Example.COM thanks", []wantEnt{{EntityEmail, "John.Doe@Example.COM", "john.doe@example.com"}}},
		{"plus and subdomain", "use anna+shop@mail.example.co.uk.", []wantEnt{{EntityEmail, "anna+shop@mail.example.co.uk", "anna+shop@mail.example.co.uk"}}},
		{"in brackets", "(mark_o@shop.de)", []wantEnt{{EntityEmail, "mark_o@shop.de", "mark_o@shop.de"}}},
		{"not an email", "meet @ 5 or me@home", nil},
	}, EntityEmail)
}

func TestExtractPhones(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"international", "call me on +44 20 7946 0958 please", []wantEnt{{EntityPhone, "+44 20 7946 0958", "+442079460958"}}},
		{"international trunk zero", "+49 (0)30 1234567", []wantEnt{{EntityPhone, "+49 (0)30 1234567", "+49301234567"}}},
		{"double zero", "0049 151 23456789", []wantEnt{{EntityPhone, "0049 151 23456789", "+4915123456789"}}},
		{"national uk", "my number is 07700 900123", []wantEnt{{EntityPhone, "07700 900123", "07700900123"}}},
		{"national with slash", "Tel. 030/12345678", []wantEnt{{EntityPhone, "030/12345678", "03012345678"}}},
		{"north american", "reach me at (555) 123-4567 or 555.234.5678", []wantEnt{{EntityPhone, "(555) 123-4567", "5551234567"}, {EntityPhone, "555.234.5678", "5552345678"}}},
		{"toll free", "I called 1-800-555-0199 twice", []wantEnt{{EntityPhone, "1-800-555-0199", "8005550199"}}},
		{"followed by an order number", "+44 20 7946 0958 10023", []wantEnt{{EntityPhone, "+44 20 7946 0958", "+442079460958"}}},
		{"too short", "+44 123", nil},
		{"a date is not a phone", "on 05.03.2026", nil},
	}, EntityPhone)

	uk := newTestExtractor(t, ExtractorConfig{PhoneCountryCode: "44"})
	runExtractCases(t, uk, entRefNow, []extractCase{
		{"national to E.164", "ring 020 7946 0958", []wantEnt{{EntityPhone, "020 7946 0958", "+442079460958"}}},
	}, EntityPhone)
	us := newTestExtractor(t, ExtractorConfig{PhoneCountryCode: "1"})
	runExtractCases(t, us, entRefNow, []extractCase{
		{"nanp to E.164", "text 415-555-2671", []wantEnt{{EntityPhone, "415-555-2671", "+14155552671"}}},
	}, EntityPhone)
}

func TestExtractTracking(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"ups", "UPS says 1Z999AA10123456784 is stuck", []wantEnt{{EntityTracking, "1Z999AA10123456784", "1Z999AA10123456784"}}},
		{"ups spaced lower", "tracking 1z 999 aa1 01 2345 6784", []wantEnt{{EntityTracking, "1z 999 aa1 01 2345 6784", "1Z999AA10123456784"}}},
		{"usps grouped", "USPS 9400 1000 0000 0000 0000 00 shows nothing", []wantEnt{{EntityTracking, "9400 1000 0000 0000 0000 00", "9400100000000000000000"}}},
		{"usps 22 digits", "9205590164917312751089", []wantEnt{{EntityTracking, "9205590164917312751089", "9205590164917312751089"}}},
		{"fedex 12", "fedex 7749 1234 5678", []wantEnt{{EntityTracking, "7749 1234 5678", "774912345678"}}},
		{"fedex 15", "number 123456789012345 please", []wantEnt{{EntityTracking, "123456789012345", "123456789012345"}}},
		{"dhl express needs context", "DHL waybill 1234567890", []wantEnt{{EntityTracking, "1234567890", "1234567890"}}},
		{"dhl paket", "Sendung JJD000390007882966183 kam nicht", []wantEnt{{EntityTracking, "JJD000390007882966183", "JJD000390007882966183"}}},
		{"dhl ecommerce", "GM2951173225174494", []wantEnt{{EntityTracking, "GM2951173225174494", "GM2951173225174494"}}},
		{"royal mail s10", "Royal Mail RR123456789GB and rr987654321gb", []wantEnt{{EntityTracking, "RR123456789GB", "RR123456789GB"}, {EntityTracking, "rr987654321gb", "RR987654321GB"}}},
		{"s10 spaced capitals", "ref RR 123 456 789 GB", []wantEnt{{EntityTracking, "RR 123 456 789 GB", "RR123456789GB"}}},
		{"spaced lower case is prose", "in 123 456 789 at", nil},
		{"amazon", "TBA123456789012 shows delivered", []wantEnt{{EntityTracking, "TBA123456789012", "TBA123456789012"}}},
		{"ten digits without context", "1234567890", nil},
		{"card number is not tracking", "card 4111 1111 1111 1111", nil},
	}, EntityTracking)
}

func TestExtractPostcodes(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"uk", "my postcode is SW1A 1AA", []wantEnt{{EntityPostcode, "SW1A 1AA", "SW1A 1AA"}}},
		{"uk lower no space", "postcode m11ae", []wantEnt{{EntityPostcode, "m11ae", "M1 1AE"}}},
		{"uk in address", "10 Downing St, London SW1A 2AA, UK", []wantEnt{{EntityPostcode, "SW1A 2AA", "SW1A 2AA"}}},
		{"us zip keyword", "zip code 94105", []wantEnt{{EntityPostcode, "94105", "94105"}}},
		{"us zip+4", "Austin TX 78701-1234", []wantEnt{{EntityPostcode, "78701-1234", "78701-1234"}}},
		{"us state", "New York, NY 10023", []wantEnt{{EntityPostcode, "10023", "10023"}}},
		{"de plz", "PLZ 10115", []wantEnt{{EntityPostcode, "10115", "10115"}}},
		{"de address", "Hauptstraße 5, 10115 Berlin", []wantEnt{{EntityPostcode, "10115", "10115"}}},
		{"order keyword wins", "zip for order 10023?", nil},
		{"only the first number after the keyword", "zip 94105 and order 10023", []wantEnt{{EntityPostcode, "94105", "94105"}}},
	}, EntityPostcode)
	// Without postcode context a five-digit number is an order number.
	runExtractCases(t, e, entRefNow, []extractCase{
		{"bare five digits", "10023 hasn't come", []wantEnt{{EntityOrderNumber, "10023", "10023"}}},
		{"verification message", "order A-10023, postcode SW1A 1AA", []wantEnt{{EntityOrderNumber, "A-10023", "A10023"}, {EntityPostcode, "SW1A 1AA", "SW1A 1AA"}}},
	})
}

func TestExtractMoney(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"euro symbol", "it cost €49.90", []wantEnt{{EntityMoney, "€49.90", "49.90 EUR"}}},
		{"decimal comma code", "I paid 49,90 EUR", []wantEnt{{EntityMoney, "49,90 EUR", "49.90 EUR"}}},
		{"thousands", "the sofa was $1,200", []wantEnt{{EntityMoney, "$1,200", "1200.00 USD"}}},
		{"words", "under 50 euros please", []wantEnt{{EntityMoney, "50 euros", "50.00 EUR"}}},
		{"european thousands", "1.299,50 € ist zu viel", []wantEnt{{EntityMoney, "1.299,50 €", "1299.50 EUR"}}},
		{"pounds", "£5 off or 20 quid", []wantEnt{{EntityMoney, "£5", "5.00 GBP"}, {EntityMoney, "20 quid", "20.00 GBP"}}},
		{"code before", "USD 12.5 refund", []wantEnt{{EntityMoney, "USD 12.5", "12.50 USD"}}},
		{"bucks", "around 30 bucks", []wantEnt{{EntityMoney, "30 bucks", "30.00 USD"}}},
		{"range", "between 20 and 40 dollars", []wantEnt{{EntityMoney, "40 dollars", "40.00 USD"}}},
		{"no currency", "it is 49.90", nil},
		{"dollar variants", "US$20, A$15 and C$ 9.99", []wantEnt{{EntityMoney, "US$20", "20.00 USD"}, {EntityMoney, "A$15", "15.00 AUD"}, {EntityMoney, "C$ 9.99", "9.99 CAD"}}},
		{"dollar after a word", "visa$5", []wantEnt{{EntityMoney, "$5", "5.00 USD"}}},
	}, EntityMoney)
}

func TestExtractQuantities(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts([]ProductName{{SKU: "TS-1", Name: "Organic Cotton T-Shirt", Aliases: []string{"tee"}}})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"pairs", "I ordered 2 pairs of socks", []wantEnt{{EntityQuantity, "2 pairs", "2"}}},
		{"number word and noun", "I need three shirts in blue", []wantEnt{{EntityQuantity, "three shirts", "3"}}},
		{"times prefix", "jeans x3", []wantEnt{{EntityQuantity, "x3", "3"}}},
		{"times suffix", "add 2x to the cart", []wantEnt{{EntityQuantity, "2x", "2"}}},
		{"times sign", "mugs ×3", []wantEnt{{EntityQuantity, "×3", "3"}}},
		{"dozen", "a dozen eggs cups", []wantEnt{{EntityQuantity, "a dozen eggs", "12"}}},
		{"couple", "a couple of mugs", []wantEnt{{EntityQuantity, "a couple of mugs", "2"}}},
		{"before a product", "4 tees please", []wantEnt{{EntityQuantity, "4", "4"}}},
		{"of the product", "2 of the organic cotton t-shirts", []wantEnt{{EntityQuantity, "2", "2"}}},
		{"of something else", "2 of them", nil},
		{"digit and noun", "can I get 10 candles", []wantEnt{{EntityQuantity, "10 candles", "10"}}},
		{"size is not a quantity", "size 10 boots", nil},
		{"time is not a quantity", "it took 3 weeks and 2 days", nil},
		{"measure is not a quantity", "a 30 cm box", nil},
		{"xl is a size", "a 3xl hoodie", nil},
		{"percent", "50% off", nil},
	}, EntityQuantity)
}

func TestExtractOverlaps(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts([]ProductName{{SKU: "SH-2", Name: "Trail Runner 2"}, {SKU: "SH-1", Name: "Trail Runner"}})
	runExtractCases(t, e, entRefNow, []extractCase{
		// Money beats the order number inside it; the date beats the numbers inside it.
		{"money over order", "refund $10023 now", []wantEnt{{EntityMoney, "$10023", "10023.00 USD"}}},
		{"date over parts", "on 12/03/2026", []wantEnt{{EntityDate, "12/03/2026", "2026-03-12"}}},
		{"longest product", "are the trail runner 2 waterproof", []wantEnt{{EntityProduct, "trail runner 2", "SH-2"}}},
		{"product over quantity", "2 pairs of Trail Runner 2", []wantEnt{{EntityQuantity, "2 pairs", "2"}, {EntityProduct, "Trail Runner 2", "SH-2"}}},
		{"zip+4 over order", "78701-1234", []wantEnt{{EntityPostcode, "78701-1234", "78701-1234"}}},
		{"email with digits", "10023@shop.com", []wantEnt{{EntityEmail, "10023@shop.com", "10023@shop.com"}}},
	})
}

func TestExtractRealisticMessages(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{PhoneCountryCode: "44"})
	e.SetProducts(entityTestCatalogue())
	runExtractCases(t, e, entRefNow, []extractCase{
		{"where is my order",
			"hi, ordered 2 pairs of the Alpine Hiking Boots last friday (order #A10023), still nothing?? my email is sam.k@Mail.com",
			[]wantEnt{{EntityQuantity, "2 pairs", "2"}, {EntityProduct, "Alpine Hiking Boots", "BT-100"}, {EntityDate, "last friday", "2026-11-27"},
				{EntityOrderNumber, "#A10023", "A10023"}, {EntityEmail, "sam.k@Mail.com", "sam.k@mail.com"}}},
		{"return",
			"I want to return the merino wool sweater I got 3 days ago, it was €89,00. Order A-10087, postcode EH1 1YZ",
			[]wantEnt{{EntityProduct, "merino wool sweater", "SW-210"}, {EntityDate, "3 days ago", "2026-11-25"}, {EntityMoney, "€89,00", "89.00 EUR"},
				{EntityOrderNumber, "A-10087", "A10087"}, {EntityPostcode, "EH1 1YZ", "EH1 1YZ"}}},
		{"recommendation",
			"looking for running shoes under 100 dollars, something like the trail runner",
			[]wantEnt{{EntityProduct, "running shoes", "SH-001"}, {EntityMoney, "100 dollars", "100.00 USD"}, {EntityProduct, "trail runner", "SH-001"}}},
		{"callback",
			"can someone call me tomorrow on 07700 900123? re 1Z999AA10123456784",
			[]wantEnt{{EntityDate, "tomorrow", "2026-11-29"}, {EntityPhone, "07700 900123", "+447700900123"}, {EntityTracking, "1Z999AA10123456784", "1Z999AA10123456784"}}},
	})
}

func TestExtractBadInput(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts(entityTestCatalogue())
	big := strings.Repeat("order #A10023 from 12/03/2026, €49.90, sam@x.io, +44 20 7946 0958, 2 pairs of boots ", 1200) // ~100 KB
	inputs := map[string]string{
		"empty":        "",
		"whitespace":   " \t\n  ",
		"invalid utf8": "order \xff\xfe10023\xc3 \xe2\x82 €4\xff9.90 \xf0\x9f",
		"controls":     "order\x00#A10023\x01\x02\x1b[31m\u202eemail\x7fa@b.co",
		"only digits":  strings.Repeat("1", 5000),
		"separators":   strings.Repeat("1 ", 5000) + strings.Repeat("-", 1000),
		"100KB":        big,
		"nul 100KB":    strings.Repeat("\x00", 100<<10),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			got := e.Extract(in, entRefNow)
			if got == nil {
				t.Fatal("Extract returned nil, want an empty slice")
			}
			checkEntitySpans(t, in, got)
			if in == big && len(got) < 1200*6 {
				t.Errorf("100 KB input: %d entities, want at least %d", len(got), 1200*6)
			}
			if m := e.Mask(in); strings.Contains(m, "sam@x.io") || strings.Contains(m, "\x00") {
				t.Errorf("Mask left an email or a NUL in %.80q", m)
			}
		})
	}
}

func TestExtractMaxInput(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{MaxInputBytes: 20})
	got := e.Extract("order #A10023 and order #B20045", entRefNow)
	if len(got) != 1 || got[0].Value != "A10023" {
		t.Fatalf("got %+v, want only the order in the first 20 bytes", got)
	}
}

// entityTestCatalogue is a small catalogue like the demo shop's.
func entityTestCatalogue() []ProductName {
	return []ProductName{
		{SKU: "BT-100", Name: "Alpine Hiking Boot", Aliases: []string{"hiking boots"}},
		{SKU: "SW-210", Name: "Merino Wool Sweater", Aliases: []string{"merino jumper"}},
		{SKU: "SH-001", Name: "Trail Runner", Aliases: []string{"running shoes"}},
		{SKU: "TS-300", Name: "Organic Cotton T-Shirt"},
		{SKU: "MG-010", Name: "Crème Brûlée Mug"},
		{SKU: "JK-500", Name: "Men's Rain Jacket"},
	}
}

// TestExtractLongEqualsParts checks that cutting long texts into windows loses nothing: a 24 KB text
// (dozens of windows) made of one message repeated gives exactly that message's entities, repeated at
// each offset.
func TestExtractLongEqualsParts(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{PhoneCountryCode: "44"})
	e.SetProducts(entityTestCatalogue())
	for _, msg := range []string{
		"Order #A10023 (2 pairs of alpine hiking boots, €89,00) ordered 3 days ago; call 07700 900123 or mail sam@x.io, postcode EH1 1YZ, tracking 1Z999AA10123456784. ",
		"12/03/2026 10023 9400 1000 0000 0000 0000 00 +44 20 7946 0958 x3 last friday $1,200 NY 10023 ",
	} {
		one := e.Extract(msg, entRefNow)
		n := 24<<10/len(msg) + 1
		got := e.Extract(strings.Repeat(msg, n), entRefNow)
		if len(got) != n*len(one) {
			t.Fatalf("%d entities in %d copies, want %d (%d per copy)", len(got), n, n*len(one), len(one))
		}
		for i, g := range got {
			w := one[i%len(one)]
			off := (i / len(one)) * len(msg)
			if g.Type != w.Type || g.Value != w.Value || g.Start != w.Start+off || g.End != w.End+off {
				t.Fatalf("entity %d = %+v, want %+v at offset %d", i, g, w, off)
			}
		}
	}
}
