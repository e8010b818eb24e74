package nlp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/model/wordpiece"
	"github.com/sugarme/tokenizer/pretrained"
)

// Special tokens of every vocabulary LearnVocab builds, with ids 0..4 in this order.
const (
	TokenPad  = "[PAD]"
	TokenUnk  = "[UNK]"
	TokenCLS  = "[CLS]"
	TokenSEP  = "[SEP]"
	TokenMask = "[MASK]"
)

// ContinuationPrefix marks a WordPiece piece that continues a word ("##ing").
const ContinuationPrefix = "##"

var specialTokens = []string{TokenPad, TokenUnk, TokenCLS, TokenSEP, TokenMask}

// ErrNoVocabulary is returned by LearnVocab when the texts hold no word at all.
var ErrNoVocabulary = errors.New("nlp: no words to learn a vocabulary from")

// VocabConfig sets how LearnVocab builds a WordPiece vocabulary. Zero values take the defaults.
type VocabConfig struct {
	// Size is the largest vocabulary (specials and single characters included). Default 8000.
	Size int
	// MinWordCount is how often a whole word must occur to enter as one piece. Default 2.
	MinWordCount int
	// MaxPieceLen is the longest sub-word piece, in characters. Default 8.
	MaxPieceLen int
}

// LearnVocab learns a WordPiece vocabulary from texts (normalised with Normalize first). sugarme/tokenizer's
// own trainers are broken (a pointer address in continuation pieces, special tokens missing from the
// vocabulary), so this counts pieces itself: every character seen (as a word start and as a
// continuation, so no word of known characters becomes [UNK]), frequent whole words, and the word
// prefixes and continuation pieces that cover the most characters, until Size. A misspelt word such as
// "refnud" then splits into useful pieces ("ref", "##nu", "##d") instead of one unknown token. The result
// maps token to id, specials first; it is deterministic for the same texts.
func LearnVocab(texts []string, cfg VocabConfig) (map[string]int, error) {
	if cfg.Size <= 0 {
		cfg.Size = 8000
	}
	if cfg.MinWordCount <= 0 {
		cfg.MinWordCount = 2
	}
	if cfg.MaxPieceLen <= 0 {
		cfg.MaxPieceLen = 8
	}
	words := map[string]int{}
	for _, t := range texts {
		for _, w := range Words(Normalize(t)) {
			words[w]++
		}
	}
	if len(words) == 0 {
		return nil, ErrNoVocabulary
	}
	vocab := map[string]int{}
	add := func(tok string) {
		if _, ok := vocab[tok]; !ok {
			vocab[tok] = len(vocab)
		}
	}
	for _, s := range specialTokens {
		add(s)
	}
	// Characters: both forms, most frequent first, so that they survive a small Size.
	chars := map[string]int{}
	for w, n := range words {
		for _, r := range w {
			chars[string(r)] += n
		}
	}
	for _, c := range sortedByScore(chars) {
		add(c)
		add(ContinuationPrefix + c)
	}
	// Candidate pieces scored by the characters they would cover beyond one-character pieces.
	score := map[string]int{}
	for w, n := range words {
		rs := []rune(w)
		if n >= cfg.MinWordCount && len(rs) > 1 {
			score[w] += n * (len(rs) - 1) * 2 // whole words are worth more than their pieces
		}
		for i := 0; i < len(rs); i++ {
			for l := 2; l <= cfg.MaxPieceLen && i+l <= len(rs); l++ {
				p := string(rs[i : i+l])
				if i > 0 {
					p = ContinuationPrefix + p
				}
				score[p] += n * (l - 1)
			}
		}
	}
	for _, p := range sortedByScore(score) {
		if len(vocab) >= cfg.Size {
			break
		}
		add(p)
	}
	return vocab, nil
}

// sortedByScore returns the keys of m, highest value first, ties in byte order.
func sortedByScore(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// WriteTokenizerJSON writes vocab as a HuggingFace tokenizer.json (WordPiece model, NFKC + lowercase +
// accent-stripping normaliser, BERT pre-tokenizer) that sugarme/tokenizer and HuggingFace tokenizers
// both load.
func WriteTokenizerJSON(w io.Writer, vocab map[string]int) error {
	for _, s := range []string{TokenPad, TokenUnk} {
		if _, ok := vocab[s]; !ok {
			return fmt.Errorf("nlp: vocabulary lacks %s", s)
		}
	}
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var specials []added
	for _, s := range specialTokens {
		if id, ok := vocab[s]; ok {
			specials = append(specials, added{ID: id, Content: s, Special: true})
		}
	}
	doc := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": specials,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []map[string]any{
			{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "NFD"}, {"type": "StripAccents"},
		}},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "WordPiece", "prefix": ContinuationPrefix, "cleanup": true},
		"model": map[string]any{
			"type":                      "WordPiece",
			"unk_token":                 TokenUnk,
			"continuing_subword_prefix": ContinuationPrefix,
			"max_input_chars_per_word":  100,
			"vocab":                     vocab,
		},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// Tokenizer splits normalised text into sub-word pieces with a WordPiece vocabulary loaded through
