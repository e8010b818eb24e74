package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// publish writes a model directory and points the shared link at it in one atomic rename, as a
// rollout does.
func publish(t *testing.T, root, name, version string) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "current.tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(dir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
}

// servedModel is what one node serves: the version its last successful swap loaded.
type servedModel struct {
	mu      sync.Mutex
	version string
}

func (m *servedModel) swap(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	if err != nil {
		return err
	}
	if string(b) == "broken" {
		return errors.New("model does not load")
	}
	m.mu.Lock()
	m.version = string(b)
	m.mu.Unlock()
	return nil
}

func TestModelRolloutReachesEveryNode(t *testing.T) {
	root := t.TempDir()
	shared := filepath.Join(root, "current")
	ctx := context.Background()
	// Before the first model is published, a check is a no-op.
	early, err := NewModelWatcher(ModelWatcherConfig{Name: "intent", Dir: shared, Swap: (&servedModel{}).swap})
	if err != nil {
		t.Fatal(err)
	}
	if swapped, err := early.Check(ctx); swapped || err != nil {
		t.Fatalf("nothing published: %v %v", swapped, err)
	}
	publish(t, root, "v1", "v1")
	nodes := make([]*servedModel, 3)
	watchers := make([]*ModelWatcher, 3)
	for i := range nodes {
		nodes[i] = &servedModel{version: "v1"}
		watchers[i], err = NewModelWatcher(ModelWatcherConfig{Name: "intent", Dir: shared, Swap: nodes[i].swap})
		if err != nil {
			t.Fatal(err)
		}
		if swapped, err := watchers[i].Check(ctx); swapped || err != nil {
			t.Fatalf("unchanged model swapped: %v %v", swapped, err)
		}
	}
	for step, tc := range []struct {
		dir, version, want string
		wantErr            bool
	}{
		{"v2", "v2", "v2", false},
		{"v3", "broken", "v2", true}, // a model that does not load: the old one stays
		{"v4", "v4", "v4", false},
	} {
		publish(t, root, tc.dir, tc.version)
		for i, w := range watchers {
			swapped, err := w.Check(ctx)
			if (err != nil) != tc.wantErr || swapped == tc.wantErr {
				t.Fatalf("step %d node %d: swapped %v err %v", step, i, swapped, err)
			}
			if nodes[i].version != tc.want {
				t.Fatalf("step %d node %d serves %s, want %s", step, i, nodes[i].version, tc.want)
			}
			if swapped, _ := w.Check(ctx); swapped {
				t.Fatalf("step %d node %d swapped twice", step, i)
			}
		}
	}
	if _, err := NewModelWatcher(ModelWatcherConfig{Dir: shared}); err == nil {
		t.Fatal("watcher without Swap accepted")
	}
}
