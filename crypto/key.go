package crypto

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// MasterKey is the hub's key-encryption key. It wraps the [DataKey] of every
// report. Load it with [LoadOrCreateMasterKey] or [LoadMasterKey].
type MasterKey struct{ key [keySize]byte }

// DataKey is a report's key. It wraps the [FileKey] of each of the report's
// files. Make one with [GenerateDataKey]; store it only wrapped, with
// [MasterKey.WrapDataKey].
type DataKey struct{ key [keySize]byte }

// FileKey is the key that one evidence file is encrypted under, with
// [NewEncryptWriter]. Make one with [GenerateFileKey]; store it only wrapped,
// with [DataKey.WrapFileKey].
type FileKey struct{ key [keySize]byte }

// The redacted forms of keys. A key must reach a log only as one of these.
const (
	redactedMasterKey = "crypto.MasterKey(REDACTED)"
	redactedDataKey   = "crypto.DataKey(REDACTED)"
	redactedFileKey   = "crypto.FileKey(REDACTED)"
)

// Compile-time checks that keys redact themselves in fmt and log/slog, so
// that removing a method fails the build rather than a log line. The
// redacting methods have value receivers so that a dereferenced key redacts
// too.
var (
	_ fmt.Formatter  = MasterKey{}
	_ fmt.Stringer   = MasterKey{}
	_ slog.LogValuer = MasterKey{}
	_ fmt.Formatter  = DataKey{}
	_ fmt.Stringer   = DataKey{}
	_ slog.LogValuer = DataKey{}
	_ fmt.Formatter  = FileKey{}
	_ fmt.Stringer   = FileKey{}
	_ slog.LogValuer = FileKey{}
)

// GenerateMasterKey returns a new random master key. Most callers want
// [LoadOrCreateMasterKey], which also stores it; this is for tests and tools.
func GenerateMasterKey() (*MasterKey, error) {
	k := &MasterKey{}
	rand.Read(k.key[:])
	return k, nil
}

// GenerateDataKey returns a new random data key for a report.
//
// The error is always nil: since Go 1.24 crypto/rand cannot fail. The
// signature matches the other constructors so that callers need not change
// if key generation ever can.
func GenerateDataKey() (*DataKey, error) {
	k := &DataKey{}
	rand.Read(k.key[:])
	return k, nil
}

// GenerateFileKey returns a new random key for one evidence file. Its error
// is always nil, as [GenerateDataKey]'s.
func GenerateFileKey() (*FileKey, error) {
	k := &FileKey{}
	rand.Read(k.key[:])
	return k, nil
}

// Wrapped keys are
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(key) (32+16 bytes)
//
// with a random nonce and the additional data described at each Wrap
// function. The version byte lets a later format (a key id for master-key
// rotation, say) sit beside this one.
const (
	wrapVersion1 = 0x01
	wrappedSize  = 1 + 12 + keySize + 16
)

// Additional data labels. They name what a wrapped key is for and the
// version, so that a data key can never be unwrapped as a file key or under
// another format.
const (
	dataKeyLabel = "guardian data key v1\x00"
	fileKeyLabel = "guardian file key v1\x00"
)

var errUnwrap = errors.New("crypto: cannot unwrap key: wrong key, wrong binding, or corrupted")

// WrapDataKey encrypts dk under the master key, bound to reportID: the result
// unwraps only with the same master key and the same reportID.
func (k *MasterKey) WrapDataKey(dk *DataKey, reportID int64) []byte {
	return wrap(k.key[:], dk.key[:], dataKeyAD(reportID))
}

// UnwrapDataKey reverses [MasterKey.WrapDataKey]. It fails if wrapped was made
// under another master key or for another report, or was altered.
func (k *MasterKey) UnwrapDataKey(wrapped []byte, reportID int64) (*DataKey, error) {
	dk := &DataKey{}
	if err := unwrap(dk.key[:], k.key[:], wrapped, dataKeyAD(reportID)); err != nil {
		return nil, err
	}
	return dk, nil
}

// WrapFileKey encrypts fk under the data key, bound to blobKey, the name of
// the blob that fk encrypts.
func (k *DataKey) WrapFileKey(fk *FileKey, blobKey string) []byte {
	return wrap(k.key[:], fk.key[:], fileKeyAD(blobKey))
}

// UnwrapFileKey reverses [DataKey.WrapFileKey]. It fails if wrapped was made
// under another data key or for another blob, or was altered.
func (k *DataKey) UnwrapFileKey(wrapped []byte, blobKey string) (*FileKey, error) {
	fk := &FileKey{}
	if err := unwrap(fk.key[:], k.key[:], wrapped, fileKeyAD(blobKey)); err != nil {
		return nil, err
	}
	return fk, nil
}

func dataKeyAD(reportID int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(dataKeyLabel), uint64(reportID))
}

func fileKeyAD(blobKey string) []byte {
	// The label has a fixed length, so appending the variable part last
	// keeps the encoding unambiguous.
	return append([]byte(fileKeyLabel), blobKey...)
}

func wrap(kek, key, ad []byte) []byte {
	out := make([]byte, 1, wrappedSize)
	out[0] = wrapVersion1
	return newWrapAEAD(kek).Seal(out, nil, key, ad)
}

func unwrap(dst, kek, wrapped, ad []byte) error {
	if len(wrapped) != wrappedSize || wrapped[0] != wrapVersion1 {
		return errUnwrap
	}
	key, err := newWrapAEAD(kek).Open(nil, nil, wrapped[1:], ad)
	if err != nil {
		return errUnwrap
	}
	copy(dst, key)
	clear(key)
	return nil
}

// Equal reports whether k and o are the same key, in constant time.
func (k *MasterKey) Equal(o *MasterKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// Equal reports whether k and o are the same key, in constant time.
func (k *DataKey) Equal(o *DataKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// Equal reports whether k and o are the same key, in constant time.
func (k *FileKey) Equal(o *FileKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return subtle.ConstantTimeCompare(k.key[:], o.key[:]) == 1
}

// String returns a placeholder, never the key.
func (MasterKey) String() string { return redactedMasterKey }

// Format prints a placeholder for every verb, including %x and %#v, which
// would otherwise print the key's bytes through reflection.
func (MasterKey) Format(f fmt.State, verb rune) { io.WriteString(f, redactedMasterKey) }

// LogValue returns a placeholder, never the key.
func (MasterKey) LogValue() slog.Value { return slog.StringValue(redactedMasterKey) }

// String returns a placeholder, never the key.
func (DataKey) String() string { return redactedDataKey }

// Format prints a placeholder for every verb.
func (DataKey) Format(f fmt.State, verb rune) { io.WriteString(f, redactedDataKey) }

// LogValue returns a placeholder, never the key.
func (DataKey) LogValue() slog.Value { return slog.StringValue(redactedDataKey) }

// String returns a placeholder, never the key.
func (FileKey) String() string { return redactedFileKey }

// Format prints a placeholder for every verb.
func (FileKey) Format(f fmt.State, verb rune) { io.WriteString(f, redactedFileKey) }

// LogValue returns a placeholder, never the key.
func (FileKey) LogValue() slog.Value { return slog.StringValue(redactedFileKey) }
