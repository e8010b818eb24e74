// Package testbrowser starts the headless Chromium that the end-to-end tests (the widget's and the
// agent console's) drive through chromedp. It is meant for tests only. Its functions are safe for
// concurrent use; each call starts its own browser with its own profile.
package testbrowser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the browser: $SHOPCHAT_CHROMIUM, then $CHROMIUM, then chromium, chromium-browser or
// google-chrome on the PATH or in /usr/bin. It returns "" when there is none.
func Path() string {
	for _, env := range []string{"SHOPCHAT_CHROMIUM", "CHROMIUM"} {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/bin/" + name; fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ProfileDir is a fresh Chromium profile directory. Chromium's helper processes can still be writing
// into it for a moment after the browser is killed, so it is removed with retries (and left behind,
// with a log line, rather than failing the test) instead of through t.TempDir.
func ProfileDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "shopchat-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s: %v", dir, err)
	})
	return dir
}

// Allocator returns a chromedp allocator context for a headless Chromium with a fresh profile and
// the given extra options, cancelled when the test ends. It skips the test when no browser is found
// (or in -short mode): install Debian's chromium package, or set SHOPCHAT_CHROMIUM.
func Allocator(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path := Path()
	if path == "" {
		t.Skip("no chromium found (install Debian's chromium package, or set SHOPCHAT_CHROMIUM): skipping the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(ProfileDir(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancel)
	return ctx
}
