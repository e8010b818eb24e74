package torchrt

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReexecForTraining runs the test binary as a child that calls ReexecForTraining and prints the
// tunables it then runs under: the child must come back re-executed with them, once, keeping an earlier
// GLIBC_TUNABLES setting.
func TestReexecForTraining(t *testing.T) {
	if os.Getenv("TORCHRT_REEXEC_CHILD") == "1" {
		if err := ReexecForTraining(); err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("TUNABLES=" + os.Getenv("GLIBC_TUNABLES") + "\n")
		return
	}
	cases := []struct{ name, before, want string }{
		{"unset", "", TrainingMallocTunables},
		{"kept", "glibc.malloc.tcache_count=0", "glibc.malloc.tcache_count=0:" + TrainingMallocTunables},
		{"already", TrainingMallocTunables, TrainingMallocTunables},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReexecForTraining$", "-test.v")
			cmd.Env = append(os.Environ(), "TORCHRT_REEXEC_CHILD=1")
			if c.before != "" {
				cmd.Env = append(cmd.Env, "GLIBC_TUNABLES="+c.before)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "TUNABLES="+c.want+"\n") {
				t.Fatalf("child ran with the wrong tunables, want %q:\n%s", c.want, out)
			}
		})
	}
}
