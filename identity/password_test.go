package identity

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// TestArgon2idReference checks the hash and its encoding against the
// argon2id vectors of the reference implementation (phc-winner-argon2,
// src/test.c): password "password", salt "somesalt".
func TestArgon2idReference(t *testing.T) {
	for _, v := range []struct {
		p    argonParams
		want string
	}{
		{argonParams{memory: 256, time: 2, threads: 1}, "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{argonParams{memory: 65536, time: 2, threads: 1}, "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
	} {
		if got := hashPassword("password", v.p, []byte("somesalt")); got != v.want {
			t.Errorf("hash = %s\nwant   %s", got, v.want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %s does not use the current parameters", h)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false},
	} {
		ok, err := VerifyPassword(h, tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("VerifyPassword(%.20q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if PasswordNeedsRehash(h) {
		t.Error("a new hash needs rehashing")
	}
	if _, err := HashPassword(strings.Repeat("x", MaxPasswordLen+1)); err == nil {
		t.Error("HashPassword accepted an over-long password")
	}
}

func TestPasswordNeedsRehash(t *testing.T) {
	salt := make([]byte, argonSalt)
	older := hashPassword("pw", argonParams{memory: 8192, time: 3, threads: 1}, salt)
	if !PasswordNeedsRehash(older) {
		t.Errorf("%s does not need rehashing", older)
	}
	if ok, err := VerifyPassword(older, "pw"); !ok || err != nil {
		t.Errorf("a hash with older parameters does not verify: %v, %v", ok, err)
	}
	longSalt := hashPassword("pw", currentParams, make([]byte, 32))
	if !PasswordNeedsRehash(longSalt) {
		t.Error("a hash with another salt length does not need rehashing")
	}
	if !PasswordNeedsRehash("pbkdf2-sha256$100000$c2FsdA$aGFzaA") {
		t.Error("a hash of another scheme does not need rehashing")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	if _, err := VerifyPassword(good, "x"); err != nil {
		t.Fatalf("the well-formed base case is refused: %v", err)
	}
	for name, h := range map[string]string{
		"empty":            "",
		"argon2i":          strings.Replace(good, "argon2id", "argon2i", 1),
		"version 16":       strings.Replace(good, "v=19", "v=16", 1),
		"no version":       strings.Replace(good, "$v=19", "", 1),
		"params reordered": strings.Replace(good, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1),
		"leading zero":     strings.Replace(good, "m=19456", "m=019456", 1),
		"plus sign":        strings.Replace(good, "m=19456", "m=+19456", 1),
		"extra param":      strings.Replace(good, "p=1", "p=1,k=2", 1),
		"memory too low":   strings.Replace(good, "m=19456", "m=1024", 1),
		"memory too high":  strings.Replace(good, "m=19456", "m=4194304", 1),
		"time zero":        strings.Replace(good, "t=2", "t=0", 1),
		"time too high":    strings.Replace(good, "t=2", "t=1000", 1),
		"threads zero":     strings.Replace(good, "p=1", "p=0", 1),
		"threads too high": strings.Replace(good, "p=1", "p=255", 1),
		"threads overflow": strings.Replace(good, "p=1", "p=257", 1),
		"short salt":       strings.Replace(good, salt, "c29tZXNhbHQ", 1),
		"padded salt":      strings.Replace(good, salt, salt+"==", 1),
		"short key":        strings.Replace(good, key, key[:20], 1),
		"bad base64":       strings.Replace(good, key, key[:40]+"!!!", 1),
		"line break":       strings.Replace(good, key, key[:20]+"\n"+key[20:], 1),
		"trailing":         good + "$",
		"pbkdf2":           "pbkdf2-sha256$100000$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
	} {
		if _, err := VerifyPassword(h, "x"); err == nil {
			t.Errorf("%s: VerifyPassword(%q) accepted it", name, h)
		}
	}
}

func TestVerifyNoUser(t *testing.T) {
	VerifyNoUser("anything") // must not panic, and costs a hash
	if _, err := VerifyPassword(dummyHash(), "x"); err != nil {
		t.Errorf("the dummy hash does not parse: %v", err)
	}
}

func TestCheckNewPassword(t *testing.T) {
	for _, tt := range []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"elevenchars", false},
		{"twelve chars", true},
		{"ñandutí ñandú", true}, // 13 runes, more bytes
		{"ñññññññññññ", false},  // 11 runes, 22 bytes
		{"\xff\xfe invalid utf8!", false},
		{strings.Repeat("a", MaxPasswordLen), true},
		{strings.Repeat("a", MaxPasswordLen+1), false},
	} {
		err := CheckNewPassword(tt.pw)
		if (err == nil) != tt.ok {
			t.Errorf("CheckNewPassword(%.20q) = %v, want ok %v", tt.pw, err, tt.ok)
		}
		if err != nil && guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("CheckNewPassword(%.20q) code %s", tt.pw, guardian.ErrorCode(err))
		}
	}
}

// FuzzParseHash checks that a hash that parses encodes back to the same
// string, so that one hash has one spelling (no malleability).
func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseHash(s)
		if err != nil {
			return
		}
		if got := formatHash(p, salt, key); got != s {
			t.Errorf("parse(%q) encodes as %q", s, got)
		}
		if p.memory > maxArgonMemory || p.time > maxArgonTime || p.threads > maxArgonThreads {
			t.Errorf("parse(%q) accepted parameters %+v beyond the bounds", s, p)
		}
	})
}

// BenchmarkVerifyPassword measures what one sign-in's password check costs,
// the figure behind the parameters' choice (see password.go).
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := VerifyPassword(h, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
