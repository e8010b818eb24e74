package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/chat"
)

// FuzzRenderCanned: any text renders without panicking, known variables are replaced, and nothing
// outside placeholders changes.
func FuzzRenderCanned(f *testing.F) {
	f.Add("Hi {customer.first_name}, your order {order.number} is {order.status}.")
	f.Add("{customer.first_name}{customer.first_name}{unknown.var}{")
	f.Add("}{}{.}{a.}")
	vars := map[string]string{"customer.first_name": "Léa", "order.number": "A10023"}
	f.Fuzz(func(t *testing.T, text string) {
		out, missing := RenderCanned(text, vars)
		if strings.Contains(text, "{customer.first_name}") && strings.Contains(out, "{customer.first_name}") {
			t.Fatalf("variable left: %q", out)
		}
		for _, m := range missing {
			if _, ok := vars[m]; ok {
				t.Fatalf("%s reported missing", m)
			}
		}
		_ = checkCanned("x", "", text)
	})
}

// FuzzCustomerFrame: whatever a customer sends as a handoff frame gets nil or a wire error, never a
// panic or an internal error.
func FuzzCustomerFrame(f *testing.F) {
	store := openStore(f)
	e, _ := NewEngine(EngineConfig{})
	auth, _ := NewAuth(AuthConfig{Store: store, Password: testParams})
	svc, err := NewService(ServiceConfig{Engine: e, Store: store, Auth: auth})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("csat", []byte(`{"rating":5,"comment":"great"}`))
	f.Add("csat", []byte(`{"rating":"5"}`))
	f.Add("csat", []byte(`null`))
	f.Add("handoff.cancel", []byte(`{}`))
	f.Add("other", []byte(``))
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		err := svc.HandleCustomerFrame(context.Background(), chat.CustomerSession{ConvID: "c"}, typ, json.RawMessage(payload))
		var we *chat.WireError
		if err != nil && !errors.As(err, &we) {
			t.Fatalf("%s %q: non-wire error %v", typ, payload, err)
		}
	})
}
