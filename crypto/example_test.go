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
