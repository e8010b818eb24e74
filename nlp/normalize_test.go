package nlp

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   \t\n ", ""},
		{"Where IS my Order?", "where is my order?"},
		{"Café RÉSUMÉ naïve façade", "cafe resume naive facade"},
		{"ｆｕｌｌｗｉｄｔｈ ①", "fullwidth 1"},
		{"don’t   won't", "dont wont"},
		{"'quoted'", "quoted"},
		{"Straße", "strasse"},
		{"thanks😀!!", "thanks 😀 !!"},
		{"love it👍👍", "love it 👍 👍"},
		{"a\x00b\x1fc\u200bd", "a b c d"},
		{"bad\xffutf8", "bad utf8"},
		{"“smart” — quotes…", "\"smart\" - quotes..."},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"where is my order #a10023?", []string{"where", "is", "my", "order", "a10023", "?"}},
		{"thanks 😀 !!", []string{"thanks", "😀"}},
		{"e-mail me@x.com", []string{"e", "mail", "me", "x", "com"}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "Café", "a\x00b", "\xff\xfe", "😀😀", "ｆｕｌｌ", "don't", strings.Repeat("ab ", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n)
		}
		if n2 := Normalize(n); n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, n2)
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q: stray spaces", s, n)
		}
		for _, w := range Words(n) {
			if w == "" {
				t.Fatalf("empty word from %q", n)
			}
		}
	})
}
