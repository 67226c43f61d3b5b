// Package crypto implements Guardian's encryption at rest and the hashing of
// reporters' passwords.
//
// Most callers need only a few functions:
//
//   - At startup, [LoadOrCreateMasterKey] (or [LoadMasterKey] when the
//     operator supplies the file) returns the hub's [MasterKey].
//   - When a report is opened, [GenerateDataKey] makes its [DataKey] and
//     [MasterKey.WrapDataKey] seals it for the database.
//   - Package evidence encrypts each uploaded file under a fresh [FileKey]
//     with [NewEncryptWriter]; [DataKey.WrapFileKey] seals that key for the
//     file's row, and [NewDecryptReader] reads the file back.
//   - The store seals each report's documents (the <report> and
//     <fileDetails> and what is derived from them) under the report's data
//     key through a [DocumentSealer], which unwraps the key for each call;
//     [DataKey.SealDocument] specifies the format.
//   - For intake accounts, [GeneratePassword], [HashPassword] and
//     [VerifyPassword].
//
// Store evidence through package evidence rather than with NewEncryptWriter
// directly: it also computes the digests and makes each file durable before
// it is acknowledged. Nothing here is a general-purpose encryption API: there
// are no options, and the only algorithms are AES-256-GCM, HKDF-SHA-256 and
// PBKDF2-HMAC-SHA-256 from the standard library. The encrypted stream format
// is specified beside [ChunkSize].
//
// # Key hierarchy
//
// The master key lives in a file (see [ParseMasterKey] for its format) and
// never leaves the hub process. It wraps one [DataKey] per report; the data
// key seals the report's documents and wraps one [FileKey] per evidence
// file; the file key encrypts the file.
// A file is written before the report it belongs to may be known, which is
// why it has its own key rather than using the report's directly.
//
// Every wrapped key is bound, as AES-GCM additional data, to what it is for
// (a data key to the id its caller gives, which package server makes the
// reporter's; a file key to its blob), so a wrapped key copied to another
// row does not open; every sealed document is bound to its report id and
// its name. Destroying a report's wrapped data key makes all of its files
// and documents unreadable without touching them (crypto-erasure).
//
// # Secrets in logs
//
// Key types keep their bytes in unexported fields and print as a redacted
// placeholder through fmt and log/slog, so a stray log call cannot leak them.
// Compare keys with their Equal methods, which run in constant time.
//
// # Compatibility
//
// The master key file, the wrapped key encodings, the encrypted stream
// format, the sealed document format and the password hash encoding are
// stored on disk and in databases. They
// are versioned and pinned by known-answer tests; a change to any of them
// must add a new version and keep reading the old one.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
)

// keySize is the size of every symmetric key here: AES-256.
const keySize = 32

// newGCM returns AES-256-GCM with caller-supplied nonces.
func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		// Only a key of the wrong length fails, and every caller
		// passes keySize bytes.
		panic("crypto: internal error: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("crypto: internal error: " + err.Error())
	}
	return aead
}

// newWrapAEAD returns AES-256-GCM that draws a random nonce for every Seal
// and prepends it to the output.
func newWrapAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("crypto: internal error: " + err.Error())
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic("crypto: internal error: " + err.Error())
	}
	return aead
}
