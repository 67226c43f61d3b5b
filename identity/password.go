package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/guardian-network/guardian"
)

// Password hashes are argon2id (RFC 9106) in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with the salt and hash in unpadded standard base64. Only this one
// spelling of a given hash is accepted, so a hash parsed and encoded again
// is the same string.
//
// The cost is OWASP's first recommendation for argon2id (m=19 MiB, t=2,
// p=1) rather than RFC 9106's second (m=64 MiB, t=3, p=4), for three
// reasons:
//
//   - One lane (p=1) keeps a hash on one core, which is what the server's
//     bound on concurrent hashes counts (half the processors): four lanes
//     would let those hashes take every core.
//   - 19 MiB times that bound is what a burst of sign-ins costs in memory;
//     64 MiB would make it some 0.5 GiB on a 16-core host for no gain a
//     person notices.
//   - People sign in once per session (12 hours at most), so the cost
//     lands rarely; it buys memory-hardness against offline guessing of a
//     stolen database, which is the reason for argon2id over the PBKDF2 that
//     reporters' machine passwords (256 random bits) use.
//
// Measured on the development host: 30–80 ms per hash.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSalt    = 16
	argonKey     = 32

	// A stored hash outside these bounds is malformed: below, too cheap to
	// be one of ours; above, a row that would pin a core or memory for
	// seconds on every sign-in.
	minArgonMemory  = 8 * 1024
	maxArgonMemory  = 256 * 1024
	maxArgonTime    = 10
	maxArgonThreads = 8
	maxArgonSalt    = 64
)

// Password lengths. Passwords are compared as the bytes given, without
// Unicode normalisation; the pages send UTF-8.
const (
	// MinPasswordLen is in characters (runes), as NIST SP 800-63B counts
	// them; with a second factor always required, 12 is ample.
	MinPasswordLen = 12
	// MaxPasswordLen is in bytes. argon2 reads the whole password, so a
	// bound keeps a stranger from making each guess longer to cost more.
	MaxPasswordLen = 1024
)

// argonParams are the cost parameters of one hash.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

var currentParams = argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}

var errMalformedHash = errors.New("identity: malformed password hash")

// CheckNewPassword checks a password a person chose: at least
// [MinPasswordLen] characters and at most [MaxPasswordLen] bytes of UTF-8.
// Its error is EINVALID with a message for the person.
func CheckNewPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return guardian.Errorf(guardian.EINVALID, "The password is not valid text.")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return guardian.Errorf(guardian.EINVALID, "A password must have at least %d characters.", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return guardian.Errorf(guardian.EINVALID, "A password may have at most %d bytes.", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns the argon2id hash of pw with a new random salt, for
// storing and later checking with [VerifyPassword]. It refuses a password
// longer than [MaxPasswordLen]; callers check a new password with
// [CheckNewPassword] first.
func HashPassword(pw string) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("identity: password longer than %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, argonSalt)
	rand.Read(salt)
	return hashPassword(pw, currentParams, salt), nil
}

func hashPassword(pw string, p argonParams, salt []byte) string {
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, argonKey)
	return formatHash(p, salt, key)
}

// VerifyPassword reports whether pw matches hash, a string from
// [HashPassword]. A wrong password is false and a nil error; a hash that does
// not parse is an error, since it means a corrupted row rather than a wrong
// guess. A password longer than [MaxPasswordLen] is false without hashing.
//
// It costs a full hash: callers throttle before calling it (see the package
// documentation).
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, want, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is what VerifyNoUser checks against, made on first use.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such user")
	return h
})

// VerifyNoUser costs what [VerifyPassword] costs and always fails. Call it
// when the name given at sign-in has no user, so that the time taken does
// not tell which names exist.
func VerifyNoUser(pw string) {
	_, _ = VerifyPassword(dummyHash(), pw)
}

// PasswordNeedsRehash reports whether hash was made with other parameters
// than [HashPassword] uses now, or does not parse. After a successful
// [VerifyPassword] the caller hashes the password again and stores it, so
// that raising the cost reaches every account that signs in.
func PasswordNeedsRehash(hash string) bool {
	p, salt, key, err := parseHash(hash)
	return err != nil || p != currentParams || len(salt) != argonSalt || len(key) != argonKey
}

func formatHash(p argonParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parseHash reads a PHC argon2id string with bounded parameters.
func parseHash(s string) (p argonParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errMalformedHash
	}
	var m, t, th uint64
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, errMalformedHash
	}
	for i, want := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], want)
		n, err := strconv.ParseUint(v, 10, 32)
		// Comparing with the canonical form rejects "+19456" and "019456".
		if !ok || err != nil || strconv.FormatUint(n, 10) != v {
			return p, nil, nil, errMalformedHash
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			th = n
		}
	}
	if th < 1 || th > maxArgonThreads || t < 1 || t > maxArgonTime ||
		m < minArgonMemory || m > maxArgonMemory || m < 8*th {
		return p, nil, nil, errMalformedHash
	}
	salt, ok := decodeCanonical(parts[4])
	if !ok || len(salt) < argonSalt || len(salt) > maxArgonSalt {
		return p, nil, nil, errMalformedHash
	}
	key, ok = decodeCanonical(parts[5])
	if !ok || len(key) != argonKey {
		return p, nil, nil, errMalformedHash
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(th)}, salt, key, nil
}

// decodeCanonical decodes unpadded base64 that is exactly as this package
// encodes it: the decoder alone would also skip line breaks and accept
// non-zero trailing bits.
func decodeCanonical(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
