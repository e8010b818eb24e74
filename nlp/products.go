package nlp

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ProductName is one catalogue product as the extractor matches it: its SKU (the entity's value), its
// display name and any other names customers use ("AirRun 2", "airrun two", "running shoes").
type ProductName struct {
	SKU     string
	Name    string
	Aliases []string
}

// productIndex is an immutable Aho-Corasick automaton over normalised word tokens of every catalogue
// name and alias. A nil or empty index matches nothing.
type productIndex struct {
	vocab map[string]int32 // normalised token -> token id
	next  map[uint64]int32 // (node<<32 | token id) -> child node
	fail  []int32          // failure link per node
	best  []int32          // longest pattern ending at this node (itself or along its failure links), -1 if none
	pats  []productPattern
	// maxTokens is the most tokens of any pattern.
	maxTokens int
}

type productPattern struct {
	sku    string
	tokens int
}

// SetProducts replaces the catalogue that product mentions are matched against. Each product is matched
// by its Name and Aliases, tolerant of case, accents, punctuation and English plurals ("Crème Brûlée
// Mugs" matches "creme brulee mug"); hyphenated names also match written as one word ("T-Shirt",
// "tshirt"). When two products share a name, the first one given wins. Products with an empty SKU are
// skipped. The swap is atomic: it is safe to call while Extract and Mask run on other goroutines.
func (e *Extractor) SetProducts(p []ProductName) {
	e.products.Store(buildProductIndex(p))
}

func buildProductIndex(products []ProductName) *productIndex {
	ix := &productIndex{vocab: map[string]int32{}, next: map[uint64]int32{}, fail: []int32{0}, best: []int32{-1}}
	var toks []string
	addName := func(sku, name string) {
		toks = toks[:0]
		productTokens(name, func(_, _ int, tok []byte) { toks = append(toks, string(tok)) })
		if len(toks) == 0 || len(toks) == 1 && len(toks[0]) < 2 {
			return
		}
		node := int32(0)
		for _, t := range toks {
			id, ok := ix.vocab[t]
			if !ok {
				id = int32(len(ix.vocab))
				ix.vocab[t] = id
			}
			key := uint64(node)<<32 | uint64(uint32(id))
			child, ok := ix.next[key]
			if !ok {
				child = int32(len(ix.fail))
				ix.next[key] = child
				ix.fail = append(ix.fail, 0)
				ix.best = append(ix.best, -1)
			}
			node = child
		}
		if ix.best[node] < 0 {
			ix.best[node] = int32(len(ix.pats))
			ix.pats = append(ix.pats, productPattern{sku: sku, tokens: len(toks)})
			ix.maxTokens = max(ix.maxTokens, len(toks))
		}
	}
	for _, p := range products {
		if strings.TrimSpace(p.SKU) == "" {
			continue
		}
		names := append([]string{p.Name}, p.Aliases...)
		for _, n := range names {
			addName(p.SKU, n)
			if strings.ContainsAny(n, "-‐–") {
				addName(p.SKU, strings.NewReplacer("-", "", "‐", "", "–", "").Replace(n))
			}
		}
	}
	ix.link()
	return ix
}

// link computes failure links breadth-first, and for every node the longest pattern that ends there.
func (ix *productIndex) link() {
	children := make([][]int32, len(ix.fail)) // node -> children, for the breadth-first walk
	edge := make([]int32, len(ix.fail))       // node -> token id on the edge into it
	for key, child := range ix.next {
		parent := int32(key >> 32)
		children[parent] = append(children[parent], child)
		edge[child] = int32(uint32(key))
	}
	queue := append([]int32(nil), children[0]...)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range children[n] {
			tok := edge[c]
			f := ix.fail[n]
			for {
				if n == 0 {
					ix.fail[c] = 0
					break
				}
				if g, ok := ix.next[uint64(f)<<32|uint64(uint32(tok))]; ok && g != c {
					ix.fail[c] = g
					break
				}
				if f == 0 {
					ix.fail[c] = 0
					break
				}
				f = ix.fail[f]
			}
			if ix.best[c] < 0 {
				ix.best[c] = ix.best[ix.fail[c]]
			}
			queue = append(queue, c)
		}
	}
}

