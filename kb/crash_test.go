package kb_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

const crashEnv = "KB_CRASH_CHILD_DB"

// TestCrashAppend kills a process that appends messages with SIGKILL at random moments, several times,
// and checks after each restart that every acknowledged message is stored exactly once, that seqs are
// gap-free and that the file passes PRAGMA integrity_check.
func TestCrashAppend(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path, os.Getenv("KB_CRASH_ROUND"))
		return
	}
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	s, err := kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"conv-a", "conv-b", "conv-c"} {
		if _, err := s.CreateConversation(ctx, kb.Conversation{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := map[string]bool{}
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAppend$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, fmt.Sprintf("KB_CRASH_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		// Wait until the child has acknowledged its first append, then kill it at a random moment. (The
		// timer starts at the first acknowledgement, not at "ready": on a loaded machine the child may
		// take longer than the shortest delay to commit anything.)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child did not start: %q", round, sc.Text())
		}
		killAt := time.Duration(20+rng.Intn(400)) * time.Millisecond
		var timer *time.Timer
		n := 0
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[id] = true
				if n++; n == 1 {
					timer = time.AfterFunc(killAt, func() { cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
		cmd.Wait()
		if n == 0 {
			t.Fatalf("round %d: the child exited without acknowledging a message", round)
		}
		t.Logf("round %d: killed %v after the first acknowledgement, %d acknowledged", round, killAt, n)
		verifyCrashDB(t, path, acked)
	}
}

func verifyCrashDB(t *testing.T, path string, acked map[string]bool) {
	t.Helper()
	ctx := context.Background()
	s, err := kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	res, err := s.IntegrityCheck(ctx)
	if err != nil || len(res) != 1 || res[0] != "ok" {
		t.Fatalf("integrity_check: %v %v", res, err)
	}
	seen := map[string]int{}
	for _, conv := range []string{"conv-a", "conv-b", "conv-c"} {
		msgs, err := s.MessagesAfter(ctx, conv, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("%s: seq %d at position %d (gap)", conv, m.Seq, i)
			}
			seen[m.ClientID]++
		}
		c, err := s.Conversation(ctx, conv)
		if err != nil || c.LastSeq != int64(len(msgs)) {
			t.Fatalf("%s: last_seq %d, %d messages (%v)", conv, c.LastSeq, len(msgs), err)
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged message %s stored %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s stored %d times", id, n)
		}
	}
}

// crashChild appends messages from several goroutines forever, printing "ack ID" after each append
// returned, until it is killed.
func crashChild(path, round string) {
	ctx := context.Background()
	s, err := kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "ready")
	w.Flush()
	convs := []string{"conv-a", "conv-b", "conv-c"}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				m := kb.Message{ConvID: convs[(g+i)%len(convs)], Sender: kb.SenderCustomer, ClientID: id, Text: "message " + id}
				if _, _, err := s.AppendMessage(ctx, m); err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(w, "ack", id) // acknowledged only after AppendMessage returned
				w.Flush()
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}
