package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// ProtocolVersion is the envelope version this server speaks (docs/protocol.md).
const ProtocolVersion = 1

// Frame types. See docs/protocol.md for who sends which.
const (
	TypeHello   = "hello"
	TypeWelcome = "welcome"
	TypeMessage = "message"
	TypeTyping  = "typing"
	TypeAck     = "ack"
	TypeResume  = "resume"
	TypeHistory = "history"
	TypeError   = "error"
	TypeRead    = "read"
	TypeEvent   = "event"
)

// Error codes of error frames.
const (
	CodeBadJSON       = "bad_json"
	CodeBadUTF8       = "bad_utf8"
	CodeBadVersion    = "bad_version"
	CodeUnknownType   = "unknown_type"
	CodeBadRequest    = "bad_request"
	CodeTooLarge      = "too_large"
	CodeRateLimited   = "rate_limited"
	CodeHelloRequired = "hello_required"
	CodeBadToken      = "bad_token"
	CodeTokenExpired  = "token_expired"
	CodeBadIdentity   = "bad_identity"
	CodeNotFound      = "not_found"
	CodeSlowConsumer  = "slow_consumer"
	CodeInternal      = "internal"
	CodeUnavailable   = "unavailable"
)

// Envelope is one frame on the WebSocket, in both directions.
type Envelope struct {
	V       int             `json:"v"`
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Conv    string          `json:"conv,omitempty"`
	Seq     int64           `json:"seq,omitempty"`
	TS      *time.Time      `json:"ts,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// WireError is an error sent to a client in an error frame. Its message is written for the client;
// internal details are never put in it.
type WireError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
	// RetryAfterMS hints when a retryable error may succeed (rate limits).
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

func (e *WireError) Error() string { return e.Code + ": " + e.Message }

func wireErr(code, format string, args ...any) *WireError {
	return &WireError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits on client frames.
const (
	maxIDLen   = 128
	maxConvLen = 128
)

// clientTypes are the frame types a customer may send.
var clientTypes = map[string]bool{
	TypeHello: true, TypeMessage: true, TypeTyping: true, TypeResume: true, TypeHistory: true,
	TypeRead: true, TypeAck: true,
}

// DecodeEnvelope parses one client frame. It checks UTF-8, JSON, the version, the type (known is
// a client type or one listed in extra) and the lengths of id and conv. It never panics; every failure
// is a *WireError for the client.
func DecodeEnvelope(b []byte, extra map[string]bool) (Envelope, *WireError) {
	var env Envelope
	if !utf8.Valid(b) {
		return env, wireErr(CodeBadUTF8, "frame is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&env); err != nil {
		return Envelope{}, wireErr(CodeBadJSON, "frame is not a JSON envelope: %s", jsonReason(err))
	}
	if dec.More() {
		return Envelope{}, wireErr(CodeBadJSON, "frame has data after the JSON envelope")
	}
	if env.V != ProtocolVersion {
		return env, wireErr(CodeBadVersion, "protocol version %d is not supported; use \"v\":%d", env.V, ProtocolVersion)
	}
	if env.Type == "" {
		return env, wireErr(CodeBadRequest, "frame has no type")
	}
	if !clientTypes[env.Type] && !extra[env.Type] {
		t := env.Type
		if len(t) > 32 {
			t = t[:32]
		}
		return env, wireErr(CodeUnknownType, "unknown frame type %q", t)
	}
	if len(env.ID) > maxIDLen {
		return env, wireErr(CodeBadRequest, "id is longer than %d bytes", maxIDLen)
	}
	if len(env.Conv) > maxConvLen {
		return env, wireErr(CodeBadRequest, "conv is longer than %d bytes", maxConvLen)
	}
	if len(env.Payload) > 0 && !bytes.Equal(env.Payload, []byte("null")) && env.Payload[0] != '{' {
		return env, wireErr(CodeBadRequest, "payload must be a JSON object")
	}
	return env, nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case asErr(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	default:
		return "unexpected end of input"
	}
}

// decodePayload decodes a frame's payload into v, reporting a client error.
func decodePayload(p json.RawMessage, v any) *WireError {
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(p, v); err != nil {
		return wireErr(CodeBadRequest, "payload: %s", jsonReason(err))
	}
	return nil
}

// Client payloads.

// helloPayload starts (or, with Token, resumes) a conversation.
type helloPayload struct {
	Token    string `json:"token,omitempty"`    // resume token from an earlier welcome
	LastSeq  int64  `json:"last_seq,omitempty"` // the last seq the client has (resume)
	Customer string `json:"customer,omitempty"` // signed customer identity from the shop
	Locale   string `json:"locale,omitempty"`
}

type messagePayload struct {
	Text  string `json:"text"`
	Reply string `json:"reply,omitempty"` // the payload of the quick reply the customer chose
}

type typingPayload struct {
	State bool `json:"state"`
}

type readPayload struct {
	Seq int64 `json:"seq"`
}

type historyPayload struct {
	Before int64 `json:"before,omitempty"` // 0 = from the end
	Limit  int   `json:"limit,omitempty"`
}

// Server payloads.

type welcomePayload struct {
	Token    string `json:"token"`
	LastSeq  int64  `json:"last_seq"`
	Customer string `json:"customer,omitempty"`
	Resumed  bool   `json:"resumed"`
	Status   string `json:"status,omitempty"`
}

type ackPayload struct {
	Duplicate bool `json:"duplicate,omitempty"`
}
