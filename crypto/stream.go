package crypto

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
)

// An encrypted stream is the STREAM construction of Hoang, Reyhanitabar,
// Rogaway and Vizár ("Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", 2015) as age's payload uses it, with AES-256-GCM in
// place of ChaCha20-Poly1305:
//
//	header  = magic "GRDNENC" || version 0x01 || salt (16 random bytes)
//	key     = HKDF-SHA-256(secret = file key, salt = salt, info = "guardian stream v1")
//	chunk i = AES-256-GCM(key, nonce_i, plaintext[i*64KiB : (i+1)*64KiB])
//	nonce_i = i as 11-byte big-endian || 0x01 if chunk i is the last, else 0x00
//
// Every chunk but the last holds exactly [ChunkSize] plaintext bytes. The
// last holds 1 to ChunkSize bytes, or 0 only when the whole plaintext is
// empty, so every plaintext has exactly one encryption for a given key and
// salt. Reordered or dropped chunks fail because the counter is in the nonce;
// truncation at a chunk boundary and appended data fail because the last
// flag is; a changed salt derives another key, so chunk 0 fails.
//
// The salt makes the chunk key unique per stream even if a file key were
// used twice, so that nonces do not repeat under one key.
const (
	streamMagic   = "GRDNENC"
	streamVersion = 0x01
	saltSize      = 16
	headerSize    = len(streamMagic) + 1 + saltSize
	streamInfo    = "guardian stream v1"

	// ChunkSize is the plaintext size of every chunk of an encrypted
	// stream except the last.
	ChunkSize = 64 << 10

	tagSize      = 16
	encChunkSize = ChunkSize + tagSize
	nonceSize    = 12
	lastFlag     = 0x01
)

var (
	errNotStream      = errors.New("crypto: not a guardian encrypted stream")
	errWriterClosed   = errors.New("crypto: write to a closed encrypt writer")
	errTruncated      = errors.New("crypto: encrypted stream is truncated")
	errEmptyLastChunk = errors.New("crypto: encrypted stream ends with an empty chunk")
)

// NewEncryptWriter returns a writer that encrypts what is written to it under
// fk and writes the encrypted stream to dst. It writes the header at once.
//
// The caller must call Close to write the final chunk; without it the stream
// does not decrypt. Close does not close dst. Writes are buffered to
// [ChunkSize], and memory use is constant whatever the stream's length.
func NewEncryptWriter(dst io.Writer, fk *FileKey) (io.WriteCloser, error) {
	var salt [saltSize]byte
	rand.Read(salt[:])
	w, err := newEncryptWriter(dst, fk, salt)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func newEncryptWriter(dst io.Writer, fk *FileKey, salt [saltSize]byte) (*encryptWriter, error) {
	var header [headerSize]byte
	copy(header[:], streamMagic)
	header[len(streamMagic)] = streamVersion
	copy(header[len(streamMagic)+1:], salt[:])
	if _, err := dst.Write(header[:]); err != nil {
		return nil, fmt.Errorf("failed to write header: %w", err)
	}
	return &encryptWriter{aead: streamAEAD(fk, salt[:]), dst: dst, buf: chunkPool.Get().(*[encChunkSize]byte)}, nil
}

// chunkPool holds encryptWriter chunk buffers: a 64 KiB allocation per
// stream was a quarter of the bytes the intake allocated, and the garbage
// collector's work grows with them. A buffer is cleared before it goes back,
// since it held plaintext.
var chunkPool = sync.Pool{New: func() any { return new([encChunkSize]byte) }}

func streamAEAD(fk *FileKey, salt []byte) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, fk.key[:], salt, streamInfo, keySize)
	if err != nil {
		// Only an output length out of range fails.
		panic("crypto: internal error: " + err.Error())
	}
	defer clear(key)
	return newGCM(key)
}

type encryptWriter struct {
	aead  cipher.AEAD
	dst   io.Writer
	buf   *[encChunkSize]byte // plaintext buf[:n], sealed in place; nil once closed
	n     int
	nonce [nonceSize]byte
	err   error // sticky: once set, every call returns it
}

func (w *encryptWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		// A full buffer is flushed only when more data arrives, so that
		// Close can mark it last if none does.
		if w.n == ChunkSize {
			if err := w.flush(false); err != nil {
				w.err = err
				return written, err
			}
		}
		c := copy(w.buf[w.n:ChunkSize], p)
		w.n += c
		p = p[c:]
		written += c
	}
	return written, nil
}

// Close writes the final chunk. It does not close the underlying writer.
func (w *encryptWriter) Close() error {
	if w.err != nil {
		if w.buf != nil {
			w.release()
		}
		return w.err
	}
	if err := w.flush(true); err != nil {
		w.err = err
		return err
	}
	w.err = errWriterClosed
	w.release()
	return nil
}

