package nlp

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var corpus = []string{
	"where is my refund", "i want a refund", "refund status please", "has my refund been processed",
	"where is my order", "track my order", "cancel my order", "order status", "my order is late",
	"reset my password", "i forgot my password", "password reset link", "thanks a lot", "thank you",
}

func learnt(t *testing.T) (*Tokenizer, map[string]int) {
	t.Helper()
	vocab, err := LearnVocab(corpus, VocabConfig{Size: 300})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTokenizerJSON(f, vocab); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tok, err := LoadTokenizer(path)
	if err != nil {
		t.Fatalf("load the written tokenizer.json: %v", err)
	}
	return tok, vocab
}

func TestLearnVocabAndTokenize(t *testing.T) {
	tok, vocab := learnt(t)
	for i, s := range []string{TokenPad, TokenUnk, TokenCLS, TokenSEP, TokenMask} {
		if vocab[s] != i {
			t.Errorf("%s has id %d, want %d", s, vocab[s], i)
		}
	}
	if len(vocab) > 300 {
		t.Errorf("vocabulary has %d tokens, want at most 300", len(vocab))
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"where is my refund", []string{"where", "is", "my", "refund"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := tok.Tokenize(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A misspelling still maps to known pieces, not to [UNK].
	got, err := tok.Tokenize("refnud pasword")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 3 || strings.Contains(strings.Join(got, " "), TokenUnk) {
		t.Errorf("misspelling split into %q, want several known pieces", got)
	}
	// A character never seen is unknown.
	got, _ = tok.Tokenize("ж")
	if !reflect.DeepEqual(got, []string{TokenUnk}) {
		t.Errorf("unseen character: %q, want [UNK]", got)
	}
	// Deterministic.
	v2, _ := LearnVocab(corpus, VocabConfig{Size: 300})
	if !reflect.DeepEqual(vocab, v2) {
		t.Error("LearnVocab is not deterministic")
	}
}

func TestLearnVocabEmpty(t *testing.T) {
	if _, err := LearnVocab([]string{"", "  ", "!!"}, VocabConfig{}); !errors.Is(err, ErrNoVocabulary) {
		t.Fatalf("err = %v, want ErrNoVocabulary", err)
	}
}

func TestParseTokenizerBad(t *testing.T) {
	for _, in := range []string{"", "{}", "not json", `{"model":{"type":"WordPiece","vocab":{"a":0}}}`, `{"model":{"type":"Nope"}}`} {
		if _, err := ParseTokenizer([]byte(in)); !errors.Is(err, ErrBadTokenizer) {
			t.Errorf("ParseTokenizer(%q) err = %v, want ErrBadTokenizer", in, err)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	vocab, err := LearnVocab(corpus, VocabConfig{Size: 300})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := NewTokenizer(vocab)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"where is my refund", "", "\xff", "😀 refund", strings.Repeat("x", 200), "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		got, err := tok.Tokenize(n)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", s, err)
		}
		want, err := tok.libraryTokenize(n)
		if err != nil {
			t.Fatalf("library: %v", err)
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%q: fast path %q, library %q", n, got, want)
		}
	})
}

func TestWordPieceMatchesLibrary(t *testing.T) {
	tok, _ := learnt(t)
	if tok.vocab == nil {
		t.Fatal("no fast path for a WordPiece model")
	}
	inputs := append([]string{"refnud pasword", "where's my order #A10023?", "thanks 😀 !!", "ж", "a-b/c",
		strings.Repeat("x", 120), "order, status... please!!", "i forgot my password, reset it"}, corpus...)
	for _, in := range inputs {
		n := Normalize(in)
		want, err := tok.libraryTokenize(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.wordPiece(n); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%q: fast path %q, library %q", n, got, want)
		}
	}
}