// github.com/sugarme/tokenizer. A Tokenizer is safe for concurrent use.
type Tokenizer struct {
	tk    *tokenizer.Tokenizer
	unk   int
	vocab map[string]int // the WordPiece vocabulary, for the fast path; nil for other models
}

// ErrBadTokenizer is returned when a tokenizer.json cannot be loaded or lacks an [UNK] token.
var ErrBadTokenizer = errors.New("nlp: bad tokenizer file")

// LoadTokenizer loads a HuggingFace tokenizer.json (a WordPiece or BPE model with an [UNK] token).
func LoadTokenizer(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nlp: tokenizer: %w", err)
	}
	return ParseTokenizer(data)
}

// ParseTokenizer loads a tokenizer.json held in memory.
func ParseTokenizer(data []byte) (tk *Tokenizer, err error) {
	// The library panics on some malformed files (type assertions on the JSON); report an error instead.
	defer func() {
		if r := recover(); r != nil {
			tk, err = nil, fmt.Errorf("%w: %v", ErrBadTokenizer, r)
		}
	}()
	t, err := pretrained.FromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTokenizer, err)
	}
	unk, ok := t.TokenToId(TokenUnk)
	if !ok {
		return nil, fmt.Errorf("%w: no %s token", ErrBadTokenizer, TokenUnk)
	}
	tok := &Tokenizer{tk: t, unk: unk}
	if wp, ok := t.GetModel().(*wordpiece.WordPiece); ok {
		tok.vocab = wp.GetVocab()
	}
	return tok, nil
}

// NewTokenizer builds a Tokenizer from a vocabulary (as LearnVocab returns) through its tokenizer.json form,
// so that it behaves exactly like the saved file.
func NewTokenizer(vocab map[string]int) (*Tokenizer, error) {
	var buf bytes.Buffer
	if err := WriteTokenizerJSON(&buf, vocab); err != nil {
		return nil, err
	}
	return ParseTokenizer(buf.Bytes())
}

// VocabSize is the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return t.tk.GetVocabSize(true) }

// Tokenize returns the sub-word pieces of text. Text should be normalised (Normalize) and valid UTF-8;
// anything else is cleaned first. An empty text has no pieces.
func (t *Tokenizer) Tokenize(text string) (tokens []string, err error) {
	if !utf8.ValidString(text) {
		text = Normalize(text)
	}
	if text == "" {
		return nil, nil
	}
	if t.vocab != nil {
		return t.wordPiece(text), nil
	}
	return t.libraryTokenize(text)
}

// libraryTokenize runs sugarme/tokenizer's full pipeline (normaliser, pre-tokenizer, model).
func (t *Tokenizer) libraryTokenize(text string) (tokens []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			tokens, err = nil, fmt.Errorf("nlp: tokenize: %v", r)
		}
	}()
	en, err := t.tk.EncodeSingle(text, false)
	if err != nil {
		return nil, fmt.Errorf("nlp: tokenize: %w", err)
	}
	return en.Tokens, nil
}

// IDs returns the vocabulary ids of text's pieces (see Tokenize).
func (t *Tokenizer) IDs(text string) ([]int, error) {
	if text == "" {
		return nil, nil
	}
	en, err := t.tk.EncodeSingle(text, false)
	if err != nil {
		return nil, fmt.Errorf("nlp: tokenize: %w", err)
	}
	return en.Ids, nil
}

// maxWordChars is WordPiece's max_input_chars_per_word: longer words are [UNK].
const maxWordChars = 100

// wordPiece is the WordPiece model applied directly to normalised text: BERT pre-tokenization (split at
// white space and punctuation) and greedy longest-match-first pieces, a word with an unmatched rest
// becoming one [UNK]. It gives the same tokens as the library's pipeline on normalised text
// (TestWordPieceMatchesLibrary) at a fraction of the allocations.
func (t *Tokenizer) wordPiece(text string) []string {
	var out []string
	var buf strings.Builder
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		out = t.pieces(text[start:end], out, &buf)
		start = -1
	}
	for i, r := range text {
		switch {
		case unicode.IsSpace(r) || r == 0 || r == utf8.RuneError || unicode.IsControl(r):
			flush(i)
		case isBertPunct(r):
			flush(i)
			out = t.pieces(string(r), out, &buf)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(text))
	return out
}

func (t *Tokenizer) pieces(word string, out []string, buf *strings.Builder) []string {
	rs := []rune(word)
	if len(rs) > maxWordChars {
		return append(out, TokenUnk)
	}
	n := len(out)
	for s := 0; s < len(rs); {
		e := len(rs)
		found := ""
		for e > s {
			buf.Reset()
			if s > 0 {
				buf.WriteString(ContinuationPrefix)
			}
			buf.WriteString(string(rs[s:e]))
			if _, ok := t.vocab[buf.String()]; ok {
				found = buf.String()
				break
			}
			e--
		}
		if found == "" {
			return append(out[:n], TokenUnk)
		}
		out = append(out, found)
		s = e
	}
	return out
}

// isBertPunct is BERT's punctuation test: ASCII symbols and Unicode punctuation.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}
