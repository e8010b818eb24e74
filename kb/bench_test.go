package kb_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per operation since start, a figure that, unlike wall-clock
// latency, does not depend on what else the (shared) machine is running.
func reportCPU(b *testing.B, start time.Duration, ops int) {
	b.ReportMetric(float64(cpuTime()-start)/1e3/float64(ops), "cpu-µs/op")
}

// reportLatency reports p50 and p99 of the recorded latencies in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

var faqQueries = []string{
	"how long does delivery take", "can I pay with paypal", "I forgot my password", "how do I return my jacket",
	"refund has not arrived", "do you ship to switzerland", "my parcel says delivered but nothing came",
	"student discount", "wool care washing", "boots warranty resole", "change delivery address", "charged twice",
	"invoice with VAT number", "size guide jeans run small", "when is it back in stock", "delete my account data",
}

// faqCorpus10k returns 10,000 FAQs as CSV: the demo shop's 40 general FAQs plus product questions of
// the kind a large shop's help centre and product Q&A hold ("What is the X made of?"), built from the
// 320 demo products and 31 question forms with answers from their attributes.
func faqCorpus10k(b *testing.B) string {
	ctx := context.Background()
	src := openDemo(b)
	faqs, _ := src.ListFAQs(ctx)
	products, _ := src.ListProducts(ctx)
	forms := []struct{ q, a string }{
		{"Is the %s machine washable?", "Care instructions for the %s: %s."},
		{"What sizes does the %s come in?", "The %s comes in %s."},
		{"What is the %s made of?", "The %s is made of %s."},
		{"Where is the %s made?", "The %s is made in %s."},
		{"Does the %s run small or large?", "The %s has a %s fit."},
		{"What colour is the %s exactly?", "The %s is %s; colours can look slightly different on screens."},
		{"Can I tumble dry the %s?", "Please follow the care label of the %s: %s."},
		{"Is the %s suitable for sensitive skin?", "The %s is made of %s and has no harsh finishes."},
		{"How heavy is the %s?", "The %s weighs about %s grams."},
		{"Is the %s sustainable?", "The %s uses %s from certified suppliers."},
		{"Will the %s shrink in the wash?", "The %s is pre-washed; wash it as advised (%s)."},
		{"Is the %s vegan?", "The %s is made of %s."},
		{"Does the %s have pockets?", "See the product photos of the %s; %s."},
		{"Can I iron the %s?", "Iron the %s on a low setting (%s)."},
		{"Is the %s a good gift?", "The %s is one of our most gifted items; price %s."},
		{"How do I clean stains from the %s?", "Dab stains on the %s gently; %s."},
		{"Is the %s true to size?", "Most customers find the %s %s."},
		{"Does the %s fade?", "The %s is colourfast when washed as advised (%s)."},
		{"Is the %s waterproof?", "The %s is made of %s."},
		{"Is the %s warm enough for winter?", "The %s in %s is best layered in deep winter."},
		{"What does the %s cost?", "The %s costs %s."},
		{"Is the %s in stock?", "Stock of the %s: %s units."},
		{"Can I return the %s if it does not fit?", "Yes, the %s can be returned within 30 days (%s)."},
		{"Does the %s come gift wrapped?", "Gift wrapping is available for the %s at checkout (%s)."},
		{"What is the SKU of the %s?", "The %s has the SKU %s."},
		{"Does the %s pill?", "The %s in %s may pill slightly at first; use a fabric comb."},
		{"Is the %s lined?", "The %s: %s."},
		{"Can the %s be repaired?", "We repair the %s under warranty (%s)."},
		{"Is the %s breathable?", "The %s in %s breathes well."},
		{"Does the %s stretch?", "The %s in %s has a little natural give."},
		{"Is there a matching item for the %s?", "Browse the %s category for items that go with the %s."},
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	w.Write([]string{"key", "question", "answer", "tags", "variants"})
	for _, f := range faqs {
		w.Write([]string{f.Key, f.Question, f.Answer, strings.Join(f.Tags, ","), strings.Join(f.Variants, " | ")})
	}
	n := len(faqs)
	for i := 0; n < 10_000; i++ {
		p := products[i%len(products)]
		f := forms[i/len(products)%len(forms)]
		detail := p.Attributes["material"]
		for _, k := range []string{"care", "sizes", "fit", "origin", "colour"} {
			if strings.Contains(f.q, k) || strings.Contains(f.a, k) {
				detail = p.Attributes[k]
			}
		}
		if detail == "" {
			detail = p.Category
		}
		w.Write([]string{fmt.Sprintf("product-%s-%d", p.SKU, i), fmt.Sprintf(f.q, p.Name), fmt.Sprintf(f.a, p.Name, detail), "product," + p.Category, ""})
		n++
	}
	w.Flush()
	return sb.String()
}

// BenchmarkSearchFAQ10k searches 10,000 FAQs (faqCorpus10k) with shoppers' questions.
func BenchmarkSearchFAQ10k(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	if _, err := s.Import(ctx, kb.KindFAQs, kb.FormatCSV, "faqs10k.csv", strings.NewReader(faqCorpus10k(b))); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		hits, err := s.SearchFAQ(ctx, faqQueries[i%len(faqQueries)], "en", 5)
		lat = append(lat, time.Since(t0))
		if err != nil || len(hits) == 0 {
			b.Fatalf("%q: %v %v", faqQueries[i%len(faqQueries)], hits, err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, b.N)
	reportLatency(b, lat)
}

// BenchmarkSearchFAQ10kPerQuery reports each query's latency separately.
func BenchmarkSearchFAQ10kPerQuery(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	if _, err := s.Import(ctx, kb.KindFAQs, kb.FormatCSV, "faqs10k.csv", strings.NewReader(faqCorpus10k(b))); err != nil {
		b.Fatal(err)
	}
	for _, q := range faqQueries {
		b.Run(strings.ReplaceAll(q, " ", "_"), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.SearchFAQ(ctx, q, "en", 5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookupOrderVerified looks up random demo orders verified by their email address.
func BenchmarkLookupOrderVerified(b *testing.B) {
	ctx := context.Background()
	s := openDemo(b)
	var qs []kb.OrderQuery
	for _, c := range mustCustomers(b, s) {
		os, _ := s.RecentOrders(ctx, c.ID, 100)
		for _, o := range os {
			qs = append(qs, kb.OrderQuery{Number: "#" + o.Number, Email: o.Email, Requester: "bench"})
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		o, err := s.LookupOrder(ctx, qs[i%len(qs)])
		lat = append(lat, time.Since(t0))
		if err != nil || len(o.Items) == 0 {
			b.Fatal(o, err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, b.N)
	reportLatency(b, lat)
}

func mustCustomers(b *testing.B, s *kb.Store) []kb.Customer {
	cs, err := s.ListCustomers(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

// BenchmarkAppendDurable appends messages from many concurrent senders (one per simulated
// conversation) while 4 readers each read a page of history every millisecond; every append is committed before it returns.
func BenchmarkAppendDurable(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, senders := range []int{1, 64, 256} {
			b.Run(fmt.Sprintf("sync=%s/senders=%d", sync, senders), func(b *testing.B) {
				benchAppend(b, sync, senders)
			})
		}
	}
}

func benchAppend(b *testing.B, synchronous string, senders int) {
	ctx := context.Background()
	s, err := kb.Open(ctx, kb.Config{Path: filepath.Join(b.TempDir(), "kb.db"), Synchronous: synchronous})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	convs := make([]string, senders)
	for i := range convs {
		c, err := s.CreateConversation(ctx, kb.Conversation{})
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = c.ID
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for r := 0; r < 4; r++ {
		readers.Add(1)
		go func(r int) {
			defer readers.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.MessagesAfter(ctx, convs[i%len(convs)], 0, 50); err != nil {
					b.Error(err)
					return
				}
				reads.Add(1)
				time.Sleep(time.Millisecond) // a busy chat server's history reads, not a tight loop
			}
		}(r)
	}
	var next atomic.Int64
	b.ResetTimer()
	t0 := time.Now()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				m := kb.Message{ConvID: convs[g], Sender: kb.SenderCustomer, ClientID: fmt.Sprint(i), Text: "Where is my order A10023? It was due yesterday."}
				if _, _, err := s.AppendMessage(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	reportCPU(b, cpu0, b.N) // includes the readers' CPU
	close(stop)
	readers.Wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(reads.Load())/elapsed.Seconds(), "reads/s")
}
