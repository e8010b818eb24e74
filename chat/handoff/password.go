package handoff

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// ErrBadPasswordHash means a stored hash is not an argon2id PHC string this package can read.
var ErrBadPasswordHash = errors.New("handoff: unreadable password hash")

// MinPasswordLength is the shortest password accepted for an account.
const MinPasswordLength = 10

// maxPasswordLength bounds the work an attacker can make a login do.
const maxPasswordLength = 256

// HashPassword returns the argon2id PHC string of password ($argon2id$v=19$m=..,t=..,p=..$salt$key).
func HashPassword(password string, p PasswordParams) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("%w: password shorter than %d characters", ErrBadInput, MinPasswordLength)
	}
	if len(password) > maxPasswordLength {
		return "", fmt.Errorf("%w: password longer than %d bytes", ErrBadInput, maxPasswordLength)
	}
	if p.Memory == 0 {
		p = DefaultPasswordParams
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC string hash, in time independent of where
// they differ.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrBadPasswordHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, ErrBadPasswordHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return false, ErrBadPasswordHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, ErrBadPasswordHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, ErrBadPasswordHash
	}
	if len(password) > maxPasswordLength {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
