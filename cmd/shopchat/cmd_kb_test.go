package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the shopchat command line in-process and returns its standard output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestKBCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kb.db")
	steps := []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"kb", "load-demo"}, "320 products, 100 customers, 500 orders, 40 FAQs", ""},
		{[]string{"kb", "stats"}, "orders            500", ""},
		{[]string{"kb", "export", "faqs", "-o", filepath.Join(dir, "faqs.yaml")}, "", ""},
		{[]string{"kb", "import", "faqs", filepath.Join(dir, "faqs.yaml")}, "imported 40 faqs", ""},
		{[]string{"kb", "import", "products", filepath.Join(dir, "bad.csv")}, "", "bad.csv:3: price:"},
		{[]string{"kb", "import", "widgets", filepath.Join(dir, "bad.csv")}, "", "kind \"widgets\""},
		{[]string{"kb", "export-customer", "C1001"}, "\"first_name\"", ""},
		{[]string{"kb", "forget-customer", "C1001"}, "", "--yes"},
		{[]string{"kb", "forget-customer", "C1001", "--yes"}, "erased customer C1001", ""},
		{[]string{"kb", "export-customer", "C1001"}, "", "not found"},
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("sku,name,category,price\nP1,Hat,Hats,9\nP2,Cap,Hats,cheap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		out, err := runCLI(t, append(st.args, "--db", db, "--log-level", "error")...)
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("%v: err = %v, want %q", st.args, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", st.args, err)
		}
		if !strings.Contains(out, st.wantOut) {
			t.Fatalf("%v: output lacks %q:\n%s", st.args, st.wantOut, out)
		}
	}
}
