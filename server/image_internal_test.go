package server

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/guardian-network/guardian"
)

// TestImageBufferLetsGoOfNonImages: the upload's plaintext is held only
// while it may be an image. Bytes of no image format are let go of (and
// zeroed) once their first bytes say so, however they arrive; an image
// sent in small pieces is kept whole and hashed.
func TestImageBufferLetsGoOfNonImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	noise := make([]byte, 100<<10)
	for i := range noise {
		noise[i] = uint8(rng.UintN(256))
	}
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
	}
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		piece   int
		status  guardian.ImageStatus
	}{
		{"noise in one piece", noise, len(noise), guardian.ImageNotImage},
		{"noise in pieces of 10", noise, 10, guardian.ImageNotImage},
		{"png in pieces of 10", pngBytes.Bytes(), 10, guardian.ImageHashed},
		{"short text", []byte("not an image"), 5, guardian.ImageNotImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := imageBuffer{max: MaxHashedImage}
			var held []byte
			for rest := tc.content; len(rest) > 0; {
				n := min(tc.piece, len(rest))
				if _, err := b.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
				if len(tc.content)-len(rest) >= 2*sniffLen && tc.status == guardian.ImageNotImage && b.buf != nil {
					t.Fatalf("%d bytes of no image format still held after %d written", len(b.buf), len(tc.content)-len(rest))
				}
				if held == nil && b.buf != nil {
					held = b.buf[:1]
				}
			}
			f := &guardian.File{}
			hashImage(&b, f)
			if f.ImageStatus != tc.status {
				t.Errorf("image status %q, want %q", f.ImageStatus, tc.status)
			}
			if held != nil && held[:1][0] != 0 {
				t.Error("the buffer was not zeroed")
			}
		})
	}
}
