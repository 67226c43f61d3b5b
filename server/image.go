package server

import (
	"bytes"
	"errors"
	"image"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/pdq"
)

// MaxHashedImage is the largest file the upload handler PDQ-hashes. PDQ
// needs the decoded image, and so the whole file, which must never touch
// the disk in the clear: it is held in memory, beside its encrypted copy
// streaming into the evidence store, and this bounds that memory per
// upload. Larger files are recorded as too large to hash.
const MaxHashedImage = 32 << 20

// imageBuffer keeps the first bytes of an upload in memory, up to a limit,
// for hashing once the upload is complete. Past the limit it lets go of
// them, and so it does as soon as the first bytes show a file that is not
// an image of a format the hub decodes (a video, an archive): such a file
// is never hashed, and its plaintext need not stay in memory while it
// streams in. It never leaves plaintext behind: when it grows, the old
// buffer is zeroed, and Wipe zeroes the last one.
type imageBuffer struct {
	buf      []byte
	max      int
	over     bool // past max
	sniffed  bool // the first sniffLen bytes were looked at
	notImage bool // and they are of no image format
}

// sniffLen is how many bytes tell whether a file can be an image: the
// image package tells a format by its first bytes (webp's, the longest of
// those the hub decodes, are 15).
const sniffLen = 64

// Write implements io.Writer; it never fails, so that hashing can never
// fail an upload.
func (b *imageBuffer) Write(p []byte) (int, error) {
	if b.over || b.notImage {
		return len(p), nil
	}
	if len(b.buf)+len(p) > b.max {
		b.over = true
		b.Wipe()
		return len(p), nil
	}
	if !b.sniffed && len(b.buf)+len(p) >= sniffLen {
		// Before the buffer grows to hold p: most of an upload comes in
		// its first pieces.
		b.sniffed = true
		var head [sniffLen]byte
		copy(head[copy(head[:], b.buf):], p)
		_, _, err := image.DecodeConfig(bytes.NewReader(head[:]))
		clear(head[:])
		if errors.Is(err, image.ErrFormat) {
			b.notImage = true
			b.Wipe()
			return len(p), nil
		}
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		grown := make([]byte, len(b.buf), min(max(2*cap(b.buf), len(b.buf)+len(p), 64<<10), b.max))
		copy(grown, b.buf)
		clear(b.buf[:cap(b.buf)])
		b.buf = grown
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Wipe zeroes and drops what the buffer holds.
func (b *imageBuffer) Wipe() {
	clear(b.buf[:cap(b.buf)])
	b.buf = nil
}

// hashImage fills in the image status and PDQ hash of f from the buffered
// upload and wipes the buffer. A file that is not an image, or is corrupt,
// is recorded as such; nothing here fails the upload.
func hashImage(b *imageBuffer, f *guardian.File) {
	defer b.Wipe()
	if b.over {
		f.ImageStatus = guardian.ImageTooLarge
		return
	}
	if b.notImage {
		f.ImageStatus = guardian.ImageNotImage
		return
	}
	// image.DecodeConfig tells a format it does not know (not an image)
	// from a known one it cannot read (undecodable); pdq.HashReader says
	// only the second.
	if _, _, err := image.DecodeConfig(bytes.NewReader(b.buf)); errors.Is(err, image.ErrFormat) {
		f.ImageStatus = guardian.ImageNotImage
		return
	}
	res, err := pdq.HashReader(bytes.NewReader(b.buf))
	switch {
	case errors.Is(err, pdq.ErrTooLarge):
		f.ImageStatus = guardian.ImageTooLarge
	case err != nil:
		f.ImageStatus = guardian.ImageUndecodable
	default:
		q := res.Quality
		f.ImageStatus, f.PDQ, f.PDQQuality = guardian.ImageHashed, res.Hash.String(), &q
		f.PDQDihedral = make([]string, len(res.Dihedral))
		for i, h := range res.Dihedral {
			f.PDQDihedral[i] = h.String()
		}
	}
}
