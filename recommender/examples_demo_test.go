package recommender

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPrintDemoExamples prints recommendations on the demo shop for docs/recommender.md (set
// REC_DEMO_EXAMPLES=1).
func TestPrintDemoExamples(t *testing.T) {
	if os.Getenv("REC_DEMO_EXAMPLES") == "" {
		t.Skip("set REC_DEMO_EXAMPLES=1 to print demo examples")
	}
	ctx := context.Background()
	d := openDemo(t)
	show := func(title string, q Query) {
		items, err := d.svc.Recommend(ctx, q)
		if err != nil {
			fmt.Printf("%s: %v\n", title, err)
			return
		}
		fmt.Printf("\n### %s\n", title)
		for _, it := range items {
			fmt.Printf("- %s %s (%s, %.2f) score %.3f %s\n", it.SKU, it.Name, it.Category, it.Price, it.Score, it.Reason)
		}
	}
	cust, bought := d.buyer(t)
	var names []string
	for _, b := range bought {
		names = append(names, d.prod[b].Name+" ["+d.prod[b].Category+"]")
	}
	fmt.Printf("customer %s bought: %s\n", cust, strings.Join(names, "; "))
	show("personal for "+cust, Query{CustomerID: cust, InStockOnly: true, K: 6})
	for _, sku := range []string{"FW-WT-JM-003", "FW-FW-LT-008"} {
		if p, ok := d.prod[sku]; ok {
			show("similar to "+sku+" "+p.Name, Query{SimilarTo: sku, InStockOnly: true, K: 5})
		}
	}
	show("session [FW-DR-KD-012]", Query{SessionItems: []string{"FW-DR-KD-012"}, InStockOnly: true, K: 5})
	show("gift ideas under 50", Query{MaxPrice: 50, InStockOnly: true, K: 5})
}
