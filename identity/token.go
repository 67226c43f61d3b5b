package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

// Bearer secrets (API tokens and session cookies) carry 256 random bits.
// The store keeps only a SHA-256 of each and finds the row by that hash:
// with that much entropy a slow hash adds nothing, and a lookup by hash
// leaks nothing through its timing, because a guess's hash is unrelated to
// the hashes stored. Where hashes are compared in memory, [EqualHash] does
// it in constant time.

// APITokenPrefix starts every API token, so that people, logs scrubbers and
// secret scanners can tell one at sight.
const APITokenPrefix = "gdn_"

// API token lifetimes. Every token expires: the expiry is the occasion to
// ask whether a machine connection is still wanted.
const (
	DefaultAPITokenLifetime = 180 * 24 * time.Hour
	MaxAPITokenLifetime     = 366 * 24 * time.Hour
)

const secretSize = 32

// apiTokenEncoding is lower-case base32 without padding: letters and
// digits only, safe in a header, a URL, a shell and a YAML file.
var apiTokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var (
	apiTokenLen      = len(APITokenPrefix) + apiTokenEncoding.EncodedLen(secretSize)
	sessionSecretLen = base64.RawURLEncoding.EncodedLen(secretSize)
)

// GenerateAPIToken returns a new token to show its owner once ("gdn_"
// followed by 52 characters of a–z and 2–7) and its hash to store in
// [guardian.APIToken.Hash].
func GenerateAPIToken() (secret, hash string) {
	var b [secretSize]byte
	rand.Read(b[:])
	secret = APITokenPrefix + apiTokenEncoding.EncodeToString(b[:])
	return secret, hashHex(secret)
}

// APITokenHash returns the hash to look a presented token up by, or false if
// it cannot be one of ours (wrong prefix, length or alphabet), in which case
// the caller answers 401 without asking the store.
func APITokenHash(secret string) (string, bool) {
	body, ok := strings.CutPrefix(secret, APITokenPrefix)
	if !ok || len(secret) != apiTokenLen {
		return "", false
	}
	if _, err := apiTokenEncoding.DecodeString(body); err != nil {
		return "", false
	}
	return hashHex(secret), true
}

// CheckAPIToken says whether a token found by its hash may be used at now:
// EUNAUTHORIZED if it was revoked or has expired. Whether its organisation
// is still in the network, and its role allowed there, is for package
// access, which checks it on every request.
func CheckAPIToken(t *guardian.APIToken, now time.Time) error {
	switch {
	case t.RevokedAt != nil:
		return guardian.Errorf(guardian.EUNAUTHORIZED, "This API token has been revoked.")
	case !now.Before(t.ExpiresAt):
		return guardian.Errorf(guardian.EUNAUTHORIZED, "This API token has expired.")
	}
	return nil
}

// GenerateSessionSecret returns a new session secret for the cookie (43
// characters of unpadded base64url) and its hash to store in
// [guardian.Session.Hash].
func GenerateSessionSecret() (secret, hash string) {
	var b [secretSize]byte
	rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashHex(secret)
}

// SessionHash returns the hash to look a presented session secret up by, or
// false if it cannot be one.
func SessionHash(secret string) (string, bool) {
	if len(secret) != sessionSecretLen {
		return "", false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil {
		return "", false
	}
	return hashHex(secret), true
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
