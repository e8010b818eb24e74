package kb

import (
	"context"
	"strings"
	"unicode"
)

// FAQ search: the query is cut into words, stop words are dropped, and the remaining words become
// quoted FTS5 tokens, so that no FTS5 syntax from the shopper's text ever reaches the query parser.
// Ranking is FTS5's rank: bm25() with the question weighted over its variants, the tags and the
// answer. Matching goes in stages and stops at the first that finds anything: FAQs containing every
// query word (at most 8 are used); then FAQs whose question, variants or tags contain any of them; then FAQs containing
// any of them anywhere. A document's BM25 score is the same in every stage (it depends only on the
// words it contains), so scores stay comparable; the stages keep the set FTS5 must rank small, which is
// what makes search over thousands of FAQs fast. Locale and enabled are checked on the best
// 4×limit+20 matches.
const faqSearchSQL = `SELECT f.id, f.key, f.question, f.answer, -r.rank
FROM (SELECT rowid, rank FROM faqs_fts WHERE faqs_fts MATCH ? ORDER BY rank LIMIT ?) r
JOIN faqs f ON f.id = r.rowid
WHERE f.enabled = 1 AND (? = '' OR f.locale = ? OR f.locale = ?)
ORDER BY r.rank LIMIT ?`

// commonTerm is the number of FAQs from which on a word counts as common. When no FAQ has every word,
// the next stages use only the rarer words, so that FTS5 ranks at most a few hundred FAQs rather than
// thousands: common words weigh little in BM25 (their IDF is low). When every word is common, the first
// two together, then the first alone, are used.
const commonTerm = 128

// splitTerms returns the terms found in fewer than commonTerm FAQs, and the others (counting stops at
// commonTerm, so they keep the query's order). Terms found nowhere are dropped.
func (s *Store) splitTerms(ctx context.Context, terms []string) (rare, common []string, err error) {
	for _, t := range terms {
		var n int
		if err := s.stmts.faqTermDF.QueryRowContext(ctx, t, commonTerm).Scan(&n); err != nil {
			return nil, nil, s.wrapErr("search faq", err)
		}
		switch {
		case n == 0:
		case n < commonTerm:
			rare = append(rare, t)
		default:
			common = append(common, t)
		}
	}
	return rare, common, nil
}

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

// SearchFAQ returns up to limit (default 5) enabled FAQs of the locale (the exact locale or its
// language: "en-GB" finds "en-GB" and "en" FAQs; any locale when empty) ranked by BM25 over questions,
// variants, answers and tags (see the stages above); Score (the negated FTS5 bm25) is higher
// for better matches. No words left after dropping stop words gives no hits.
func (s *Store) SearchFAQ(ctx context.Context, query, locale string, limit int) ([]FAQHit, error) {
	if limit <= 0 {
		limit = 5
	}
	match := ftsQuery(query, 8)
	if match == "" {
		return nil, nil
	}
	lang := locale
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	var out []FAQHit
	seen := map[int64]bool{}
	terms := strings.Split(match, " OR ")
	stages := []string{strings.Join(terms, " AND ")}
	if len(terms) >= 2 {
		stages = append(stages, "") // filled in only when the first stage finds nothing
	}
	for i := 0; i < len(stages); i++ {
		q := stages[i]
		if q == "" {
			rare, common, err := s.splitTerms(ctx, terms)
			if err != nil {
				return nil, err
			}
			var more []string
			switch {
			case len(rare) > 0:
				any := strings.Join(rare, " OR ")
				more = []string{"{question variants tags} : (" + any + ")", any}
			case len(common) >= 2:
				more = []string{common[0] + " AND " + common[1], common[0]}
			case len(common) == 1:
				more = []string{common[0]}
			default:
				return nil, nil // no word of the query is in any FAQ
			}
			stages = append(stages[:i], more...)
			q = stages[i]
		}
		rows, err := s.stmts.faqSearch.QueryContext(ctx, q, 4*limit+20, locale, locale, lang, limit)
		if err != nil {
			return nil, s.wrapErr("search faq", err)
		}
		for rows.Next() {
			var h FAQHit
			if err := rows.Scan(&h.ID, &h.Key, &h.Question, &h.Answer, &h.Score); err != nil {
				rows.Close()
				return nil, s.wrapErr("search faq", err)
			}
			if !seen[h.ID] && len(out) < limit {
				seen[h.ID] = true
				out = append(out, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrapErr("search faq", err)
		}
		if len(out) > 0 {
			break
		}
	}
	return out, nil
}
