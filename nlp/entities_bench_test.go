package nlp

import (
	"fmt"
	"strings"
	"testing"
)

// entityBenchMessages are typical shop messages, short and long, with and without entities.
var entityBenchMessages = []string{
	"hi",
	"where is my order #A10023?? ordered last friday",
	"I want to return the merino wool sweater I got 3 days ago, it was €89,00. Order A-10087, postcode EH1 1YZ",
	"looking for running shoes under 100 dollars, something like the trail runner",
	"can someone call me tomorrow on 07700 900123? tracking 1Z999AA10123456784",
	"do you have the alpine hiking boots in size 10? need 2 pairs by next monday",
	"my email is sam.k@mail.com and my zip is 94105",
	"Hello, I ordered a blue rain jacket and a pair of organic cotton t-shirts on the 5th but only the jacket arrived. Can you check what happened with the rest of the order please? Thanks a lot, Anna",
}

// entityBenchCatalogue builds a catalogue of n products with realistic two-to-four-word names.
func entityBenchCatalogue(n int) []ProductName {
	adj := []string{"Alpine", "Merino", "Organic", "Classic", "Urban", "Trail", "Coastal", "Nordic", "Vintage", "Summit", "Everyday", "Lightweight", "Waterproof", "Recycled", "Heritage"}
	mat := []string{"Wool", "Cotton", "Linen", "Leather", "Denim", "Fleece", "Canvas", "Bamboo", "Silk", "Suede"}
	kind := []string{"Sweater", "T-Shirt", "Boot", "Runner", "Jacket", "Jeans", "Hoodie", "Scarf", "Backpack", "Mug", "Sock", "Beanie", "Parka", "Chino", "Sneaker", "Blanket", "Tote", "Vest", "Shirt", "Dress"}
	out := make([]ProductName, 0, n)
	for i := 0; len(out) < n; i++ {
		a, m, k := adj[i%len(adj)], mat[(i/len(adj))%len(mat)], kind[(i/(len(adj)*len(mat)))%len(kind)]
		name := fmt.Sprintf("%s %s %s", a, m, k)
		if i >= len(adj)*len(mat)*len(kind) {
			name = fmt.Sprintf("%s %d", name, i/(len(adj)*len(mat)*len(kind))+1)
		}
		out = append(out, ProductName{SKU: fmt.Sprintf("SKU-%05d", i), Name: name, Aliases: []string{strings.ToLower(a + " " + k)}})
	}
	return out
}

// BenchmarkExtract measures Extract on typical messages against a 5,000-product catalogue (one op = one
// message).
func BenchmarkExtract(b *testing.B) {
	e := newTestExtractor(b, ExtractorConfig{})
	e.SetProducts(entityBenchCatalogue(5000))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		e.Extract(entityBenchMessages[i%len(entityBenchMessages)], entRefNow)
	}
	reportCPU(b, cpu)
}

// reportCPU adds the process CPU time per op since cpu (from processCPU) as the "cpu-ns/op" metric.
func reportCPU(b *testing.B, cpu int64) {
	if cpu < 0 {
		return
	}
	if now := processCPU(); now >= 0 {
		b.ReportMetric(float64(now-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkExtract100KB measures Extract on a 100 KB message dense with entities.
func BenchmarkExtract100KB(b *testing.B) {
	e := newTestExtractor(b, ExtractorConfig{})
	e.SetProducts(entityBenchCatalogue(5000))
	big := strings.Repeat(entityBenchMessages[2]+" ", 100<<10/len(entityBenchMessages[2]))
	b.SetBytes(int64(len(big)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		e.Extract(big, entRefNow)
	}
	reportCPU(b, cpu)
}

// BenchmarkSetProducts measures building the matcher for a 5,000-product catalogue.
func BenchmarkSetProducts(b *testing.B) {
	e := newTestExtractor(b, ExtractorConfig{})
	cat := entityBenchCatalogue(5000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		e.SetProducts(cat)
	}
	reportCPU(b, cpu)
}

// BenchmarkMask measures Mask on typical messages.
func BenchmarkMask(b *testing.B) {
	e := newTestExtractor(b, ExtractorConfig{})
	e.SetProducts(entityBenchCatalogue(5000))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		e.Mask(entityBenchMessages[i%len(entityBenchMessages)])
	}
	reportCPU(b, cpu)
}