// findProducts adds a candidate for the longest catalogue name ending at each token of the text.
func (e *Extractor) findProducts(s *entityScan) {
	ix := e.products.Load()
	if ix == nil || len(ix.pats) == 0 {
		return
	}
	type span struct{ start, end int }
	maxTok := ix.maxTokens
	var small [8]span
	ring := small[:] // starts and ends of the last maxTok tokens, to find a match's first token
	if maxTok > len(small) {
		ring = make([]span, maxTok)
	}
	node := int32(0)
	count := 0
	productTokens(s.text, func(start, end int, tok []byte) {
		ring[count%len(ring)] = span{start, end}
		count++
		id, ok := ix.vocab[string(tok)]
		if !ok {
			node = 0
			return
		}
		for {
			if c, ok := ix.next[uint64(node)<<32|uint64(uint32(id))]; ok {
				node = c
				break
			}
			if node == 0 {
				break
			}
			node = ix.fail[node]
		}
		if b := ix.best[node]; b >= 0 {
			p := ix.pats[b]
			first := ring[(count-p.tokens)%len(ring)]
			s.add(first.start, end, EntityProduct, p.sku)
		}
	})
}

// productTokens calls fn for each word of text (a run of letters and digits) with its byte span and its
// normalised form: lower-cased, accents removed, possessive "'s" dropped and English plurals reduced
// ("dresses" -> "dress", "batteries" -> "battery"). Invalid UTF-8 separates words. tok is only valid
// during the call.
func productTokens(text string, fn func(start, end int, tok []byte)) {
	var buf []byte
	i := 0
	for i < len(text) {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		if !isTokenRune(r) {
			i += n
			continue
		}
		start := i
		ascii := true
		for i < len(text) {
			r, n = rune(text[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRuneInString(text[i:])
				ascii = false
			}
			if !isTokenRune(r) {
				break
			}
			i += n
		}
		word := text[start:i]
		// Possessive "men's" / "men’s": the word is "men", the span keeps the "'s".
		for _, apos := range [...]string{"'", "’"} {
			j := i + len(apos)
			if strings.HasPrefix(text[i:], apos) && j < len(text) && (text[j] == 's' || text[j] == 'S') &&
				(j+1 == len(text) || !entIsWordByte(text[j+1])) {
				i = j + 1
				break
			}
		}
		buf = productStem(productFold(buf[:0], word, ascii))
		fn(start, i, buf)
	}
}

// isTokenRune reports whether r belongs to a product-matching word.
func isTokenRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
}

// entIsLetterRune reports whether r is a letter (any script).
func entIsLetterRune(r rune) bool { return unicode.IsLetter(r) }

// productFold appends word to dst lower-cased with accents removed (NFKD, combining marks dropped,
// ß -> ss, æ -> ae, ø -> o, œ -> oe, ł -> l).
func productFold(dst []byte, word string, ascii bool) []byte {
	if ascii {
		for i := 0; i < len(word); i++ {
			c := word[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	for _, r := range norm.NFKD.String(word) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		switch r {
		case 'ß':
			dst = append(dst, "ss"...)
		case 'æ':
			dst = append(dst, "ae"...)
		case 'ø':
			dst = append(dst, 'o')
		case 'œ':
			dst = append(dst, "oe"...)
		case 'ł':
			dst = append(dst, 'l')
		case 'đ', 'ð':
			dst = append(dst, 'd')
		case 'þ':
			dst = append(dst, "th"...)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// productStem reduces an English plural to its singular with a few suffix rules, applied alike to
// catalogue names and messages, so both sides meet even where the rule is not linguistically exact. It
// works in place on w.
func productStem(w []byte) []byte {
	n := len(w)
	has := func(suffix string) bool { return n > 4 && string(w[n-len(suffix):]) == suffix }
	switch {
	case has("ies"):
		return append(w[:n-3], 'y')
	case has("sses"), has("xes"), has("zes"), has("ches"), has("shes"):
		return w[:n-2]
	case n > 3 && w[n-1] == 's' && w[n-2] != 's' && w[n-2] != 'u' && w[n-2] != 'i':
		return w[:n-1]
	}
	return w
}
