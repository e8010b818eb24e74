package failwindow

import (
	"sync"
	"testing"
	"time"
)

func TestCounter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		fails     []time.Duration // offsets from t0
		reset     bool
		at        time.Duration
		blocked   bool
		wantAfter time.Duration
	}{
		{"none", nil, false, 0, false, 0},
		{"under the limit", []time.Duration{0, time.Second}, false, 2 * time.Second, false, 0},
		{"at the limit", []time.Duration{0, time.Second, 2 * time.Second}, false, 3 * time.Second, true, 57 * time.Second},
		{"oldest expired", []time.Duration{0, time.Second, 2 * time.Second}, false, 60 * time.Second, false, 0},
		{"more failures do not extend the block", []time.Duration{0, time.Second, 2 * time.Second, 30 * time.Second, 50 * time.Second}, false, 61 * time.Second, false, 0},
		{"reset", []time.Duration{0, time.Second, 2 * time.Second}, true, 3 * time.Second, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(3, time.Minute)
			for _, d := range tt.fails {
				c.Fail("k", t0.Add(d))
			}
			if tt.reset {
				c.Reset("k")
			}
			b, after := c.Blocked("k", t0.Add(tt.at))
			if b != tt.blocked || after != tt.wantAfter {
				t.Fatalf("blocked %v after %v, want %v %v", b, after, tt.blocked, tt.wantAfter)
			}
			if other, _ := c.Blocked("other", t0.Add(tt.at)); other {
				t.Fatal("another key is blocked")
			}
		})
	}
}

func TestCounterForgetsIdleKeys(t *testing.T) {
	c := New(2, time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < 1000; i++ {
		c.Fail(string(rune('a'+i%26))+string(rune(i)), t0)
	}
	c.Fail("late", t0.Add(2*time.Second)) // a sweep: every earlier key has expired
	c.mu.Lock()
	n := len(c.fails)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept, want 1", n)
	}
}

func TestCounterConcurrent(t *testing.T) {
	c := New(1000, time.Minute)
	now := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				c.Fail("k", now)
				c.Blocked("k", now)
			}
		}()
	}
	wg.Wait()
	if b, _ := c.Blocked("k", now); b {
		t.Fatal("800 of 1000 failures blocked the key")
	}
	c.Fail("k", now)
	c.Fail("k", now)
	for i := 0; i < 200; i++ {
		c.Fail("k", now)
	}
	if b, _ := c.Blocked("k", now); !b {
		t.Fatal("1000 failures did not block the key")
	}
}
