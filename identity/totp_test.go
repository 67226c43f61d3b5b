package identity

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHOTPRFC4226 checks the 6-digit HOTP values of RFC 4226 Appendix D.
func TestHOTPRFC4226(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := hotp(sha1.New, secret, uint64(i), 6); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, w)
		}
	}
}

// TestTOTPRFC6238 checks the test vectors of RFC 6238 Appendix B. The RFC
// gives 8 digits; a 6-digit code is the same number modulo 10^6, so the last
// six digits are checked through the key's own Code too (SHA-1 only, as
// TOTPKey uses).
func TestTOTPRFC6238(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	hashes := map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}
	vectors := []struct {
		unix int64
		step string // T in hex, as the RFC's table gives it
		mode string
		totp string
	}{
		{59, "0000000000000001", "SHA1", "94287082"},
		{59, "0000000000000001", "SHA256", "46119246"},
		{59, "0000000000000001", "SHA512", "90693936"},
		{1111111109, "00000000023523EC", "SHA1", "07081804"},
		{1111111109, "00000000023523EC", "SHA256", "68084774"},
		{1111111109, "00000000023523EC", "SHA512", "25091201"},
		{1111111111, "00000000023523ED", "SHA1", "14050471"},
		{1111111111, "00000000023523ED", "SHA256", "67062674"},
		{1111111111, "00000000023523ED", "SHA512", "99943326"},
		{1234567890, "000000000273EF07", "SHA1", "89005924"},
		{1234567890, "000000000273EF07", "SHA256", "91819424"},
		{1234567890, "000000000273EF07", "SHA512", "93441116"},
		{2000000000, "0000000003F940AA", "SHA1", "69279037"},
		{2000000000, "0000000003F940AA", "SHA256", "90698825"},
		{2000000000, "0000000003F940AA", "SHA512", "38618901"},
		{20000000000, "0000000027BC86AA", "SHA1", "65353130"},
		{20000000000, "0000000027BC86AA", "SHA256", "77737706"},
		{20000000000, "0000000027BC86AA", "SHA512", "47863826"},
	}
	for _, v := range vectors {
		t.Run(fmt.Sprintf("%d/%s", v.unix, v.mode), func(t *testing.T) {
			at := time.Unix(v.unix, 0)
			step := TOTPStep(at)
			if got := fmt.Sprintf("%016X", step); got != v.step {
				t.Fatalf("step = %s, want %s", got, v.step)
			}
			if got := hotp(hashes[v.mode], seeds[v.mode], uint64(step), 8); got != v.totp {
				t.Errorf("8-digit TOTP = %s, want %s", got, v.totp)
			}
			if got, want := hotp(hashes[v.mode], seeds[v.mode], uint64(step), 6), v.totp[2:]; got != want {
				t.Errorf("6-digit TOTP = %s, want %s", got, want)
			}
			if v.mode != "SHA1" {
				return
			}
			k, err := NewTOTPKey(seeds["SHA1"])
			if err != nil {
				t.Fatal(err)
			}
			if got, want := k.Code(at), v.totp[2:]; got != want {
				t.Errorf("Code = %s, want %s", got, want)
			}
			if s, ok := k.Verify(v.totp[2:], at, 0); !ok || s != step {
				t.Errorf("Verify = %d, %v; want %d, true", s, ok, step)
			}
		})
	}
}

func TestTOTPVerify(t *testing.T) {
	k := GenerateTOTPKey()
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	cur := TOTPStep(now)
	code := func(step int64) string { return k.Code(time.Unix(step*30, 0)) }

	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64 // 0: refused
	}{
		{"current", code(cur), 0, cur},
		{"previous step", code(cur - 1), 0, cur - 1},
		{"next step", code(cur + 1), 0, cur + 1},
		{"two steps back", code(cur - 2), 0, 0},
		{"two steps ahead", code(cur + 2), 0, 0},
		{"with spaces", code(cur)[:3] + " " + code(cur)[3:], 0, cur},
		{"replayed", code(cur), cur, 0},
		{"older than the last accepted", code(cur - 1), cur, 0},
		{"after an earlier one", code(cur), cur - 1, cur},
		{"five digits", code(cur)[:5], 0, 0},
		{"seven digits", code(cur) + "0", 0, 0},
		{"letters", "12345a", 0, 0},
		{"fullwidth digits", "１２３４５６", 0, 0},
		{"empty", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := k.Verify(tt.code, now, tt.lastStep)
			if ok != (tt.wantStep != 0) || step != tt.wantStep {
				t.Errorf("Verify(%q, last %d) = %d, %v; want %d", tt.code, tt.lastStep, step, ok, tt.wantStep)
			}
		})
	}
}

func TestTOTPKeyRoundTrip(t *testing.T) {
	k := GenerateTOTPKey()
	if len(k.Bytes()) != 20 {
		t.Fatalf("secret of %d bytes, want 20", len(k.Bytes()))
	}
	b32 := k.Base32()
	if len(b32) != 32 || strings.ContainsAny(b32, "=") {
		t.Errorf("Base32 = %q, want 32 characters without padding", b32)
	}
	for _, s := range []string{b32, strings.ToLower(b32), b32[:4] + " " + b32[4:]} {
		k2, err := ParseTOTPKey(s)
		if err != nil {
			t.Fatalf("ParseTOTPKey(%q): %v", s, err)
		}
		if string(k2.Bytes()) != string(k.Bytes()) {
			t.Errorf("ParseTOTPKey(%q) gave another key", s)
		}
	}
	for _, s := range []string{"", "AAAA", "not base32!", strings.Repeat("A", 200)} {
		if _, err := ParseTOTPKey(s); err == nil {
			t.Errorf("ParseTOTPKey(%q) succeeded", s)
		}
	}
	// Bytes returns a copy: changing it changes nothing.
	b := k.Bytes()
	b[0] ^= 0xff
	if k.Bytes()[0] == b[0] {
		t.Error("Bytes shares the key's memory")
	}
}

func TestTOTPKeyRedacted(t *testing.T) {
	k := GenerateTOTPKey()
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), logged.String()} {
		if strings.Contains(s, k.Base32()) || strings.Contains(s, fmt.Sprint(k.Bytes())) || !strings.Contains(s, "redacted") {
			t.Errorf("key printed as %q", s)
		}
	}
}

func TestTOTPURI(t *testing.T) {
	k, err := NewTOTPKey([]byte("12345678901234567890"))
	if err != nil {
		t.Fatal(err)
	}
	got := k.URI("Guardian Demo Hub", "ana.investigator@example.org")
	want := "otpauth://totp/Guardian%20Demo%20Hub:ana.investigator@example.org?algorithm=SHA1&digits=6&issuer=Guardian%20Demo%20Hub&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got != want {
		t.Errorf("URI =\n%s\nwant\n%s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("issuer") != "Guardian Demo Hub" {
		t.Errorf("parsed as %+v", u)
	}
	// A ':' in either part would move the issuer/account split.
	if got := k.URI("A:B", "c:d"); !strings.HasPrefix(got, "otpauth://totp/AB:cd?") {
		t.Errorf("URI with colons = %s", got)
	}
}

func TestNewTOTPKeyLength(t *testing.T) {
	for _, n := range []int{0, 15, 65} {
		if _, err := NewTOTPKey(make([]byte, n)); err == nil {
			t.Errorf("NewTOTPKey(%d bytes) succeeded", n)
		}
	}
}
