package storetest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/sqlstore"
)

// suiteMasterKey is the master key of the behaviour suite's stores: the
// reports it creates carry data keys wrapped by it (see newReport), and its
// stores seal documents with crypto's sealer on it, as a hub does.
var suiteMasterKey = func() *crypto.MasterKey {
	mk, err := crypto.ParseMasterKey("GUARDIAN-MASTER-KEY-1 c3ludGhldGljIHN0b3JldGVzdCBtYXN0ZXIga2V5ISE=")
	if err != nil {
		panic(err)
	}
	return mk
}()

// suiteSealer is the sealer of the behaviour suite's stores.
var suiteSealer = crypto.NewDocumentSealer(suiteMasterKey)

// wrappedDataKey returns a new data key wrapped by suiteMasterKey, bound to
// the reporter as package server binds it.
func wrappedDataKey(reporterID int64) []byte {
	dk, _ := crypto.GenerateDataKey()
	return suiteMasterKey.WrapDataKey(dk, reporterID)
}

// Sealer is the [sqlstore.Sealer] that [MustOpenDSN] gives a store opened
// without one. It encrypts for real (AES-256-GCM, bound to the report id and
// label, in crypto's format), but under a key derived from the wrapped key's
// bytes and binding instead of one unwrapped with a master key: tests
// elsewhere may give their reports any wrapped key (package server's tests
// wrap with a master key of their own, package jobs' use placeholder bytes).
// Tests of encryption itself use crypto's sealer.
var Sealer sqlstore.Sealer = testSealer{}

type testSealer struct{}

var errTestOpen = errors.New("storetest: cannot open document")

func (testSealer) aead(wrappedKey []byte, binding int64) cipher.AEAD {
	mac := hmac.New(sha256.New, []byte("storetest sealer"))
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(binding)))
	mac.Write(wrappedKey)
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func testAD(reportID int64, label string) []byte {
	return append(binary.BigEndian.AppendUint64([]byte("storetest document\x00"), uint64(reportID)), label...)
}

func (s testSealer) Seal(wrappedKey []byte, binding, reportID int64, label string, document []byte) ([]byte, error) {
	if len(wrappedKey) == 0 {
		return nil, errors.New("storetest: no wrapped key")
	}
	return s.aead(wrappedKey, binding).Seal([]byte{0x01}, nil, document, testAD(reportID, label)), nil
}

func (s testSealer) Open(wrappedKey []byte, binding, reportID int64, label string, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 || sealed[0] != 0x01 {
		return nil, errTestOpen
	}
	b, err := s.aead(wrappedKey, binding).Open(nil, nil, sealed[1:], testAD(reportID, label))
	if err != nil {
		return nil, errTestOpen
	}
	return b, nil
}
