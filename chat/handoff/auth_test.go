package handoff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery", DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		ok, err := CheckPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Fatalf("%q: %v %v", tc.pw, ok, err)
		}
	}
	if _, err := HashPassword("short", testParams); !errors.Is(err, ErrBadInput) {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$YWJjZGVmZ2g$YWJjZGVmZ2hpamtsbW5vcA", "$argon2id$v=19$m=99999999,t=1,p=1$YWJjZGVmZ2g$YWJjZGVmZ2hpamtsbW5vcA", "$argon2id$v=19$m=1024,t=1,p=1$!!$YWJj"} {
		if _, err := CheckPassword(bad, "x"); !errors.Is(err, ErrBadPasswordHash) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func FuzzCheckPassword(f *testing.F) {
	h, _ := HashPassword("correct horse battery", testParams)
	f.Add(h, "correct horse battery")
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$$", "x")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		ok, err := CheckPassword(hash, pw)
		if ok && err != nil {
			t.Fatal("ok with error")
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1700000000, 0)
	f.Add(Sign("0123456789abcdef", now, []byte("{}")), []byte("{}"))
	f.Add("t=1,v1=", []byte(""))
	f.Add("garbage", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifySignature("0123456789abcdef", header, body, now, 5*time.Minute)
		if err == nil && header != Sign("0123456789abcdef", now, body) {
			// another valid encoding would be a forgery
			if !strings.HasPrefix(header, "t=") {
				t.Fatalf("accepted %q", header)
			}
		}
	})
}

func newTestAuth(t *testing.T, now func() time.Time) (*Auth, *kb.Store) {
	t.Helper()
	s := openStore(t)
	a, err := NewAuth(AuthConfig{Store: s, Now: now, Password: testParams, MaxFailures: 3, FailureWindow: time.Minute, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return a, s
}

func TestAccountsAndLogin(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, _ := newTestAuth(t, clk.Now)
	ag, err := a.AddAgent(ctx, NewAgent{Email: "Ana@Shop.example", Name: "Ana", Role: "agent", Password: "correct horse battery", Skills: []string{"Returns", "returns", " payments "}})
	if err != nil {
		t.Fatal(err)
	}
	if ag.Email != "ana@shop.example" || strings.Join(ag.Skills, ",") != "returns,payments" {
		t.Fatalf("%+v", ag)
	}
	bad := []NewAgent{
		{Email: "not an email", Name: "x", Password: "correct horse battery"},
		{Email: "b@shop.example", Name: "", Password: "correct horse battery"},
		{Email: "b@shop.example", Name: "B", Role: "root", Password: "correct horse battery"},
		{Email: "b@shop.example", Name: "B", Password: "short"},
		{Email: "b@shop.example", Name: "B", Password: "correct horse battery", Skills: []string{"two words"}},
	}
	for _, n := range bad {
		if _, err := a.AddAgent(ctx, n); !errors.Is(err, ErrBadInput) {
			t.Fatalf("%+v: %v", n, err)
		}
	}
	if _, err := a.AddAgent(ctx, NewAgent{Email: "ana@shop.example", Name: "Ana 2", Password: "correct horse battery"}); !errors.Is(err, kb.ErrExists) {
		t.Fatal(err)
	}
	sess, token, err := a.Login(ctx, "ana@shop.example", "correct horse battery", "10.0.0.1", "test")
	if err != nil || token == "" || sess.CSRF == "" || sess.Agent.ID != ag.ID {
		t.Fatalf("%+v %q %v", sess, token, err)
	}
	got, err := a.Authenticate(ctx, token)
	if err != nil || got.Agent.ID != ag.ID || got.CSRF != sess.CSRF {
		t.Fatalf("%+v %v", got, err)
	}
	if err := got.CheckCSRF(sess.CSRF); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "x", strings.Repeat("a", 43), strings.Repeat("a", 500)} {
		if err := got.CheckCSRF(tok); !errors.Is(err, ErrCSRF) {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, tok); !errors.Is(err, ErrNoSession) {
			t.Fatalf("forged token %q: %v", tok, err)
		}
	}
	// expiry
	clk.Add(61 * time.Minute)
	if _, err := a.Authenticate(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("expired: %v", err)
	}
	// reset password ends sessions, old password fails
	_, token, _ = a.Login(ctx, "ana@shop.example", "correct horse battery", "10.0.0.1", "")
	if _, err := a.ResetPassword(ctx, "ana@shop.example", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, "ana@shop.example", "correct horse battery", "10.0.0.2", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	_, token, err = a.Login(ctx, "ana@shop.example", "a new long password", "10.0.0.2", "")
	if err != nil {
		t.Fatal(err)
	}
	// disabling ends sessions and blocks login
	if _, err := a.SetDisabled(ctx, ag.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, "ana@shop.example", "a new long password", "10.0.0.3", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if _, err := a.SetDisabled(ctx, "nobody@shop.example", true); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestLoginRateLimited(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a, _ := newTestAuth(t, clk.Now)
	if _, err := a.AddAgent(ctx, NewAgent{Email: "bo@shop.example", Name: "Bo", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := a.Login(ctx, "bo@shop.example", "wrong password!", "10.0.0.9", ""); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	// even the right password is refused while blocked
	_, _, err := a.Login(ctx, "BO@shop.example", "correct horse battery", "10.0.0.10", "")
	var re *RetryError
	if !errors.As(err, &re) || !errors.Is(err, ErrTooManyAttempts) || re.After <= 0 || re.After > time.Minute {
		t.Fatalf("%v", err)
	}
	clk.Add(61 * time.Second)
	if _, _, err := a.Login(ctx, "bo@shop.example", "correct horse battery", "10.0.0.10", ""); err != nil {
		t.Fatal(err)
	}
	// unknown emails count too, per address
	for i := 0; i < 12; i++ {
		_, _, _ = a.Login(ctx, "ghost"+string(rune('a'+i))+"@shop.example", "whatever password", "10.6.6.6", "")
	}
	if _, _, err := a.Login(ctx, "bo@shop.example", "correct horse battery", "10.6.6.6", ""); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("address not limited: %v", err)
	}
}
