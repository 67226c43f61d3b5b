package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// MustFileKey returns a file key whose bytes are b, b+1, ..., b+31.
func MustFileKey(tb testing.TB, b byte) *FileKey {
	tb.Helper()
	k := &FileKey{}
	for i := range k.key {
		k.key[i] = b + byte(i)
	}
	return k
}

// pattern returns n bytes of i mod 251, the plaintext of the known-answer
// vectors; 251 is prime, so no chunk repeats another.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

var testSalt = [saltSize]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}

// MustEncrypt encrypts pt under fk with a fixed salt, so that results can be
// compared byte for byte.
func MustEncrypt(tb testing.TB, fk *FileKey, pt []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := newEncryptWriter(&buf, fk, testSalt)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func decrypt(ct []byte, fk *FileKey) ([]byte, error) {
	r, err := NewDecryptReader(bytes.NewReader(ct), fk)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func chunks(n int) int { return max(1, (n+ChunkSize-1)/ChunkSize) }

func TestStreamRoundTrip(t *testing.T) {
	fk := MustFileKey(t, 0)
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 3<<20 + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := pattern(n)
			// Write in pieces that straddle chunk boundaries.
			var ct bytes.Buffer
			w, err := NewEncryptWriter(&ct, fk)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyBuffer(w, bytes.NewReader(pt), make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := ct.Len(), headerSize+n+chunks(n)*tagSize; got != want {
				t.Errorf("ciphertext is %d bytes, want %d", got, want)
			}
			if bytes.Contains(ct.Bytes(), pt[:min(n, 64)]) && n >= 16 {
				t.Error("ciphertext contains the plaintext")
			}

			r, err := NewDecryptReader(bytes.NewReader(ct.Bytes()), fk)
			if err != nil {
				t.Fatal(err)
			}
			if n <= 2*ChunkSize {
				// TestReader reads in every way a caller might,
				// and checks that EOF comes right.
				if err := iotest.TestReader(r, pt); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatal("plaintext differs after round trip")
			}
		})
	}
}

func TestStreamRoundTripSmallReads(t *testing.T) {
	fk := MustFileKey(t, 0)
	pt := pattern(ChunkSize + 5)
	r, err := NewDecryptReader(iotest.HalfReader(bytes.NewReader(MustEncrypt(t, fk, pt))), fk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(r))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatal("plaintext differs after round trip")
	}
}

// TestStreamKnownAnswer pins the stream format. The hashes come from
// testdata/vectors.py, an independent implementation; if this test fails,
// the format has changed and stored evidence would no longer decrypt.
func TestStreamKnownAnswer(t *testing.T) {
	fk := MustFileKey(t, 0)
	for _, tt := range []struct {
		n      int
		size   int
		sha256 string
	}{
		{0, 40, "c156ab72858cc76f6a90c2f2dab3b23f87f763a4d432ac3fa451d73b55053668"},
		{1, 41, "398740f20f758ebf12e8bedf1ca6cee8aeec41ec3c0b5a92b5631c859793d38e"},
		{ChunkSize, 65576, "005dc20d9f5c000404fe0ad4511b2ae039a591229793d113dd2dae12b6be73a3"},
		{2*ChunkSize + 1234, 132378, "2eacd4695cfa3bda4e74460e0aaf06ce73f33f803b68fa253df696c306e67107"},
	} {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			ct := MustEncrypt(t, fk, pattern(tt.n))
			sum := sha256.Sum256(ct)
			if got, want := len(ct), tt.size; got != want {
				t.Errorf("size = %d, want %d", got, want)
			}
			if got, want := hex.EncodeToString(sum[:]), tt.sha256; got != want {
				t.Errorf("sha256 = %s, want %s", got, want)
			}
			pt, err := decrypt(ct, fk)
			if err != nil || !bytes.Equal(pt, pattern(tt.n)) {
				t.Errorf("known-answer ciphertext does not decrypt: %v", err)
			}
		})
	}
}

