package chat

import (
	"testing"
	"unicode/utf8"
)

func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"hello"}`,
		`{"v":1,"type":"message","id":"c1","payload":{"text":"where is my order?"}}`,
		`{"v":1,"type":"resume","payload":{"token":"a.b","last_seq":3}}`,
		`{"v":1,"type":"history","id":"h","payload":{"before":10,"limit":20}}`,
		`{"v":2,"type":"hello"}`, `{"v":1}`, `[]`, `null`, `{"v":1,"type":"message","payload":"x"}`,
		"{\"v\":1,\"type\":\"\xff\"}", `{"v":1e400}`, `{"v":1,"type":"hello"}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b, nil)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("error without code or message: %+v", err)
			}
			return
		}
		if !utf8.Valid(b) || env.V != ProtocolVersion || !clientTypes[env.Type] {
			t.Fatalf("accepted %q as %+v", b, env)
		}
		var p messagePayload
		_ = decodePayload(env.Payload, &p)
	})
}
