package crypto

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Password hashes are encoded as
//
//	pbkdf2-sha256$<iterations>$<salt>$<hash>
//
// with the iteration count in decimal and the salt and hash in unpadded
// standard base64, as in the PHC string format. Only one spelling of each
// value is accepted, so parsing and re-encoding gives back the same string.
const (
	passwordScheme = "pbkdf2-sha256"

	// passwordIterations is the cost of a new hash: some 15 ms of one core.
	// It is below OWASP's 600,000 for PBKDF2-HMAC-SHA-256 because it
	// matters little here: intake passwords come from GeneratePassword and
	// carry 256 bits, which no amount of guessing reaches, and the cost is
	// paid again for every guess sent to the server. Clients send Basic
	// credentials with every request, so the server caches a successful
	// verification (keyed by a hash of name and password, for a few
	// minutes) instead of paying this on every file upload, and rate-limits
	// failures, which are never cached.
	passwordIterations = 100_000

	// Hashes outside these bounds are rejected as malformed: below, a
	// hash too cheap to be one of ours; above, a row that would pin a core
	// for seconds on every login.
	minPasswordIterations = 10_000
	maxPasswordIterations = 10_000_000

	passwordSaltSize = 16
	maxSaltSize      = 64
	passwordHashSize = sha256.Size
)

var errMalformedHash = errors.New("crypto: malformed password hash")

var passwordEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// GeneratePassword returns a new random password for an intake account: 52
// characters of A–Z and 2–7 carrying 256 bits, safe to paste into a URL, a
// shell or an HTTP Basic credential, which cannot hold a ':'.
func GeneratePassword() string {
	var b [32]byte
	rand.Read(b[:])
	return passwordEncoding.EncodeToString(b[:])
}

// HashPassword returns an encoded PBKDF2-HMAC-SHA-256 hash of pw with a new
// random salt, for storing and later checking with [VerifyPassword].
func HashPassword(pw string) (string, error) {
	salt := make([]byte, passwordSaltSize)
	rand.Read(salt)
	return hashPassword(pw, passwordIterations, salt)
}

func hashPassword(pw string, iter int, salt []byte) (string, error) {
	h, err := pbkdf2.Key(sha256.New, pw, salt, iter, passwordHashSize)
	if err != nil {
		return "", err
	}
	return formatPasswordHash(iter, salt, h), nil
}

// VerifyPassword reports whether pw matches hash, an encoded hash from
// [HashPassword]. A wrong password is false and a nil error; a hash that does
// not parse is an error, since it means a corrupted row rather than a wrong
// guess.
func VerifyPassword(hash, pw string) (bool, error) {
	iter, salt, want, err := parsePasswordHash(hash)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func formatPasswordHash(iter int, salt, hash []byte) string {
	return passwordScheme + "$" + strconv.Itoa(iter) + "$" +
		base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(hash)
}

func parsePasswordHash(s string) (iter int, salt, hash []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return 0, nil, nil, errMalformedHash
	}
	iter, err = strconv.Atoi(parts[1])
	// Comparing with the canonical form rejects "+100000" and "0100000".
	if err != nil || strconv.Itoa(iter) != parts[1] ||
		iter < minPasswordIterations || iter > maxPasswordIterations {
		return 0, nil, nil, errMalformedHash
	}
	salt, ok := decodeCanonical(parts[2])
	if !ok || len(salt) < passwordSaltSize || len(salt) > maxSaltSize {
		return 0, nil, nil, errMalformedHash
	}
	hash, ok = decodeCanonical(parts[3])
	if !ok || len(hash) != passwordHashSize {
		return 0, nil, nil, errMalformedHash
	}
	return iter, salt, hash, nil
}

// decodeCanonical decodes unpadded base64 that is exactly as this package
// encodes it. The decoder alone would also accept line breaks, which it
// skips, and non-zero trailing bits.
func decodeCanonical(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
