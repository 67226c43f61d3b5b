package crypto

import (
	"regexp"
	"strings"
	"testing"
)

// katPasswordHash comes from testdata/vectors.py (Python's hashlib).
const katPasswordHash = "pbkdf2-sha256$10000$AAECAwQFBgcICQoLDA0ODw$2flfZcLfnShdJogjAMpb4p4+1QBVZmODXExi4nBRUCI"

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw := GeneratePassword()
		if !regexp.MustCompile(`^[A-Z2-7]{52}$`).MatchString(pw) {
			t.Fatalf("password %q is not 52 characters of A-Z and 2-7", pw)
		}
		if seen[pw] {
			t.Fatal("the same password twice")
		}
		seen[pw] = true
	}
}

func TestPasswordKnownAnswer(t *testing.T) {
	ok, err := VerifyPassword(katPasswordHash, "correct horse battery staple")
	if err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v; want true", ok, err)
	}
	ok, err = VerifyPassword(katPasswordHash, "correct horse battery stapler")
	if err != nil || ok {
		t.Fatalf("VerifyPassword with the wrong password = %v, %v; want false", ok, err)
	}
}

func TestHashPassword(t *testing.T) {
	pw := GeneratePassword()
	h1, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pbkdf2-sha256\$100000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h1) {
		t.Fatalf("hash %q is not in the documented format", h1)
	}
	if strings.Contains(h1, pw) {
		t.Fatal("hash contains the password")
	}
	if ok, err := VerifyPassword(h1, pw); err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v; want true", ok, err)
	}
	for _, wrong := range []string{"", pw[:51], pw + "A", strings.ToLower(pw), GeneratePassword()} {
		if ok, err := VerifyPassword(h1, wrong); err != nil || ok {
			t.Fatalf("VerifyPassword(%q) = %v, %v; want false", wrong, ok, err)
		}
	}
	// A fresh salt every time.
	h2, _ := hashPassword(pw, minPasswordIterations, []byte("0123456789abcdef"))
	h3, _ := hashPassword(pw, minPasswordIterations, []byte("0123456789abcdeF"))
	if h2 == h3 {
		t.Fatal("different salts gave the same hash")
	}
	if h4, _ := HashPassword(pw); h4 == h1 {
		t.Fatal("two hashes of one password are equal")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	kat := strings.Split(katPasswordHash, "$")
	join := func(scheme, iter, salt, hash string) string {
		return strings.Join([]string{scheme, iter, salt, hash}, "$")
	}
	for _, tt := range []struct{ name, hash string }{
		{"Empty", ""},
		{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"OtherScheme", join("pbkdf2-sha1", kat[1], kat[2], kat[3])},
		{"ThreeParts", join(kat[0], kat[1], kat[2], "")[:len(katPasswordHash)-len(kat[3])-1]},
		{"FiveParts", katPasswordHash + "$"},
		{"IterNotNumber", join(kat[0], "ten", kat[2], kat[3])},
		{"IterPlus", join(kat[0], "+10000", kat[2], kat[3])},
		{"IterLeadingZero", join(kat[0], "010000", kat[2], kat[3])},
		{"IterTooLow", join(kat[0], "9999", kat[2], kat[3])},
		{"IterTooHigh", join(kat[0], "10000001", kat[2], kat[3])},
		{"IterOverflow", join(kat[0], "99999999999999999999", kat[2], kat[3])},
		{"SaltPadded", join(kat[0], kat[1], kat[2]+"==", kat[3])},
		{"SaltNotBase64", join(kat[0], kat[1], "!!!!!!!!!!!!!!!!!!!!!!", kat[3])},
		{"SaltTooShort", join(kat[0], kat[1], "AAECAwQFBgcICQoLDA0O", kat[3])},
		{"SaltLineBreak", join(kat[0], kat[1], kat[2][:10]+"\n"+kat[2][10:], kat[3])},
		{"SaltTrailingBits", join(kat[0], kat[1], strings.TrimSuffix(kat[2], "w")+"x", kat[3])},
		{"HashTooShort", join(kat[0], kat[1], kat[2], kat[3][:40])},
		{"HashURLEncoding", join(kat[0], kat[1], kat[2], strings.ReplaceAll(kat[3], "+", "-"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.hash, "correct horse battery staple")
			if err == nil || ok {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want an error", tt.hash, ok, err)
			}
		})
	}
}

// FuzzParsePasswordHash checks that the parser never panics and accepts
// only canonical encodings: a hash that parses re-encodes to itself.
func FuzzParsePasswordHash(f *testing.F) {
	f.Add(katPasswordHash)
	f.Add("pbkdf2-sha256$100000$AAECAwQFBgcICQoLDA0ODw$2flfZcLfnShdJogjAMpb4p4+1QBVZmODXExi4nBRUCI")
	f.Add("pbkdf2-sha256$$$")
	f.Add("pbkdf2-sha256$0x10$AA$AA")
	f.Fuzz(func(t *testing.T, s string) {
		iter, salt, hash, err := parsePasswordHash(s)
		if err != nil {
			return
		}
		if got := formatPasswordHash(iter, salt, hash); got != s {
			t.Fatalf("parsed %q, which re-encodes as %q", s, got)
		}
	})
}
