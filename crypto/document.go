package crypto

import (
	"encoding/binary"
	"errors"
)

// Sealed documents are
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(document) (len+16 bytes)
//
// under the report's data key, with a random nonce and the additional data
//
//	"guardian document v1\x00" || report id (8 bytes, big-endian) || label
//
// The label names the document within its report ("report.xml",
// "file/<id>/details.json", ...), so that a sealed document copied to another
// report, another file or another column does not open. (The first byte
// can never start an XML or JSON document, so a sealed document is never
// mistaken for one in the clear.)
const (
	documentVersion1 = 0x01
	documentLabel    = "guardian document v1\x00"
	documentOverhead = 1 + 12 + 16
)

var errOpenDocument = errors.New("crypto: cannot open document: wrong key, wrong report or label, or corrupted")

// SealDocument encrypts a report's document under the report's data key,
// bound to reportID and label (see the format above).
func (k *DataKey) SealDocument(reportID int64, label string, document []byte) []byte {
	out := make([]byte, 1, documentOverhead+len(document))
	out[0] = documentVersion1
	return newWrapAEAD(k.key[:]).Seal(out, nil, document, documentAD(reportID, label))
}

// OpenDocument reverses [DataKey.SealDocument]. It fails if sealed was made
// under another data key, for another report or label, or was altered.
func (k *DataKey) OpenDocument(reportID int64, label string, sealed []byte) ([]byte, error) {
	if len(sealed) < documentOverhead || sealed[0] != documentVersion1 {
		return nil, errOpenDocument
	}
	pt, err := newWrapAEAD(k.key[:]).Open(nil, nil, sealed[1:], documentAD(reportID, label))
	if err != nil {
		return nil, errOpenDocument
	}
	return pt, nil
}

func documentAD(reportID int64, label string) []byte {
	// The prefix and the id have fixed lengths, so appending the label
	// last keeps the encoding unambiguous.
	ad := binary.BigEndian.AppendUint64([]byte(documentLabel), uint64(reportID))
	return append(ad, label...)
}

// DocumentSealer seals and opens the documents of reports (the <report> and
// <fileDetails> a reporter sent, and what is derived from them) under each
// report's data key, which it unwraps with the master key for every call. It
// is what package sqlstore's Options.Sealer wants: the store calls it with
// the report's wrapped key as stored, so that documents are encrypted at
// rest and read in the clear only in memory. Destroying a report's wrapped
// key makes its documents unreadable along with its files.
//
// A DocumentSealer is safe for concurrent use.
type DocumentSealer struct{ mk *MasterKey }

// NewDocumentSealer returns a sealer that unwraps data keys with mk.
func NewDocumentSealer(mk *MasterKey) *DocumentSealer { return &DocumentSealer{mk: mk} }

// Seal unwraps the report's data key (wrappedKey, bound to binding as
// [MasterKey.WrapDataKey] bound it) and seals document under it with
// [DataKey.SealDocument].
func (s *DocumentSealer) Seal(wrappedKey []byte, binding, reportID int64, label string, document []byte) ([]byte, error) {
	dk, err := s.mk.UnwrapDataKey(wrappedKey, binding)
	if err != nil {
		return nil, err
	}
	defer clear(dk.key[:])
	return dk.SealDocument(reportID, label, document), nil
}

// Open unwraps the report's data key and opens a document sealed by Seal
// with the same report id and label.
func (s *DocumentSealer) Open(wrappedKey []byte, binding, reportID int64, label string, sealed []byte) ([]byte, error) {
	dk, err := s.mk.UnwrapDataKey(wrappedKey, binding)
	if err != nil {
		return nil, err
	}
	defer clear(dk.key[:])
	return dk.OpenDocument(reportID, label, sealed)
}
