package crypto

import (
	"bytes"
	"testing"
)

func TestUserSecret(t *testing.T) {
	mk, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("twenty bytes secret!")
	sealed := mk.SealUserSecret("ana@example.org", secret)
	if bytes.Contains(sealed, secret) || len(sealed) != userSecretOverhead+len(secret) {
		t.Fatalf("sealed secret %x", sealed)
	}
	got, err := mk.OpenUserSecret("ana@example.org", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenUserSecret = %q, %v", got, err)
	}
	other, _ := GenerateMasterKey()
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"OtherUser":  func() ([]byte, error) { return mk.OpenUserSecret("bob@example.org", sealed) },
		"OtherKey":   func() ([]byte, error) { return other.OpenUserSecret("ana@example.org", sealed) },
		"Tampered":   func() ([]byte, error) { return mk.OpenUserSecret("ana@example.org", tampered) },
		"Truncated":  func() ([]byte, error) { return mk.OpenUserSecret("ana@example.org", sealed[:10]) },
		"BadVersion": func() ([]byte, error) { return mk.OpenUserSecret("ana@example.org", append([]byte{2}, sealed[1:]...)) },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
