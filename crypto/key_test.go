package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func seq(start byte) [keySize]byte {
	var b [keySize]byte
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestUnwrapKnownAnswer pins the wrapped key formats, including the
// additional data. The vectors come from testdata/vectors.py.
func TestUnwrapKnownAnswer(t *testing.T) {
	mk := &MasterKey{key: seq(0x40)}
	wrappedDK := mustHex(t, "01808182838485868788898a8b4d3fdca446114ce40003fa431ecffb4d888dbba13912906386f702afad681f03d17b3b234bd19ed6f3018d8158a05ec1")
	dk, err := mk.UnwrapDataKey(wrappedDK, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !dk.Equal(&DataKey{key: seq(0x60)}) {
		t.Fatal("unwrapped the wrong data key")
	}

	wrappedFK := mustHex(t, "01909192939495969798999a9b638ba375009878aa0c8bbcebc206ccc305c88cfeb7b571c029dbef531a05c8f66d57a62c3b94a7effe02e32e9995c325")
	fk, err := dk.UnwrapFileKey(wrappedFK, "0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if !fk.Equal(&FileKey{key: seq(0xc0)}) {
		t.Fatal("unwrapped the wrong file key")
	}
}

func TestWrapDataKey(t *testing.T) {
	mk, _ := GenerateMasterKey()
	dk, _ := GenerateDataKey()
	w := mk.WrapDataKey(dk, 7)

	t.Run("OK", func(t *testing.T) {
		got, err := mk.UnwrapDataKey(w, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(dk) {
			t.Fatal("unwrapped key differs")
		}
	})
	t.Run("FreshNonce", func(t *testing.T) {
		if bytes.Equal(w, mk.WrapDataKey(dk, 7)) {
			t.Fatal("two wraps of one key are equal")
		}
	})
	t.Run("OtherReport", func(t *testing.T) {
		if _, err := mk.UnwrapDataKey(w, 8); err == nil {
			t.Fatal("unwrapped with another report id")
		}
	})
	t.Run("OtherMasterKey", func(t *testing.T) {
		other, _ := GenerateMasterKey()
		if _, err := other.UnwrapDataKey(w, 7); err == nil {
			t.Fatal("unwrapped with another master key")
		}
	})
	t.Run("EveryByteFlipped", func(t *testing.T) {
		for i := range w {
			b := bytes.Clone(w)
			b[i] ^= 0x80
			if _, err := mk.UnwrapDataKey(b, 7); err == nil {
				t.Fatalf("unwrapped with byte %d changed", i)
			}
		}
	})
	t.Run("Length", func(t *testing.T) {
		for _, b := range [][]byte{nil, w[:len(w)-1], append(bytes.Clone(w), 0)} {
			if _, err := mk.UnwrapDataKey(b, 7); err == nil {
				t.Fatalf("unwrapped %d bytes", len(b))
			}
		}
	})
	t.Run("AsFileKey", func(t *testing.T) {
		// The same key bytes used as a data key must not open a
		// wrapped data key as if it were a file key.
		asDK := &DataKey{key: mk.key}
		if _, err := asDK.UnwrapFileKey(w, ""); err == nil {
			t.Fatal("a wrapped data key unwrapped as a file key")
		}
	})
}

func TestWrapFileKey(t *testing.T) {
	dk, _ := GenerateDataKey()
	fk, _ := GenerateFileKey()
	const blob = "00112233445566778899aabbccddeeff"
	w := dk.WrapFileKey(fk, blob)

	got, err := dk.UnwrapFileKey(w, blob)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(fk) {
		t.Fatal("unwrapped key differs")
	}
	if _, err := dk.UnwrapFileKey(w, "00112233445566778899aabbccddeefe"); err == nil {
		t.Fatal("unwrapped for another blob")
	}
	other, _ := GenerateDataKey()
	if _, err := other.UnwrapFileKey(w, blob); err == nil {
		t.Fatal("unwrapped with another data key")
	}
}

func TestEqual(t *testing.T) {
	a, _ := GenerateFileKey()
	b, _ := GenerateFileKey()
	c := &FileKey{key: a.key}
	if !a.Equal(c) || a.Equal(b) || a.Equal(nil) || !(*FileKey)(nil).Equal(nil) {
		t.Fatal("FileKey.Equal is wrong")
	}
	m1, _ := GenerateMasterKey()
	m2, _ := GenerateMasterKey()
	if !m1.Equal(&MasterKey{key: m1.key}) || m1.Equal(m2) {
		t.Fatal("MasterKey.Equal is wrong")
	}
	d1, _ := GenerateDataKey()
	d2, _ := GenerateDataKey()
	if !d1.Equal(&DataKey{key: d1.key}) || d1.Equal(d2) {
		t.Fatal("DataKey.Equal is wrong")
	}
}

// TestRedaction prints keys every way a careless caller might and checks
// that no encoding of the key bytes comes out.
func TestRedaction(t *testing.T) {
	mk := &MasterKey{key: seq(0x40)}
	dk := &DataKey{key: seq(0x60)}
	fk := &FileKey{key: seq(0xc0)}
	secrets := [][keySize]byte{mk.key, dk.key, fk.key}

	var out strings.Builder
	for _, k := range []any{mk, dk, fk, *mk, *dk, *fk} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			fmt.Fprintf(&out, verb+"\n", k)
		}
		fmt.Fprintln(&out, k)
	}
	type config struct {
		Key     *MasterKey
		Value   MasterKey
		private *DataKey
	}
	c := config{Key: mk, Value: *mk, private: dk}
	fmt.Fprintf(&out, "%v %+v %#v\n", c, c, c)

	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("keys", "mk", mk, "dk", dk, "fk", fk, "value", *fk, "config", c)
	slog.New(slog.NewTextHandler(&out, nil)).Info("keys", "mk", mk, "config", c)
	j, _ := json.Marshal(c)
	out.Write(j)

	s := out.String()
	for _, k := range secrets {
		for _, enc := range []string{
			hex.EncodeToString(k[:]),
			strings.ToUpper(hex.EncodeToString(k[:])),
			base64.StdEncoding.EncodeToString(k[:]),
			fmt.Sprint(k[:]),
			fmt.Sprintf("%#v", k[:])[7:30], // the first few elements of a []byte literal
		} {
			if strings.Contains(s, enc) {
				t.Fatalf("key bytes %q appear in the output:\n%s", enc, s)
			}
		}
	}
	for _, want := range []string{redactedMasterKey, redactedDataKey, redactedFileKey} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
