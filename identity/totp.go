package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// The second factor is TOTP (RFC 6238) as every authenticator app does it:
// HMAC-SHA-1, 6 digits, 30-second steps counted from the Unix epoch. Those
// are the defaults of the Key Uri Format that apps read, and several apps
// ignore any other algorithm or digit count in the URI, so nothing here is
// configurable.
const (
	// TOTPPeriod is the length of one time step.
	TOTPPeriod = 30 * time.Second
	// TOTPDigits is the length of a code.
	TOTPDigits = 6
	// TOTPSkew is how many steps before and after the current one are also
	// accepted, for clocks that differ and codes typed slowly (RFC 6238
	// §5.2 recommends at most one).
	TOTPSkew = 1

	// totpSecretSize is 160 bits, the length RFC 4226 §4 recommends and
	// the HMAC-SHA-1 block's natural key size.
	totpSecretSize = 20
	// minTOTPSecretSize is RFC 4226's minimum of 128 bits.
	minTOTPSecretSize = 16
	maxTOTPSecretSize = 64
)

// totpEncoding is how the secret is shown and put in the URI: RFC 4648
// base32 without padding, as the Key Uri Format asks.
var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPKey is a person's TOTP secret. Its bytes are stored encrypted (see
// [guardian.User.TOTPSecret]); it prints as a redacted placeholder.
type TOTPKey struct {
	secret []byte
}

// GenerateTOTPKey returns a new random key.
func GenerateTOTPKey() *TOTPKey {
	k := &TOTPKey{secret: make([]byte, totpSecretSize)}
	rand.Read(k.secret)
	return k
}

// NewTOTPKey returns the key with the given secret bytes, as [TOTPKey.Bytes]
// returned them (after decryption). It copies secret.
func NewTOTPKey(secret []byte) (*TOTPKey, error) {
	if len(secret) < minTOTPSecretSize || len(secret) > maxTOTPSecretSize {
		return nil, fmt.Errorf("identity: TOTP secret of %d bytes; want %d to %d", len(secret), minTOTPSecretSize, maxTOTPSecretSize)
	}
	return &TOTPKey{secret: append([]byte(nil), secret...)}, nil
}

// Bytes returns a copy of the secret, to be encrypted for the store.
func (k *TOTPKey) Bytes() []byte { return append([]byte(nil), k.secret...) }

// Base32 returns the secret as a person types it into an app that cannot
// read the QR code: RFC 4648 base32 without padding.
func (k *TOTPKey) Base32() string { return totpEncoding.EncodeToString(k.secret) }

// String hides the secret.
func (k *TOTPKey) String() string { return "TOTPKey(redacted)" }

// GoString hides the secret from %#v.
func (k *TOTPKey) GoString() string { return k.String() }

// LogValue hides the secret from log/slog.
func (k *TOTPKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// URI returns the otpauth:// URI that an authenticator app reads from a QR
// code, in the Key Uri Format: the label is "issuer:account", and issuer is
// repeated as a parameter because some apps read only one of the two. The
// algorithm, digits and period are given explicitly although they are the
// defaults, so that an app that assumes otherwise is told.
func (k *TOTPKey) URI(issuer, account string) string {
	// The label is a path segment: spaces are %20, and the ':' between
	// issuer and account must stay literal, so each part is escaped alone.
	// Neither part may contain ':' itself, which would move the split.
	issuer = strings.ReplaceAll(issuer, ":", "")
	account = strings.ReplaceAll(account, ":", "")
	q := url.Values{}
	q.Set("secret", k.Base32())
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	// Encode writes a space as '+', which some apps show literally.
	query := strings.ReplaceAll(q.Encode(), "+", "%20")
	return "otpauth://totp/" + url.PathEscape(issuer) + ":" + url.PathEscape(account) + "?" + query
}

// TOTPStep returns the time step that t falls in.
func TOTPStep(t time.Time) int64 {
	return t.Unix() / int64(TOTPPeriod/time.Second)
}

// Code returns the code of the step that t falls in; for tests and the
// enrolment page's self-check, not for verification.
func (k *TOTPKey) Code(t time.Time) string {
	return hotp(sha1.New, k.secret, uint64(TOTPStep(t)), TOTPDigits)
}

// Verify checks a code typed at now, accepting the current step and
// [TOTPSkew] steps either side. lastStep is the last step accepted for this
// person ([guardian.User.TOTPLastStep]): a code of that step or an earlier
// one is refused, so that a code seen over a shoulder or replayed from a log
// cannot be used a second time (RFC 6238 §5.2). On success it returns the
// step, which the caller stores with a compare-and-set
// ([guardian.UserStore.RecordSignIn]) so that two sign-ins racing with the
// same code cannot both pass.
//
// A code that is not exactly [TOTPDigits] ASCII digits (spaces are removed
// first) is refused without computing anything.
func (k *TOTPKey) Verify(code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != TOTPDigits || strings.ContainsFunc(code, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	cur := TOTPStep(now)
	// Every step of the window is computed and compared, so the time taken
	// does not say which one matched.
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		if s < 0 {
			continue
		}
		want := hotp(sha1.New, k.secret, uint64(s), TOTPDigits)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// hotp is RFC 4226's HOTP with RFC 6238's choice of hash: dynamic truncation
// of HMAC(secret, counter) to digits decimal digits.
func hotp(h func() hash.Hash, secret []byte, counter uint64, digits int) string {
	mac := hmac.New(h, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// errBadTOTPSecret is returned for a base32 secret that does not decode.
var errBadTOTPSecret = errors.New("identity: TOTP secret is not base32 of 16 to 64 bytes")

// ParseTOTPKey reads a secret as [TOTPKey.Base32] writes it (upper or lower
// case, spaces and padding ignored), for keys moved from another system.
func ParseTOTPKey(s string) (*TOTPKey, error) {
	s = strings.ToUpper(strings.TrimRight(strings.ReplaceAll(s, " ", ""), "="))
	b, err := totpEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadTOTPSecret
	}
	k, err := NewTOTPKey(b)
	if err != nil {
		return nil, errBadTOTPSecret
	}
	return k, nil
}