func TestStreamTamper(t *testing.T) {
	fk := MustFileKey(t, 0)
	pt := pattern(2*ChunkSize + 1234) // two full chunks and a short last one
	ct := MustEncrypt(t, fk, pt)
	chunk := func(i int) []byte {
		start := headerSize + i*encChunkSize
		return ct[start:min(start+encChunkSize, len(ct))]
	}
	header := ct[:headerSize]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(i int) []byte {
		b := bytes.Clone(ct)
		b[i] ^= 0x01
		return b
	}

	// A stream of exactly one full chunk, whose last chunk is full-size.
	full := MustEncrypt(t, fk, pattern(ChunkSize))
	// The same key with another salt.
	var other bytes.Buffer
	ow, _ := newEncryptWriter(&other, fk, [saltSize]byte{1})
	ow.Write(pt)
	ow.Close()
	// An empty last chunk, correctly sealed, after a full one: only the
	// canonical-encoding rule rejects it.
	emptyLast := cat(full[:len(full)-encChunkSize], sealChunk(fk, testSalt, 0, pattern(ChunkSize), false), sealChunk(fk, testSalt, 1, nil, true))

	for _, tt := range []struct {
		name string
		ct   []byte
		fk   *FileKey
	}{
		{"Empty", nil, fk},
		{"HeaderOnly", cat(header), fk},
		{"ShortHeader", ct[:headerSize-1], fk},
		{"Magic", flip(0), fk},
		{"Version", flip(len(streamMagic)), fk},
		{"Salt", flip(len(streamMagic) + 1), fk},
		{"SaltFromOtherStream", cat(other.Bytes()[:headerSize], ct[headerSize:]), fk},
		{"FirstChunkCiphertext", flip(headerSize), fk},
		{"FirstChunkTag", flip(headerSize + encChunkSize - 1), fk},
		{"MiddleChunk", flip(headerSize + encChunkSize + 100), fk},
		{"LastChunk", flip(len(ct) - 17), fk},
		{"LastTag", flip(len(ct) - 1), fk},
		{"TruncatedAfterChunk0", cat(header, chunk(0)), fk},
		{"TruncatedAfterChunk1", cat(header, chunk(0), chunk(1)), fk},
		{"TruncatedMidChunk", ct[:headerSize+encChunkSize+500], fk},
		{"TruncatedLastByte", ct[:len(ct)-1], fk},
		{"TruncatedToTagSize", cat(header, chunk(0), chunk(1)[:tagSize]), fk},
		{"Reordered", cat(header, chunk(1), chunk(0), chunk(2)), fk},
		{"DroppedFirst", cat(header, chunk(1), chunk(2)), fk},
		{"DroppedMiddle", cat(header, chunk(0), chunk(2)), fk},
		{"DuplicatedChunk", cat(header, chunk(0), chunk(0), chunk(1), chunk(2)), fk},
		{"AppendedByte", cat(ct, []byte{0}), fk},
		{"AppendedChunk", cat(ct, chunk(2)), fk},
		{"AppendedToFullLastChunk", cat(full, []byte{0}), fk},
		{"AppendedStream", cat(full, full[headerSize:]), fk},
		{"EmptyLastChunk", emptyLast, fk},
		{"WrongKey", ct, MustFileKey(t, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			r, err := NewDecryptReader(bytes.NewReader(tt.ct), tt.fk)
			if err == nil {
				got, err = io.ReadAll(r)
			}
			if err == nil {
				t.Fatal("tampered stream decrypted without error")
			}
			// What came before the error must be whole authentic
			// chunks of the original.
			if len(got)%ChunkSize != 0 {
				t.Errorf("returned %d bytes, not a whole number of chunks", len(got))
			}
			// Read again: the error must stick.
			if r != nil {
				if n, err2 := r.Read(make([]byte, 10)); n != 0 || err2 == nil || err2 == io.EOF {
					t.Errorf("Read after error = %d, %v; want 0 and the error", n, err2)
				}
			}
		})
	}
}

// sealChunk encrypts chunk i of a stream under fk and salt.
func sealChunk(fk *FileKey, salt [saltSize]byte, i uint64, pt []byte, last bool) []byte {
	var nonce [nonceSize]byte
	for j := uint64(0); j < i; j++ {
		incCounter(&nonce)
	}
	if last {
		nonce[nonceSize-1] = lastFlag
	}
	return streamAEAD(fk, salt[:]).Seal(nil, nonce[:], pt, nil)
}

