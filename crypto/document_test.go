package crypto

import (
	"bytes"
	"testing"
)

// TestOpenDocumentKnownAnswer pins the sealed document format, including
// the additional data. The vector comes from testdata/vectors.py.
func TestOpenDocumentKnownAnswer(t *testing.T) {
	dk := &DataKey{key: seq(0x60)}
	sealed := mustHex(t, "01a0a1a2a3a4a5a6a7a8a9aaab4d5f85cced46af7935b41c314b86912afc8e9a505cc219298518e13b17ad180ae9f4fd")
	got, err := dk.OpenDocument(42, "report.json", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"synthetic": true}` {
		t.Fatalf("opened %q", got)
	}
}

func TestSealDocument(t *testing.T) {
	dk, _ := GenerateDataKey()
	doc := []byte(`<report><email>synthetic@example.com</email></report>`)
	sealed := dk.SealDocument(7, "report.xml", doc)

	t.Run("OK", func(t *testing.T) {
		got, err := dk.OpenDocument(7, "report.xml", sealed)
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("OpenDocument = %q, %v", got, err)
		}
	})
	t.Run("NoPlaintext", func(t *testing.T) {
		if bytes.Contains(sealed, []byte("example.com")) {
			t.Fatal("the sealed document holds the plaintext")
		}
		if sealed[0] == '<' || sealed[0] == '{' {
			t.Fatal("a sealed document starts like a plaintext one")
		}
	})
	t.Run("FreshNonce", func(t *testing.T) {
		if bytes.Equal(sealed, dk.SealDocument(7, "report.xml", doc)) {
			t.Fatal("two seals of one document are equal")
		}
	})
	t.Run("OtherReport", func(t *testing.T) {
		if _, err := dk.OpenDocument(8, "report.xml", sealed); err == nil {
			t.Fatal("opened for another report")
		}
	})
	t.Run("OtherLabel", func(t *testing.T) {
		if _, err := dk.OpenDocument(7, "report.json", sealed); err == nil {
			t.Fatal("opened under another label")
		}
	})
	t.Run("OtherKey", func(t *testing.T) {
		other, _ := GenerateDataKey()
		if _, err := other.OpenDocument(7, "report.xml", sealed); err == nil {
			t.Fatal("opened with another data key")
		}
	})
	t.Run("EveryByteFlipped", func(t *testing.T) {
		for i := range sealed {
			b := bytes.Clone(sealed)
			b[i] ^= 0x80
			if _, err := dk.OpenDocument(7, "report.xml", b); err == nil {
				t.Fatalf("opened with byte %d changed", i)
			}
		}
	})
	t.Run("Short", func(t *testing.T) {
		for _, b := range [][]byte{nil, {documentVersion1}, sealed[:documentOverhead-1]} {
			if _, err := dk.OpenDocument(7, "report.xml", b); err == nil {
				t.Fatalf("opened %d bytes", len(b))
			}
		}
	})
	t.Run("Empty", func(t *testing.T) {
		s := dk.SealDocument(7, "x", nil)
		if got, err := dk.OpenDocument(7, "x", s); err != nil || len(got) != 0 {
			t.Fatalf("empty document: %q, %v", got, err)
		}
	})
}

func TestDocumentSealer(t *testing.T) {
	mk, _ := GenerateMasterKey()
	dk, _ := GenerateDataKey()
	const reporterID, reportID = 3, 12
	wrapped := mk.WrapDataKey(dk, reporterID)
	s := NewDocumentSealer(mk)
	doc := []byte(`{"email": "synthetic@example.com"}`)

	sealed, err := s.Seal(wrapped, reporterID, reportID, "report.json", doc)
	if err != nil {
		t.Fatal(err)
	}
	// What the sealer made, the data key opens: the sealer adds no
	// format of its own.
	if got, err := dk.OpenDocument(reportID, "report.json", sealed); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("DataKey.OpenDocument = %q, %v", got, err)
	}
	if got, err := s.Open(wrapped, reporterID, reportID, "report.json", sealed); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(wrapped, reporterID+1, reportID, "report.json", sealed); err == nil {
		t.Fatal("opened with the wrapped key bound to another reporter")
	}
	other, _ := GenerateMasterKey()
	if _, err := NewDocumentSealer(other).Open(wrapped, reporterID, reportID, "report.json", sealed); err == nil {
		t.Fatal("opened under another master key")
	}
	if _, err := s.Seal(nil, reporterID, reportID, "report.json", doc); err == nil {
		t.Fatal("sealed under a missing key")
	}
}
