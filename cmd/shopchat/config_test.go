package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "shopchat.yaml")
	if err := os.WriteFile(yml, []byte("addr: 127.0.0.1:7001\nlog:\n  format: json\ndata_dir: /srv/shop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	toml := filepath.Join(dir, "shopchat.toml")
	if err := os.WriteFile(toml, []byte("addr = \"127.0.0.1:7005\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAddr   string
		wantFormat string
		wantDB     string
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", "text", "var/shopchat.db"},
		{"file", []string{"--config", yml}, nil, "127.0.0.1:7001", "json", "/srv/shop/shopchat.db"},
		{"toml file", []string{"--config", toml}, nil, "127.0.0.1:7005", "text", "var/shopchat.db"},
		{"env over file", []string{"--config", yml}, map[string]string{"SHOPCHAT_ADDR": "127.0.0.1:7002", "SHOPCHAT_LOG_FORMAT": "text"}, "127.0.0.1:7002", "text", "/srv/shop/shopchat.db"},
		{"flag over env", []string{"--config", yml, "--addr", "127.0.0.1:7003"}, map[string]string{"SHOPCHAT_ADDR": "127.0.0.1:7002"}, "127.0.0.1:7003", "json", "/srv/shop/shopchat.db"},
		{"config file from env", nil, map[string]string{"SHOPCHAT_CONFIG": yml}, "127.0.0.1:7001", "json", "/srv/shop/shopchat.db"},
		{"explicit db", []string{"--db", "/tmp/x.db"}, nil, "127.0.0.1:8080", "text", "/tmp/x.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			root := newRootCmd()
			serve, _, err := root.Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			if err := serve.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			c, _, err := loadConfig(serve)
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr != tt.wantAddr || c.Log.Format != tt.wantFormat || c.DB != tt.wantDB {
				t.Fatalf("got addr %q format %q db %q, want %q %q %q", c.Addr, c.Log.Format, c.DB, tt.wantAddr, tt.wantFormat, tt.wantDB)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("addr: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	serve, _, _ := root.Find([]string{"serve"})
	for _, args := range [][]string{{"--config", bad}, {"--config", filepath.Join(dir, "missing.yaml")}} {
		if err := serve.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadConfig(serve); err == nil {
			t.Fatalf("%v: no error", args)
		}
	}
	precision := filepath.Join(dir, "precision.yaml")
	if err := os.WriteFile(precision, []byte("models:\n  intent_precision: f16\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := serve.ParseFlags([]string{"--config", precision}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadConfig(serve); err == nil || !strings.Contains(err.Error(), "intent_precision") {
		t.Fatalf("models.intent_precision f16: err = %v, want one naming the key", err)
	}
	for _, lc := range []logConfig{{Level: "loud", Format: "text"}, {Level: "info", Format: "xml"}} {
		if _, err := newLogger(lc, os.Stderr); err == nil {
			t.Fatalf("%+v: no error", lc)
		}
	}
}

func TestConfigTypingDelay(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want time.Duration
	}{
		{"default", "", 300 * time.Millisecond},
		{"env", "1s", time.Second},
		{"before every answer", "-1ms", -time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("SHOPCHAT_CHAT_TYPING_DELAY", tt.env)
			}
			serve, _, err := newRootCmd().Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := loadConfig(serve)
			if err != nil {
				t.Fatal(err)
			}
			if c.Chat.TypingDelay != tt.want {
				t.Fatalf("typing delay %v, want %v", c.Chat.TypingDelay, tt.want)
			}
		})
	}
}
