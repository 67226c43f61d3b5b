package auditlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// LoadOrCreateSigningKey returns the hub's checkpoint signer from the key
// file at path, creating the file with a new Ed25519 key named origin if it
// does not exist, and the verifier key that partners use to check
// checkpoints ("<origin>+<key hash>+<base64 key>").
//
// The file holds the secret key in the signed-note format of
// golang.org/x/mod/sumdb/note ("PRIVATE+KEY+<origin>+..."), and is created
// with mode 0600. A file that others may read or write is refused, as is a
// key named other than origin: checkpoints name their origin, and a key for
// another one would sign statements about another log.
//
// The signer it returns never shows the secret key: printed or logged, it
// gives the verifier key.
func LoadOrCreateSigningKey(path, origin string) (note.Signer, string, error) {
	skey, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		skey, err = createKeyFile(path, origin)
	}
	if err != nil {
		return nil, "", err
	}
	s, err := newSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("audit signing key %s: %w", path, err)
	}
	if s.Name() != origin {
		return nil, "", fmt.Errorf("audit signing key %s is for origin %q, not %q", path, s.Name(), origin)
	}
	return s, s.vkey, nil
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	// Permission bits mean little on Windows.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("audit signing key %s is accessible to others (mode %04o); run: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("read audit signing key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// createKeyFile writes a new key to path, failing if the file appeared
// meanwhile (another process starting at the same moment), in which case
// the caller's next start reads it.
func createKeyFile(path, origin string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", fmt.Errorf("generate audit signing key for origin %q: %w", origin, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create audit signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create audit signing key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("write audit signing key: %w", err)
	}
	// The key must survive a crash: checkpoints already published were
	// signed with it.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("write audit signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write audit signing key: %w", err)
	}
	return skey, nil
}

// signer is a note.Signer that knows its verifier key, so that the log can
// pin it in the database, and that never prints its secret.
type signer struct {
	note.Signer
	vkey string
}

// newSigner parses a secret key "PRIVATE+KEY+<name>+<hash>+<base64>" and
// derives its verifier key.
func newSigner(skey string) (*signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, errors.New("malformed key") // the error would quote the key
	}
	// NewSigner has checked the format: the last field is the base64 of
	// the algorithm byte and the Ed25519 seed.
	// "PRIVATE+KEY+<name>+<hash>+<base64>": the name cannot hold a '+', but
	// the base64 can, so the key is everything after the fourth.
	fields := strings.SplitN(skey, "+", 5)
	if len(fields) != 5 {
		return nil, errors.New("malformed key")
	}
	raw, err := base64.StdEncoding.DecodeString(fields[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, err
	}
	return &signer{Signer: s, vkey: vkey}, nil
}

// VerifierKey returns the verifier key of the signer.
func (s *signer) VerifierKey() string { return s.vkey }

// String and LogValue show the verifier key only.
func (s *signer) String() string { return s.vkey }

// LogValue implements slog.LogValuer.
func (s *signer) LogValue() slog.Value { return slog.StringValue(s.vkey) }

// keyID identifies a signer by its name and key hash, the prefix of its
// verifier key "<name>+<hash>+...", for signers that cannot tell their
// verifier key.
func keyID(s note.Signer) string {
	if v, ok := s.(interface{ VerifierKey() string }); ok {
		return v.VerifierKey()
	}
	return fmt.Sprintf("%s+%08x", s.Name(), s.KeyHash())
}

// sameKey reports whether two keys as keyID returns them are the same key:
// equal, or equal in name and key hash where one lacks the key itself.
func sameKey(a, b string) bool {
	if a == b {
		return true
	}
	prefix := func(k string) string {
		parts := strings.SplitN(k, "+", 3)
		if len(parts) < 2 {
			return k
		}
		return parts[0] + "+" + parts[1]
	}
	if strings.Count(a, "+") >= 2 && strings.Count(b, "+") >= 2 {
		return false // both full keys, and different
	}
	return prefix(a) == prefix(b)
}
