package nlp

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts(entityTestCatalogue())
	cases := []struct{ in, want string }{
		{"where is order #A10023? I'm sam.k@mail.com", "where is order [ORDER]? I'm [EMAIL]"},
		{"call +44 20 7946 0958 or (555) 123-4567", "call [PHONE] or [PHONE]"},
		{"UPS 1Z999AA10123456784, postcode SW1A 1AA", "UPS [TRACKING], postcode [POSTCODE]"},
		{"paid with 4111 1111 1111 1111 exp 12/27", "paid with [CARD] exp 12/27"},
		{"2 pairs of alpine hiking boots for €49.90 yesterday", "2 pairs of alpine hiking boots for €49.90 yesterday"},
		{"line one\nline two\r\x00\x1b[31m", "line one line two   [31m"},
		{"bad \xff\xfe utf8", "bad \uFFFD\uFFFD utf8"},
		{"", ""},
	}
	for _, c := range cases {
		if got := e.Mask(c.in); got != c.want {
			t.Errorf("Mask(%q)\n got  %q\n want %q", c.in, got, c.want)
		}
	}
}

func TestMaskTruncates(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{MaxInputBytes: 16})
	got := e.Mask("order #A10023 and sam@mail.com")
	if want := "order [ORDER] an[… 14 bytes]"; got != want {
		t.Fatalf("Mask = %q, want %q", got, want)
	}
	if strings.Contains(got, "sam@") {
		t.Fatal("bytes past the limit leaked into the log line")
	}
}
