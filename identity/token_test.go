package identity

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestAPIToken(t *testing.T) {
	secret, hash := GenerateAPIToken()
	if !regexp.MustCompile(`^gdn_[a-z2-7]{52}$`).MatchString(secret) {
		t.Errorf("token %q is not gdn_ and 52 base32 characters", secret)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(hash) || strings.Contains(hash, secret[4:]) {
		t.Errorf("hash %q is not a hex SHA-256", hash)
	}
	if h, ok := APITokenHash(secret); !ok || !EqualHash(h, hash) {
		t.Errorf("APITokenHash(new token) = %q, %v; want %q", h, ok, hash)
	}
	other, _ := GenerateAPIToken()
	if other == secret {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{
		"",
		secret[4:],                      // no prefix
		"GDN_" + secret[4:],             // prefix in upper case
		secret[:len(secret)-1],          // short
		secret + "a",                    // long
		secret[:10] + "1" + secret[11:], // 1 is not in the alphabet
		strings.ToUpper(secret),
		"Bearer " + secret,
	} {
		if h, ok := APITokenHash(bad); ok {
			t.Errorf("APITokenHash(%q) = %q, true", bad, h)
		}
	}
}

func TestCheckAPIToken(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	tests := []struct {
		name string
		tok  guardian.APIToken
		ok   bool
	}{
		{"valid", guardian.APIToken{ExpiresAt: future}, true},
		{"expires now", guardian.APIToken{ExpiresAt: now}, false},
		{"expired", guardian.APIToken{ExpiresAt: past}, false},
		{"revoked", guardian.APIToken{ExpiresAt: future, RevokedAt: &past}, false},
		{"no expiry set", guardian.APIToken{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAPIToken(&tt.tok, now)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckAPIToken = %v, want ok %v", err, tt.ok)
			}
			if err != nil && guardian.ErrorCode(err) != guardian.EUNAUTHORIZED {
				t.Errorf("code %s, want %s", guardian.ErrorCode(err), guardian.EUNAUTHORIZED)
			}
		})
	}
}

func TestSessionSecret(t *testing.T) {
	secret, hash := GenerateSessionSecret()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Errorf("session secret %q is not 43 characters of base64url", secret)
	}
	if h, ok := SessionHash(secret); !ok || h != hash {
		t.Errorf("SessionHash = %q, %v; want %q", h, ok, hash)
	}
	for _, bad := range []string{"", secret[:42], secret + "A", secret[:42] + "+", secret[:42] + "="} {
		if _, ok := SessionHash(bad); ok {
			t.Errorf("SessionHash(%q) accepted it", bad)
		}
	}
	if EqualHash(hash, hash[:63]+"0") && hash[63] != '0' {
		t.Error("EqualHash of different hashes is true")
	}
}
