package identity

import (
	"regexp"
	"strings"
	"testing"
)

func TestGenerateRecoveryCodes(t *testing.T) {
	codes, hashes := GenerateRecoveryCodes()
	if len(codes) != RecoveryCodeCount || len(hashes) != RecoveryCodeCount {
		t.Fatalf("got %d codes and %d hashes, want %d", len(codes), len(hashes), RecoveryCodeCount)
	}
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q is not xxxx-xxxx-xxxx-xxxx of Crockford's alphabet", c)
		}
		if seen[c] {
			t.Errorf("code %q given twice", c)
		}
		seen[c] = true
		if h, ok := RecoveryCodeHash(c); !ok || h != hashes[i] {
			t.Errorf("hash of code %d = %q, %v; want %q", i, h, ok, hashes[i])
		}
		if strings.Contains(hashes[i], c) || len(hashes[i]) != 64 {
			t.Errorf("stored form %q is not a hex SHA-256", hashes[i])
		}
	}
}

func TestMatchRecoveryCode(t *testing.T) {
	codes, hashes := GenerateRecoveryCodes()
	c := codes[3]
	typed := map[string]bool{
		c:                                 true,
		strings.ToUpper(c):                true,
		strings.ReplaceAll(c, "-", ""):    true,
		strings.ReplaceAll(c, "-", " "):   true,
		" " + c + " ":                     true,
		c[:len(c)-1]:                      false,
		c + "0":                           false,
		strings.Repeat("0", 16):           false,
		"":                                false,
		strings.Repeat(c, 100):            false,
		strings.Replace(c, c[:1], "u", 1): false, // u is not in the alphabet
	}
	for code, want := range typed {
		h, ok := MatchRecoveryCode(code, hashes)
		if ok != want || (ok && h != hashes[3]) {
			t.Errorf("MatchRecoveryCode(%q) = %q, %v; want %v", code, h, ok, want)
		}
	}
	// Once the store has removed the hash, the code no longer matches.
	rest := append(append([]string(nil), hashes[:3]...), hashes[4:]...)
	if _, ok := MatchRecoveryCode(c, rest); ok {
		t.Error("a used code still matches")
	}
}

func TestRecoveryCodeLookAlikes(t *testing.T) {
	// i and l read as 1, o as 0, whatever the case.
	a, ok1 := RecoveryCodeHash("1111-0000-abcd-efgh")
	b, ok2 := RecoveryCodeHash("iLlI-oOoO-ABCD-EFGH")
	if !ok1 || !ok2 || a != b {
		t.Errorf("look-alikes hash differently: %q %v, %q %v", a, ok1, b, ok2)
	}
}