func TestEncryptWriterClose(t *testing.T) {
	w, err := NewEncryptWriter(io.Discard, MustFileKey(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

func TestEncryptWriterError(t *testing.T) {
	errDisk := errors.New("disk full")
	// Fail after the header and one chunk.
	dst := &failWriter{n: headerSize + encChunkSize, err: errDisk}
	w, err := NewEncryptWriter(dst, MustFileKey(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(pattern(3 * ChunkSize))
	if !errors.Is(err, errDisk) {
		t.Fatalf("Write = %v, want %v", err, errDisk)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close = %v, want %v", err, errDisk)
	}
	if _, err := NewEncryptWriter(&failWriter{err: errDisk}, MustFileKey(t, 0)); !errors.Is(err, errDisk) {
		t.Fatalf("NewEncryptWriter = %v, want %v", err, errDisk)
	}
}

type failWriter struct {
	n   int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestDecryptReaderError(t *testing.T) {
	fk := MustFileKey(t, 0)
	ct := MustEncrypt(t, fk, pattern(2*ChunkSize+1))
	errNet := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(ct[:headerSize+encChunkSize+10]), iotest.ErrReader(errNet))
	r, err := NewDecryptReader(src, fk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, errNet) {
		t.Fatalf("ReadAll = %v, want %v", err, errNet)
	}
	if _, err := NewDecryptReader(iotest.ErrReader(errNet), fk); !errors.Is(err, errNet) {
		t.Fatalf("NewDecryptReader = %v, want %v", err, errNet)
	}
}

// TestStreamConstantMemory checks that neither direction allocates per
// chunk: 64 chunks cost no more allocations than one.
func TestStreamConstantMemory(t *testing.T) {
	fk := MustFileKey(t, 0)
	buf := make([]byte, 32<<10)
	allocs := func(n int) (enc, dec float64) {
		pt := pattern(n)
		ct := MustEncrypt(t, fk, pt)
		enc = testing.AllocsPerRun(3, func() {
			w, _ := NewEncryptWriter(io.Discard, fk)
			io.CopyBuffer(w, bytes.NewReader(pt), buf)
			w.Close()
		})
		dec = testing.AllocsPerRun(3, func() {
			r, _ := NewDecryptReader(bytes.NewReader(ct), fk)
			io.CopyBuffer(io.Discard, r, buf)
		})
		return enc, dec
	}
	enc1, dec1 := allocs(ChunkSize)
	enc64, dec64 := allocs(64 * ChunkSize)
	// Allow a little noise (the race detector makes sync.Pool drop
	// items); one allocation per chunk would add 63.
	if enc64-enc1 > 4 || dec64-dec1 > 4 {
		t.Errorf("allocations for 1 chunk: encrypt %v, decrypt %v; for 64 chunks: %v, %v; want no growth", enc1, dec1, enc64, dec64)
	}
}

func FuzzDecryptReader(f *testing.F) {
	fk := MustFileKey(f, 0)
	for _, n := range []int{0, 1, 100, ChunkSize, ChunkSize + 5} {
		f.Add(MustEncrypt(f, fk, pattern(n)))
	}
	f.Add([]byte("GRDNENC\x01"))
	f.Add([]byte("GRDNENC\x02aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbb"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		r, err := NewDecryptReader(bytes.NewReader(ct), fk)
		if err != nil {
			return
		}
		pt, err := io.ReadAll(r)
		if err == nil {
			// Accepted: then ct must be exactly what the writer makes
			// of pt, so no other ciphertext decrypts to it.
			var salt [saltSize]byte
			copy(salt[:], ct[len(streamMagic)+1:])
			var want bytes.Buffer
			w, _ := newEncryptWriter(&want, fk, salt)
			w.Write(pt)
			w.Close()
			if !bytes.Equal(ct, want.Bytes()) {
				t.Fatalf("accepted a ciphertext that is not the encryption of its plaintext")
			}
			return
		}
		// Rejected: whatever came before the error must be whole
		// chunks, each the authentic non-last chunk at its position.
		if len(pt)%ChunkSize != 0 {
			t.Fatalf("returned %d bytes before the error, not whole chunks", len(pt))
		}
		var salt [saltSize]byte
		copy(salt[:], ct[len(streamMagic)+1:])
		for i := 0; i < len(pt)/ChunkSize; i++ {
			got := ct[headerSize+i*encChunkSize:][:encChunkSize]
			if !bytes.Equal(got, sealChunk(fk, salt, uint64(i), pt[i*ChunkSize:][:ChunkSize], false)) {
				t.Fatalf("returned chunk %d, which is not authentic", i)
			}
		}
	})
}
