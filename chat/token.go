package chat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Token errors.
var (
	// ErrBadToken means a token is malformed or its signature does not match.
	ErrBadToken = errors.New("chat: bad token")
	// ErrTokenExpired means a token's signature is valid but it has expired.
	ErrTokenExpired = errors.New("chat: token expired")
)

var b64 = base64.RawURLEncoding

// sessionClaims are what a resume token says: the conversation it resumes and the verified customer,
// if any. The token is signed with the server's secret.
type sessionClaims struct {
	Conv     string `json:"c"`
	Customer string `json:"u,omitempty"`
	Expires  int64  `json:"x"`
}

// tokenSigner signs and verifies resume tokens. It is safe for concurrent use (immutable).
type tokenSigner struct {
	key []byte
	ttl time.Duration
}

func (s tokenSigner) sign(c sessionClaims) string {
	body, _ := json.Marshal(c)
	p := b64.EncodeToString(body)
	return p + "." + b64.EncodeToString(s.mac([]byte(p)))
}

func (s tokenSigner) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("shopchat-resume-v1\x00"))
	m.Write(b)
	return m.Sum(nil)
}

func (s tokenSigner) verify(tok string, now time.Time) (sessionClaims, error) {
	var c sessionClaims
	if len(tok) > 1024 {
		return c, ErrBadToken
	}
	p, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return c, ErrBadToken
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac([]byte(p))) {
		return c, ErrBadToken
	}
	body, err := b64.DecodeString(p)
	if err != nil || json.Unmarshal(body, &c) != nil || c.Conv == "" {
		return sessionClaims{}, ErrBadToken
	}
	if now.Unix() >= c.Expires {
		return sessionClaims{}, ErrTokenExpired
	}
	return c, nil
}

// Identity is a customer identity the shop vouched for.
type Identity struct {
	CustomerID string
	Expires    time.Time
}

// VerifyIdentity checks a customer identity signed by the shop with secret, in one of two forms:
//
//   - a JWT signed with HS256 whose "sub" is the customer id and "exp" its expiry (required);
//   - "v1.CUSTOMER_ID.EXPIRY_UNIX.HEX_HMAC" where HEX_HMAC is hex(HMAC-SHA256(secret,
//     "CUSTOMER_ID.EXPIRY_UNIX")).
//
// It returns ErrBadToken or ErrTokenExpired. It is safe for concurrent use.
func VerifyIdentity(token string, secret []byte, now time.Time) (Identity, error) {
	if len(secret) == 0 || len(token) > 4096 {
		return Identity{}, ErrBadToken
	}
	if strings.HasPrefix(token, "v1.") {
		return verifyHMACIdentity(token, secret, now)
	}
	return verifyJWT(token, secret, now)
}

// SignIdentity returns the "v1." HMAC form of a customer identity (for shops, tests and the demo).
func SignIdentity(customerID string, expires time.Time, secret []byte) string {
	msg := customerID + "." + strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return "v1." + msg + "." + hex.EncodeToString(m.Sum(nil))
}

func verifyHMACIdentity(token string, secret []byte, now time.Time) (Identity, error) {
	rest := strings.TrimPrefix(token, "v1.")
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return Identity{}, ErrBadToken
	}
	msg, sig := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(msg, '.')
	if j <= 0 {
		return Identity{}, ErrBadToken
	}
	id, expS := msg[:j], msg[j+1:]
	got, err := hex.DecodeString(sig)
	if err != nil {
		return Identity{}, ErrBadToken
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	if !hmac.Equal(got, m.Sum(nil)) {
		return Identity{}, ErrBadToken
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil {
		return Identity{}, ErrBadToken
	}
	if now.Unix() >= exp {
		return Identity{}, ErrTokenExpired
	}
	return Identity{CustomerID: id, Expires: time.Unix(exp, 0)}, nil
}

func verifyJWT(token string, secret []byte, now time.Time) (Identity, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Identity{}, ErrBadToken
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return Identity{}, ErrBadToken
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return Identity{}, ErrBadToken // never "none", never another algorithm
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return Identity{}, ErrBadToken
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return Identity{}, ErrBadToken
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return Identity{}, ErrBadToken
	}
	var cl struct {
		Sub string  `json:"sub"`
		Exp float64 `json:"exp"`
		Nbf float64 `json:"nbf"`
	}
	if json.Unmarshal(cb, &cl) != nil || cl.Sub == "" || cl.Exp == 0 {
		return Identity{}, ErrBadToken
	}
	if cl.Nbf != 0 && float64(now.Unix()) < cl.Nbf {
		return Identity{}, ErrBadToken
	}
	if float64(now.Unix()) >= cl.Exp {
		return Identity{}, ErrTokenExpired
	}
	return Identity{CustomerID: cl.Sub, Expires: time.Unix(int64(cl.Exp), 0)}, nil
}

// SignJWT returns an HS256 JWT for a customer (for tests and the demo page; shops use any JWT library).
func SignJWT(customerID string, expires time.Time, secret []byte) string {
	h := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(map[string]any{"sub": customerID, "exp": expires.Unix()})
	p := h + "." + b64.EncodeToString(body)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	return p + "." + b64.EncodeToString(m.Sum(nil))
}
