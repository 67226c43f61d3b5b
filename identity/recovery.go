package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Recovery codes stand in for the second factor when a person has lost the
// device. Each is 16 characters of Crockford's base32 alphabet in groups of
// four, "7kq2-m9xd-4hwz-p0ae": 80 random bits. That is more than the 60 a
// three-group code would carry because only a SHA-256 of each code is
// stored, and 80 bits keep a stolen database from being searched for them;
// a slow hash would instead make each sign-in check ten slow hashes.
// Crockford's alphabet leaves out i, l, o and u, and reading maps i and l to
// 1 and o to 0, so codes survive being read aloud or copied by hand.
const (
	// RecoveryCodeCount is how many codes a person is given at once.
	RecoveryCodeCount = 10

	recoveryGroups    = 4
	recoveryGroupLen  = 4
	recoveryCodeChars = recoveryGroups * recoveryGroupLen
	recoveryAlphabet  = "0123456789abcdefghjkmnpqrstvwxyz"
)

// GenerateRecoveryCodes returns [RecoveryCodeCount] new codes to show the
// person once, and their hashes ([RecoveryCodeHash]) to store.
func GenerateRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodeCount {
		// 16 characters of 5 bits: 80 bits, one random byte per character
		// masked to 5 bits, which keeps each character uniform.
		var b [recoveryCodeChars]byte
		rand.Read(b[:])
		var sb strings.Builder
		for i, c := range b {
			if i > 0 && i%recoveryGroupLen == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[c&31])
		}
		code := sb.String()
		h, _ := RecoveryCodeHash(code)
		codes, hashes = append(codes, code), append(hashes, h)
	}
	return codes, hashes
}

// normaliseRecoveryCode returns the 16 characters of a code as typed, in
// lower case with hyphens and spaces removed and look-alikes mapped, or
// false if it is not one.
func normaliseRecoveryCode(code string) (string, bool) {
	if len(code) > 4*recoveryCodeChars {
		return "", false // refuse long input before looking at it
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(code) {
		switch r {
		case '-', ' ':
			continue
		case 'i', 'l':
			r = '1'
		case 'o':
			r = '0'
		}
		if r > 0x7f || !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != recoveryCodeChars {
		return "", false
	}
	return sb.String(), true
}

// RecoveryCodeHash returns the stored form of a code: the lower-case hex
// SHA-256 of its normalised characters. It is false for input that cannot be
// a code.
func RecoveryCodeHash(code string) (string, bool) {
	n, ok := normaliseRecoveryCode(code)
	if !ok {
		return "", false
	}
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:]), true
}

// MatchRecoveryCode reports which of the stored hashes (a person's unused
// codes) the typed code matches. The caller then removes that hash with
// [guardian.UserStore.UseRecoveryCode], which fails if a concurrent request
// used it first: that is what makes each code single-use. Every hash is
// compared, in constant time, so the time taken says nothing about which.
func MatchRecoveryCode(code string, hashes []string) (hash string, ok bool) {
	h, valid := RecoveryCodeHash(code)
	if !valid {
		return "", false
	}
	for _, s := range hashes {
		if subtle.ConstantTimeCompare([]byte(h), []byte(s)) == 1 {
			hash, ok = s, true
		}
	}
	return hash, ok
}
