package recommender

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// LOOCase is one user's held-out item and the sampled items it is ranked against (the leave-one-out
// protocol of the NCF benchmark).
type LOOCase struct {
	User      string
	Item      string
	Negatives []string
}

// Metrics are ranking metrics at a cut-off of 10 over leave-one-out cases.
type Metrics struct {
	HR     float64 `json:"hr_at_10"`
	NDCG   float64 `json:"ndcg_at_10"`
	Users  int     `json:"users"`
	Missed int     `json:"unscored_users,omitempty"` // cases whose held-out item or user the scorer did not know
}

// Scorer scores a (user, item) pair; false means it cannot (unknown user or item).
type Scorer interface {
	Score(user, item string) (float64, bool)
}

// ScorerFunc adapts a function to Scorer.
type ScorerFunc func(user, item string) (float64, bool)

// Score calls f.
func (f ScorerFunc) Score(user, item string) (float64, bool) { return f(user, item) }

// UserScorer is a Scorer that is faster when asked for one user's candidates at once.
type UserScorer interface {
	ScoresFor(user string) func(item string) (float64, bool)
}

// EvaluateLOO ranks each case's held-out item among its negatives and returns HR@10 and NDCG@10. A
// negative that scores the same as the held-out item ranks above it (ties count against the model), and an
// item the scorer does not know scores -Inf. It is safe for concurrent use if the scorer is.
func EvaluateLOO(cases []LOOCase, s Scorer) Metrics {
	const k = 10
	var m Metrics
	for _, c := range cases {
		score := func(item string) (float64, bool) { return s.Score(c.User, item) }
		if us, ok := s.(UserScorer); ok {
			score = us.ScoresFor(c.User)
		}
		pos, ok := score(c.Item)
		if !ok {
			pos = math.Inf(-1)
			m.Missed++
		}
		rank := 0
		for _, n := range c.Negatives {
			sc, ok := score(n)
			if !ok {
				sc = math.Inf(-1)
			}
			if sc >= pos {
				rank++
			}
		}
		if rank < k {
			m.HR++
			m.NDCG += 1 / math.Log2(float64(rank)+2)
		}
	}
	m.Users = len(cases)
	if m.Users > 0 {
		m.HR /= float64(m.Users)
		m.NDCG /= float64(m.Users)
	}
	return m
}

// ReadLOO reads dir/test.rating (user, held-out item, ...) and dir/test.negative ("(user,item)" then the
// negatives, tab-separated), checking that they agree line by line.
func ReadLOO(dir string) ([]LOOCase, error) {
	rf, err := os.Open(filepath.Join(dir, "test.rating"))
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	nf, err := os.Open(filepath.Join(dir, "test.negative"))
	if err != nil {
		return nil, err
	}
	defer nf.Close()
	return parseLOO(rf, nf)
}

