package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/pdq"
	"github.com/guardian-network/guardian/server"
)

// noiseImage is a synthetic image of random pixels from a fixed seed.
func noiseImage(seed uint64, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
	}
	return img
}

// noiseBytes are n random bytes from a fixed seed: no image.
func noiseBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = uint8(rng.UintN(256))
	}
	return b
}

// gradientImage is a synthetic image of a diagonal gradient.
func gradientImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestUploadHashesImages uploads generated images and other files through
// the intake API and checks what the store records of each.
func TestUploadHashesImages(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) { s.MaxUploadSize = server.MaxHashedImage + 1024 })
	id := h.submit(t)
	noisePNG := encodePNG(t, noiseImage(1, 300, 200))
	gradJPEG := encodeJPEG(t, gradientImage(640, 480))
	dihedral := map[string][]string{}
	hashOf := func(b []byte) (string, int) {
		res, err := pdq.HashReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Dihedral {
			dihedral[res.Hash.String()] = append(dihedral[res.Hash.String()], h.String())
		}
		return res.Hash.String(), res.Quality
	}
	pngHash, pngQuality := hashOf(noisePNG)
	jpegHash, jpegQuality := hashOf(gradJPEG)
	big := make([]byte, server.MaxHashedImage+1)
	copy(big, noisePNG)

	tests := []struct {
		name    string
		content []byte
		status  guardian.ImageStatus
		pdq     string
		quality int
	}{
		{"noise.png", noisePNG, guardian.ImageHashed, pngHash, pngQuality},
		{"gradient.jpg", gradJPEG, guardian.ImageHashed, jpegHash, jpegQuality},
		{"notes.txt", []byte("synthetic text, not an image\n"), guardian.ImageNotImage, "", 0},
		{"cut.png", noisePNG[:len(noisePNG)/2], guardian.ImageUndecodable, "", 0},
		{"big.png", big, guardian.ImageTooLarge, "", 0},
		// No image format, whatever its size: not kept to be hashed.
		{"noise.bin", noiseBytes(2, 100<<10), guardian.ImageNotImage, "", 0},
		{"big.bin", make([]byte, server.MaxHashedImage+1), guardian.ImageNotImage, "", 0},
	}
	fileIDs := map[string]string{}
	for _, tc := range tests {
		r, err := h.client().Upload(context.Background(), id, tc.name, bytes.NewReader(tc.content))
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 {
			t.Fatalf("%s: response code %d", tc.name, r.Code)
		}
		fileIDs[tc.name] = r.FileID
	}
	rep, err := h.Store.FindReportByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*guardian.File{}
	for _, f := range rep.Files {
		files[f.ID] = f
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := files[fileIDs[tc.name]]
			if f == nil {
				t.Fatal("file not stored")
			}
			sum := sha256.Sum256(tc.content)
			if f.SHA256 != hex.EncodeToString(sum[:]) || len(f.MD5) != 32 || len(f.SHA1) != 40 {
				t.Errorf("digests md5 %s sha1 %s sha256 %s", f.MD5, f.SHA1, f.SHA256)
			}
			if f.ImageStatus != tc.status || f.PDQ != tc.pdq {
				t.Errorf("image status %q pdq %q, want %q %q", f.ImageStatus, f.PDQ, tc.status, tc.pdq)
			}
			// The 8 rotations and flips, stored for exact matching.
			if want := dihedral[tc.pdq]; !slices.Equal(f.PDQDihedral, want) || (tc.pdq != "" && len(want) != 8) {
				t.Errorf("dihedral hashes %v, want %v", f.PDQDihedral, want)
			}
			switch {
			case tc.pdq == "" && f.PDQQuality != nil:
				t.Errorf("quality %d without a hash", *f.PDQQuality)
			case tc.pdq != "" && (f.PDQQuality == nil || *f.PDQQuality != tc.quality):
				t.Errorf("quality %v, want %d", f.PDQQuality, tc.quality)
			}
		})
	}
	if pngQuality < pdq.MinQuality {
		t.Errorf("noise image quality %d: a poor test image", pngQuality)
	}
}
