package chat

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkRoundTrip measures one customer message through the whole server over a real socket on
// 127.0.0.1: store with entities, ack, dialogue (FAQ, templates, order lookup), store the answer,
// send it. The classifier is the keyword stand-in (the neural model has its own benchmarks in
// package intents). Run in parallel from GOMAXPROCS×4 conversations.
func BenchmarkRoundTrip(b *testing.B) {
	st := demoStore(b)
	e := startBotB(b, st)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ws, _, err := websocket.DefaultDialer.Dial(e.url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		defer ws.Close()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"hello"}`))
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Error(err)
			return
		}
		texts := []string{"hello", "what payment methods do you accept?", "How long does delivery take?", "thanks"}
		for i := 0; pb.Next(); i++ {
			id := n.Add(1)
			msg, _ := json.Marshal(Envelope{V: 1, Type: TypeMessage, ID: fmt.Sprint("m", id), Payload: json.RawMessage(fmt.Sprintf(`{"text":%q}`, texts[i%len(texts)]))})
			if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				b.Error(err)
				return
			}
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					b.Error(err)
					return
				}
				var env Envelope
				_ = json.Unmarshal(data, &env)
				if env.Type == TypeMessage {
					break
				}
			}
		}
	})
}
