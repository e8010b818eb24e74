package recommender

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParseInteractions(t *testing.T) {
	known := func(s string) bool { return strings.HasPrefix(s, "SKU") || s == "168" }
	tests := []struct {
		name, format, in string
		want             int      // interactions when valid
		errs             []string // substrings, each with its line number, when invalid
	}{
		{"csv with header", "csv", "customer_id,sku,kind,weight,timestamp\nC1,SKU1,view,,2024-01-01T00:00:00Z\nC1,SKU2,purchase,2,1700000000\n", 2, nil},
		{"csv minimal", "csv", "C1,SKU1\n\nC2,SKU2,cart\n", 2, nil},
		{"csv bad lines", "csv", "C1,SKU1,view\nC2,,view\nC3,SKU3,buy\nC4,SKU4,view,-1\nC5,SKU5,view,1,yesterday\nC6,NOPE,view\nC7,SKU7,view,1,2099-01-01T00:00:00Z\n", 0,
			[]string{"line 2: empty product id", "line 3: kind", "line 4: weight", "line 5: timestamp", "line 6: unknown product \"NOPE\"", "line 7: timestamp \"2099-01-01T00:00:00Z\": in the future"}},
		{"csv bare quote", "csv", "C1,SK\"U1\nC2,SKU2\n", 0, []string{"line 1:"}},
		{"ncf", "ncf", "1\t168\t5\t874965478\n2\t168\t3\t874965479\n", 2, nil},
		{"ncf bad", "ncf", "1\t168\t5\t874965478\n1 168 5 874965478\n2\t168\tx\t1\n3\t168\t5\t-4\n4\t999\t5\t874965478\n", 0,
			[]string{"line 2: want 4 tab-separated", "line 3: rating", "line 4: timestamp", "line 5: unknown product"}},
		{"unknown format", "xml", "", 0, []string{"unknown format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInteractions(strings.NewReader(tc.in), ParseOptions{Format: tc.format, KnownItem: known, Now: testNow})
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(got) != tc.want {
					t.Fatalf("got %d interactions, want %d", len(got), tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadInput) {
				t.Fatalf("want ErrBadInput, got %v", err)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q lacks %q", err, e)
				}
			}
		})
	}
}

func TestParseInteractionsWeights(t *testing.T) {
	got, err := ParseInteractions(strings.NewReader("C1,SKU1,view\nC1,SKU2,cart\nC1,SKU3,purchase,7\n"), ParseOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 3, 7}
	for i, w := range want {
		if got[i].Weight != w {
			t.Errorf("line %d weight %v, want %v", i+1, got[i].Weight, w)
		}
	}
}

func TestInputErrorCapsLines(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString("C1,,view\n")
	}
	_, err := ParseInteractions(strings.NewReader(b.String()), ParseOptions{Now: testNow})
	var ie *InputError
	if !errors.As(err, &ie) || len(ie.Lines) != maxLineErrors || ie.More != 50-maxLineErrors {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseInteractions(f *testing.F) {
	f.Add("customer_id,sku,kind,weight,timestamp\nC1,SKU1,view,1,2024-01-01T00:00:00Z\n", false)
	f.Add("1\t168\t5\t874965478\n", true)
	f.Add("C1,\"SKU,1\",cart,,\n", false)
	f.Add("\xff\xfe,\x00\n", true)
	f.Fuzz(func(t *testing.T, in string, ncf bool) {
		format := FormatCSV
		if ncf {
			format = FormatNCF
		}
		got, err := ParseInteractions(strings.NewReader(in), ParseOptions{Format: format, Now: testNow})
		if err != nil {
			if !errors.Is(err, ErrBadInput) && !strings.Contains(err.Error(), "line") {
				t.Fatalf("error without ErrBadInput or line: %v", err)
			}
			return
		}
		for _, it := range got {
			if it.User == "" || it.Item == "" || it.Weight < 0 {
				t.Fatalf("invalid interaction accepted: %+v", it)
			}
		}
	})
}

func FuzzParseLOO(f *testing.F) {
	f.Add("1\t102\t2\t889751736\n", "(1,102)\t1582\t501\n")
	f.Add("1\t102\n", "(1,103)\t5\n")
	f.Add("", "(,)\n")
	f.Fuzz(func(t *testing.T, ratings, negatives string) {
		cases, err := parseLOO(strings.NewReader(ratings), strings.NewReader(negatives))
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.User == "" || c.Item == "" || len(c.Negatives) == 0 {
				t.Fatalf("invalid case accepted: %+v", c)
			}
		}
	})
}
