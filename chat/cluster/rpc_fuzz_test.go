package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/shopchat/shopchat/chat/handoff"
)

// FuzzLeaderCall feeds arbitrary call frames, as another node could send them, to the leader's
// decoding and engine: never a panic, and every refusal carries an error kind the caller can test.
func FuzzLeaderCall(f *testing.F) {
	for _, s := range []string{
		`{"op":"request","request":{"ConvID":"c1"}}`,
		`{"op":"claim","conv":"c1","actor":{"AgentID":"a1"}}`,
		`{"op":"set_agent","info":{"id":"a1","status":"online","max_concurrent":2}}`,
		`{"op":"set_status","info":{"id":"a1"},"status":"sleepy"}`,
		`{"op":"queue_head","limit":-5}`,
		`{"op":"transfer_skill","conv":"c1","to":"` + string(make([]byte, 80)) + `"}`,
		`{"op":"nope"}`, `{}`, `[]`, `{"op":"get","conv":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := handoff.NewEngine(handoff.EngineConfig{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, _ = e.SetAgent(ctx, handoff.AgentInfo{ID: "a1", Status: handoff.AgentOnline})
		_, _ = e.Request(ctx, handoff.Request{ConvID: "c1"})
		var r rpcReq
		if json.Unmarshal(data, &r) != nil {
			return
		}
		if r.Op == "queue_head" && (r.Limit < 0 || r.Limit > 1000) {
			r.Limit = 10 // the engine's own bound is the caller's business; not under test here
		}
		out := execOn(ctx, e, r)
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
		var back rpcResp
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		if back.Err != nil {
			err := back.Err.err()
			if err == nil || err.Error() == "" {
				t.Fatalf("empty error for %q", data)
			}
			var te *handoff.TransitionError
			if back.Err.Kind == "transition" && !errors.As(err, &te) {
				t.Fatalf("transition error lost its type: %v", err)
			}
		}
	})
}