// release clears the chunk buffer and returns it to the pool. A writer
// abandoned without Close leaves its buffer to the garbage collector.
func (w *encryptWriter) release() {
	clear(w.buf[:])
	chunkPool.Put(w.buf)
	w.buf = nil
}

func (w *encryptWriter) flush(last bool) error {
	if last {
		w.nonce[nonceSize-1] = lastFlag
	}
	ct := w.aead.Seal(w.buf[:0], w.nonce[:], w.buf[:w.n], nil)
	w.n = 0
	incCounter(&w.nonce)
	if _, err := w.dst.Write(ct); err != nil {
		return fmt.Errorf("failed to write chunk: %w", err)
	}
	return nil
}

// incCounter increments the 11-byte big-endian chunk counter at the start of
// nonce.
func incCounter(nonce *[nonceSize]byte) {
	for i := nonceSize - 2; i >= 0; i-- {
		nonce[i]++
		if nonce[i] != 0 {
			return
		}
	}
	// 2^88 chunks of 64 KiB cannot be reached.
	panic("crypto: chunk counter wrapped around")
}

// NewDecryptReader reads an encrypted stream made by [NewEncryptWriter] from
// src and returns a reader of its plaintext. It reads and checks the header
// at once.
//
// Each chunk is authenticated before any of its plaintext is returned, so a
// reader of a tampered, truncated or extended stream, or of a stream
// encrypted under another key, sees at most the authentic chunks before the
// damage and then an error; it sees [io.EOF] only at the authentic end.
// Plaintext already returned cannot be taken back: a caller that must not act
// on a partial file should read to io.EOF before acting. Memory use is
// constant.
func NewDecryptReader(src io.Reader, fk *FileKey) (io.Reader, error) {
	var header [headerSize]byte
	if _, err := io.ReadFull(src, header[:]); err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, errNotStream
	} else if err != nil {
		return nil, fmt.Errorf("failed to read header: %w", err)
	}
	if string(header[:len(streamMagic)]) != streamMagic {
		return nil, errNotStream
	}
	if v := header[len(streamMagic)]; v != streamVersion {
		return nil, fmt.Errorf("crypto: unsupported encrypted stream version %d", v)
	}
	return &decryptReader{
		aead: streamAEAD(fk, header[len(streamMagic)+1:]),
		src:  src,
	}, nil
}

type decryptReader struct {
	aead cipher.AEAD
	src  io.Reader
	// buf holds one chunk, opened in place, plus one byte read ahead: a
	// chunk is the last one exactly when nothing follows it, and reading
	// ahead tells so without trying both nonces.
	buf    [encChunkSize + 1]byte
	ahead  bool   // buf[encChunkSize] holds the first byte of the next chunk
	unread []byte // authenticated plaintext not yet returned, in buf
	nonce  [nonceSize]byte
	chunk  uint64 // index of the next chunk, for errors
	err    error  // sticky: io.EOF at the authentic end, or the failure
}

func (r *decryptReader) Read(p []byte) (int, error) {
	if len(r.unread) > 0 {
		n := copy(p, r.unread)
		r.unread = r.unread[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	last, err := r.readChunk()
	if err != nil {
		r.err = err
		return 0, err
	}
	if last {
		r.err = io.EOF
	}
	n := copy(p, r.unread)
	r.unread = r.unread[n:]
	if n == 0 && last {
		return 0, io.EOF
	}
	return n, nil
}

// readChunk reads, authenticates and decrypts the next chunk into r.unread.
// It must be called only when r.unread is empty, as the chunk reuses buf.
func (r *decryptReader) readChunk() (last bool, err error) {
	have := 0
	if r.ahead {
		r.buf[0] = r.buf[encChunkSize]
		have = 1
	}
	n, err := io.ReadFull(r.src, r.buf[have:])
	in := r.buf[:have+n]
	switch {
	case err == nil:
		// A byte follows this chunk, so it is not the last.
		in, r.ahead = r.buf[:encChunkSize], true
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		last, r.ahead = true, false
	default:
		return false, fmt.Errorf("failed to read chunk: %w", err)
	}
	if last {
		if len(in) < tagSize {
			return false, errTruncated
		}
		if len(in) == tagSize && r.chunk > 0 {
			// The writer never ends a non-empty stream with an empty
			// chunk; accepting one would give a plaintext two
			// encodings.
			return false, errEmptyLastChunk
		}
		r.nonce[nonceSize-1] = lastFlag
	}
	out, err := r.aead.Open(in[:0], r.nonce[:], in, nil)
	if err != nil {
		// Say little: which check failed would help only an attacker.
		return false, fmt.Errorf("crypto: encrypted stream chunk %d failed authentication", r.chunk)
	}
	incCounter(&r.nonce)
	r.chunk++
	r.unread = out
	return last, nil
}
