package crypto_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/guardian-network/guardian/crypto"
)

// The whole hierarchy: a file is encrypted under its own key, which is
// wrapped by its report's data key, which is wrapped by the master key. Only
// the wrapped keys and the ciphertext are stored.
func Example() {
	mk, _ := crypto.GenerateMasterKey() // at startup: crypto.LoadOrCreateMasterKey
	const reportID, blobKey = 42, "0123456789abcdef0123456789abcdef"

	// Encrypt.
	dk, _ := crypto.GenerateDataKey()
	wrappedDK := mk.WrapDataKey(dk, reportID)
	fk, _ := crypto.GenerateFileKey()
	var blob bytes.Buffer
	w, err := crypto.NewEncryptWriter(&blob, fk)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "synthetic evidence")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	wrappedFK := dk.WrapFileKey(fk, blobKey)

	// Decrypt, starting from what was stored.
	dk, err = mk.UnwrapDataKey(wrappedDK, reportID)
	if err != nil {
		log.Fatal(err)
	}
	fk, err = dk.UnwrapFileKey(wrappedFK, blobKey)
	if err != nil {
		log.Fatal(err)
	}
	r, err := crypto.NewDecryptReader(&blob, fk)
	if err != nil {
		log.Fatal(err)
	}
	pt, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n%v\n", pt, fk)
	// Output:
	// synthetic evidence
	// crypto.FileKey(REDACTED)
}

func ExampleVerifyPassword() {
	pw := crypto.GeneratePassword() // shown once to the reporter's operator
	hash, err := crypto.HashPassword(pw)
	if err != nil {
		log.Fatal(err)
	}
	ok, err := crypto.VerifyPassword(hash, pw)
	fmt.Println(ok, err)
	// Output: true <nil>
}

// A report's documents are sealed under its data key, which the sealer
// unwraps from the wrapped key as stored. A sealed document opens only for
// its own report and name.
func ExampleDocumentSealer() {
	mk, _ := crypto.GenerateMasterKey()
	const reporterID, reportID = 7, 42
	dk, _ := crypto.GenerateDataKey()
	wrapped := mk.WrapDataKey(dk, reporterID)

	s := crypto.NewDocumentSealer(mk)
	sealed, err := s.Seal(wrapped, reporterID, reportID, "report.xml", []byte("<report>synthetic</report>"))
	if err != nil {
		log.Fatal(err)
	}
	doc, err := s.Open(wrapped, reporterID, reportID, "report.xml", sealed)
	fmt.Printf("%s %v\n", doc, err)
	_, err = s.Open(wrapped, reporterID, reportID+1, "report.xml", sealed)
	fmt.Println(err)
	// Output:
	// <report>synthetic</report> <nil>
	// crypto: cannot open document: wrong key, wrong report or label, or corrupted
}