func parseLOO(ratings, negatives io.Reader) ([]LOOCase, error) {
	held, err := ParseInteractions(ratings, ParseOptions{Format: FormatNCF, Source: "test.rating"})
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(negatives)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	bad := &InputError{Source: "test.negative"}
	var cases []LOOCase
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.Split(text, "\t")
		head := strings.TrimSpace(f[0])
		if !strings.HasPrefix(head, "(") || !strings.HasSuffix(head, ")") || strings.Count(head, ",") != 1 {
			bad.add(line, "want (user,item) then tab-separated negatives, got %q", truncate(head, 40))
			continue
		}
		ui := strings.SplitN(head[1:len(head)-1], ",", 2)
		c := LOOCase{User: strings.TrimSpace(ui[0]), Item: strings.TrimSpace(ui[1])}
		if c.User == "" || c.Item == "" {
			bad.add(line, "empty user or item in %q", truncate(head, 40))
			continue
		}
		idx := len(cases)
		if idx >= len(held) {
			bad.add(line, "more lines than test.rating (%d)", len(held))
			continue
		}
		if held[idx].User != c.User || held[idx].Item != c.Item {
			bad.add(line, "(%s,%s) does not match test.rating's case %d (%s,%s)", c.User, c.Item, idx+1, held[idx].User, held[idx].Item)
			continue
		}
		for _, n := range f[1:] {
			if n = strings.TrimSpace(n); n != "" {
				c.Negatives = append(c.Negatives, n)
			}
		}
		if len(c.Negatives) == 0 {
			bad.add(line, "no negatives")
			continue
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("test.negative: line %d: %w", line+1, err)
	}
	if len(bad.Lines) > 0 {
		return nil, bad
	}
	if len(cases) != len(held) {
		return nil, fmt.Errorf("%w: test.negative has %d cases, test.rating %d", ErrBadInput, len(cases), len(held))
	}
	return cases, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// PopularityScorer scores an item by its number of training interactions (the same for every user).
func PopularityScorer(train []Interaction) Scorer {
	count := map[string]float64{}
	for _, it := range train {
		count[it.Item]++
	}
	return ScorerFunc(func(_, item string) (float64, bool) {
		c, ok := count[item]
		return c, ok
	})
}

// ItemKNNScorer is the classic item-based neighbourhood model: the score of item j for user u is the sum
// over u's training items i of cos(i, j), the cosine of their binary user vectors (all neighbours kept).
func ItemKNNScorer(train []Interaction) Scorer {
	d, err := buildDataset(train, nil, 0)
	if err != nil {
		return ScorerFunc(func(string, string) (float64, bool) { return 0, false })
	}
	n := len(d.items)
	// co-occurrence counts, dense: fine for the benchmark's catalogue sizes (n² int32).
	co := make([]int32, n*n)
	for _, hist := range d.userItems {
		for _, a := range hist {
			row := co[int(a)*n:]
			for _, b := range hist {
				row[b]++
			}
		}
	}
	return ScorerFunc(func(user, item string) (float64, bool) {
		u, ok := d.userIdx[user]
		if !ok {
			return 0, false
		}
		j, ok := d.itemIdx[item]
		if !ok {
			return 0, false
		}
		nj := float64(co[int(j)*n+int(j)])
		var s float64
		for _, i := range d.userItems[u] {
			if i == j {
				continue
			}
			c := co[int(i)*n+int(j)]
			if c > 0 {
				s += float64(c) / math.Sqrt(float64(co[int(i)*n+int(i)])*nj)
			}
		}
		return s, true
	})
}

// Report is the result of `shopchat recommender eval`: the model's metrics and, on the same split in
// the same run, those of the baselines.
type Report struct {
	Model     string             `json:"model"` // the model's version
	Data      string             `json:"data"`
	Protocol  string             `json:"protocol"`
	HR        float64            `json:"hr_at_10"`
	NDCG      float64            `json:"ndcg_at_10"`
	Users     int                `json:"users"`
	Unscored  int                `json:"unscored_users"`
	Baselines map[string]Metrics `json:"baselines,omitempty"`
	Seconds   float64            `json:"seconds"`
}

// Protocol describes EvaluateLOO in reports.
const Protocol = "leave-one-out: each user's held-out item ranked among its sampled negatives; ties count against the held-out item; HR@10, NDCG@10"

// Evaluate scores m on cases and, when train is given, the popularity and item-kNN (cosine) baselines.
func Evaluate(m *Model, cases []LOOCase, train []Interaction) Report {
	r := Report{Model: m.Version(), Protocol: Protocol}
	got := EvaluateLOO(cases, m)
	r.HR, r.NDCG, r.Users, r.Unscored = got.HR, got.NDCG, got.Users, got.Missed
	if len(train) > 0 {
		r.Baselines = map[string]Metrics{
			"popularity": EvaluateLOO(cases, PopularityScorer(train)),
			"item_knn":   EvaluateLOO(cases, ItemKNNScorer(train)),
		}
	}
	return r
}
