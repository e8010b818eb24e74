package kb

import (
	"context"
	"strings"
	"unicode"
)

// FAQ search: the query is cut into words, stop words are dropped, and the remaining words are ORed as
// FTS5 prefix-free phrase tokens, so that no FTS5 syntax from the shopper's text ever reaches the
// query parser. Ranking is FTS5's bm25() with the question weighted over its variants, the answer and
// the tags.
const faqSearchSQL = `SELECT f.id, f.key, f.question, f.answer, -bm25(faqs_fts, 6.0, 4.0, 1.0, 2.0) AS score
FROM faqs_fts JOIN faqs f ON f.id = faqs_fts.rowid
WHERE faqs_fts MATCH ? AND f.enabled = 1 AND (? = '' OR f.locale = ? OR f.locale = ?)
ORDER BY bm25(faqs_fts, 6.0, 4.0, 1.0, 2.0) LIMIT ?`

// MaxSearchQuery is the longest search text considered, in bytes; the rest is ignored.
const MaxSearchQuery = 1024

var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by can could do does did for from had has have
		how i i'm if in into is it its me my of on or our please so that the their them then there these they
		this to us was we what when where which who why will with would you your hi hello hey thanks thank`) {
		stopWords[w] = true
	}
}

// ftsQuery turns free text into a safe FTS5 MATCH expression ("" when nothing is left).
func ftsQuery(text string, maxTerms int) string {
	if len(text) > MaxSearchQuery {
		text = text[:MaxSearchQuery]
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	seen := map[string]bool{}
	var terms []string
	for _, w := range words {
		w = strings.Trim(w, "'")
		if w == "" || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		if len(terms) == maxTerms {
			break
		}
	}
	return strings.Join(terms, " OR ")
}

// SearchFAQ returns up to limit (default 5) enabled FAQs of the locale (its language, "en" for
// "en-GB"; any locale when empty) ranked by BM25 over questions, variants, answers and tags; Score is
// higher for better matches. No words left after dropping stop words gives no hits.
func (s *Store) SearchFAQ(ctx context.Context, query, locale string, limit int) ([]FAQHit, error) {
	if limit <= 0 {
		limit = 5
	}
	match := ftsQuery(query, 32)
	if match == "" {
		return nil, nil
	}
	lang := locale
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	rows, err := s.stmts.faqSearch.QueryContext(ctx, match, locale, locale, lang, limit)
	if err != nil {
		return nil, s.wrapErr("search faq", err)
	}
	defer rows.Close()
	var out []FAQHit
	for rows.Next() {
		var h FAQHit
		if err := rows.Scan(&h.ID, &h.Key, &h.Question, &h.Answer, &h.Score); err != nil {
			return nil, s.wrapErr("search faq", err)
		}
		out = append(out, h)
	}
	return out, s.wrapErr("search faq", rows.Err())
}
