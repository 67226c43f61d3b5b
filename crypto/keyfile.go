package crypto

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/guardian-network/guardian/internal/durable"
)

// masterKeyPrefix starts every master key file. The trailing digit is the
// format version.
const masterKeyPrefix = "GUARDIAN-MASTER-KEY-1 "

// ParseMasterKey parses the contents of a master key file: the text
//
//	GUARDIAN-MASTER-KEY-1 <32 bytes in standard, padded base64>
//
// optionally followed by one newline, and nothing else. An operator can make
// one with
//
//	(umask 077; printf 'GUARDIAN-MASTER-KEY-1 %s\n' "$(head -c 32 /dev/urandom | base64)" > master.key)
//
// The error never contains the text, which may be a key.
func ParseMasterKey(text string) (*MasterKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSuffix(text, "\n"), masterKeyPrefix)
	if !ok {
		return nil, errMalformedMasterKey
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	// The decoder skips line breaks and ignores trailing bits; comparing
	// with the encoding of what it returned gives a key one file form.
	if err != nil || len(key) != keySize || base64.StdEncoding.EncodeToString(key) != b64 {
		clear(key)
		return nil, errMalformedMasterKey
	}
	k := &MasterKey{}
	copy(k.key[:], key)
	clear(key)
	return k, nil
}

var errMalformedMasterKey = errors.New("malformed master key: want " +
	strings.TrimSpace(masterKeyPrefix) + " followed by a space and 32 base64-encoded bytes")

func encodeMasterKey(k *MasterKey) string {
	return masterKeyPrefix + base64.StdEncoding.EncodeToString(k.key[:]) + "\n"
}

// LoadMasterKey reads the master key file at path, for example the one named
// by GUARDIAN_MASTER_KEY_FILE. It refuses a file that its group or others
// may access, since the key opens all evidence. If the file does not exist,
// the error wraps [fs.ErrNotExist].
func LoadMasterKey(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	defer f.Close()
	// Check the open file rather than the path, so that the file checked
	// is the file read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key %s may be read by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	// A valid file is under 100 bytes; read a little more so that an
	// over-long file is reported as malformed rather than cut to fit.
	text, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := ParseMasterKey(string(text))
	clear(text)
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateMasterKey returns the master key stored at path, creating the
// file with a new random key and mode 0600 if it does not exist. The
// directory must exist.
//
// Creation is atomic and durable: the key is written to a temporary file
// in the same directory and synced, then linked into place and the
// directory synced, so a crash leaves either no key file or a complete one.
// Linking rather than renaming never replaces an existing file, so two
// processes starting at once on the same directory agree on one key. A
// crash during creation may leave a file named .<name>.tmp-<digits> beside
// it, which is safe to delete. (Deleting such files at startup would race
// with another process creating the key.)
//
// Losing this file makes every stored report unreadable. Back it up apart
// from the data it protects.
func LoadOrCreateMasterKey(path string) (*MasterKey, error) {
	k, err := LoadMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	return createMasterKey(path)
}

// masterKeyTempPrefix starts the names of createMasterKey's temporary files.
func masterKeyTempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp-"
}

func createMasterKey(path string) (*MasterKey, error) {
	k, err := GenerateMasterKey()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	// CreateTemp makes the file with mode 0600 before anything is written.
	tmp, err := os.CreateTemp(dir, masterKeyTempPrefix(path)+"*")
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, encodeMasterKey(k)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		// Another process created it first: use that one.
		return LoadMasterKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	return k, nil
}
