package nlp

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestExtractProducts(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts(entityTestCatalogue())
	runExtractCases(t, e, entRefNow, []extractCase{
		{"exact", "Do you have the Alpine Hiking Boot in 44?", []wantEnt{{EntityProduct, "Alpine Hiking Boot", "BT-100"}}},
		{"case and plural", "are ALPINE HIKING BOOTS waterproof", []wantEnt{{EntityProduct, "ALPINE HIKING BOOTS", "BT-100"}}},
		{"alias", "my merino jumper shrank", []wantEnt{{EntityProduct, "merino jumper", "SW-210"}}},
		{"accents either way", "the creme brulee mugs and the Crème Brûlée Mug", []wantEnt{{EntityProduct, "creme brulee mugs", "MG-010"}, {EntityProduct, "Crème Brûlée Mug", "MG-010"}}},
		{"hyphen spaced or joined", "organic cotton t shirt or organic cotton tshirts", []wantEnt{{EntityProduct, "organic cotton t shirt", "TS-300"}, {EntityProduct, "organic cotton tshirts", "TS-300"}}},
		{"possessive", "the mens rain jacket, the men's rain jackets", []wantEnt{{EntityProduct, "mens rain jacket", "JK-500"}, {EntityProduct, "men's rain jackets", "JK-500"}}},
		{"punctuation between words", "Trail-Runner!", []wantEnt{{EntityProduct, "Trail-Runner", "SH-001"}}},
		{"partial name is not a mention", "alpine hiking trip", nil},
		{"words inside other words", "strail runnerz", nil},
	}, EntityProduct)
}

func TestExtractProductsLongestMatch(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	e.SetProducts([]ProductName{
		{SKU: "A", Name: "Runner"},
		{SKU: "B", Name: "Trail Runner"},
		{SKU: "C", Name: "Trail Runner GTX Pro"},
		{SKU: "D", Name: "GTX"},
		{SKU: "E", Name: "Runner"}, // duplicate name: the first product keeps it
		{SKU: "", Name: "No SKU"},
		{SKU: "F", Name: "x"}, // single letters are too short to match
	})
	runExtractCases(t, e, entRefNow, []extractCase{
		{"longest wins", "trail runner gtx pro", []wantEnt{{EntityProduct, "trail runner gtx pro", "C"}}},
		{"falls back after a failed longer match", "trail runner gtx max", []wantEnt{{EntityProduct, "trail runner", "B"}, {EntityProduct, "gtx", "D"}}},
		{"suffix of a longer name", "the runner", []wantEnt{{EntityProduct, "runner", "A"}}},
		{"skipped products", "no sku x", nil},
	}, EntityProduct)
}

func TestProductStem(t *testing.T) {
	cases := map[string]string{
		"dresses": "dress", "dress": "dress", "batteries": "battery", "boxes": "box", "watches": "watch",
		"boots": "boot", "shoes": "shoe", "jeans": "jean", "bus": "bus", "canvas": "canva", "is": "is",
	}
	for in, want := range cases {
		if got := string(productStem([]byte(in))); got != want {
			t.Errorf("productStem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSetProductsConcurrent(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	cats := [][]ProductName{
		{{SKU: "OLD", Name: "Trail Runner"}},
		{{SKU: "NEW", Name: "Trail Runner"}},
	}
	e.SetProducts(cats[0])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got := e.Extract("are the trail runners in stock?", entRefNow)
				if len(got) != 1 || got[0].Value != "OLD" && got[0].Value != "NEW" {
					panic(fmt.Sprintf("got %+v", got))
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		e.SetProducts(cats[i%2])
	}
	close(stop)
	wg.Wait()
	if got := e.Extract("trail runner", entRefNow); len(got) != 1 || got[0].Value != "NEW" {
		t.Fatalf("after the last swap got %+v, want SKU NEW", got)
	}
}

func TestProductsLargeCatalogue(t *testing.T) {
	e := newTestExtractor(t, ExtractorConfig{})
	cat := entityBenchCatalogue(5000)
	e.SetProducts(cat)
	for _, i := range []int{0, 1, 777, 2999, 4999} {
		msg := "do you still sell the " + strings.ToLower(cat[i].Name) + "?"
		got := e.Extract(msg, entRefNow)
		if len(got) != 1 || got[0].Type != EntityProduct || got[0].Value != cat[i].SKU {
			t.Errorf("Extract(%q) = %+v, want product %s", msg, got, cat[i].SKU)
		}
	}
}
