package pdq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/iotest"
)

// TestFormats checks the GIF and WebP files in testdata against the
// expectations in testdata/formats.csv (see testdata/README.md): bit for
// bit, hash, quality and dihedral hashes.
func TestFormats(t *testing.T) {
	vs := map[string]vector{}
	for _, v := range mustVectors(t) {
		vs[v.file] = v
	}
	for _, r := range readCSVFile(t, "testdata/formats.csv") {
		t.Run(r["file"], func(t *testing.T) {
			var want vector
			var err error
			if src := r["same_pixels_as"]; src != "" {
				var ok bool
				if want, ok = vs[src]; !ok {
					t.Fatalf("no reference vector %s", src)
				}
			} else {
				if want.quality, err = strconv.Atoi(r["quality"]); err != nil {
					t.Fatal(err)
				}
				for k, name := range dihedralNames {
					if want.dihedral[k], err = ParseHash(r[name]); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := mustHashFile(t, filepath.Join("testdata", r["file"]))
			if got.Quality != want.quality {
				t.Errorf("quality = %d, want %d", got.Quality, want.quality)
			}
			for k, w := range want.dihedral {
				if got.Dihedral[k] != w {
					t.Errorf("%s = %v, want %v (distance %d)", dihedralNames[k], got.Dihedral[k], w, got.Dihedral[k].Distance(w))
				}
			}
		})
	}
}

func mustHashFile(tb testing.TB, path string) Result {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := HashReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return r
}

func mustDecodeFile(tb testing.TB, path string) image.Image {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return img
}

// TestPixelTypes hashes one picture held in each of image's pixel types
// and checks that all give the hash of the 8-bit original: 16-bit samples
// (v*257, as Go widens 8-bit data) must reduce to exactly v, alpha must be
// dropped, and palettes looked up.
func TestPixelTypes(t *testing.T) {
	src := mustDecodeFile(t, "testdata/shapes-320x240.gif").(*image.Paletted)
	b := src.Bounds()
	want, err := HashImage(src)
	if err != nil {
		t.Fatal(err)
	}
	nrgba := image.NewNRGBA(b)
	nrgba64 := image.NewNRGBA64(b)
	rgba64 := image.NewRGBA64(b)
	translucent := image.NewNRGBA(b)
	rgba := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			wide := color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, 0xffff}
			nrgba64.SetNRGBA64(x, y, wide)
			rgba64.SetRGBA64(x, y, color.RGBA64(wide))
			c.A = uint8(x % 256)
			translucent.SetNRGBA(x, y, c)
		}
	}
	for name, img := range map[string]image.Image{
		"NRGBA":             nrgba,
		"RGBA":              rgba,
		"NRGBA64":           nrgba64,
		"RGBA64":            rgba64,
		"NRGBA with alpha":  translucent,
		"image.Image":       opaqueImage{nrgba},
		"SubImage":          shift(nrgba),
		"Paletted SubImage": shift(src),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := HashImage(img)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got %v q%d, want %v q%d", got.Hash, got.Quality, want.Hash, want.Quality)
			}
		})
	}
}

// opaqueImage hides the concrete type, forcing the generic path.
type opaqueImage struct{ image.Image }

// shift returns img as a sub-image of a larger image whose bounds do not
// start at the origin.
func shift(img image.Image) image.Image {
	b := img.Bounds()
	big := b.Add(image.Pt(7, 3)).Union(image.Rect(0, 0, 1, 1))
	switch p := img.(type) {
	case *image.NRGBA:
		n := image.NewNRGBA(big)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n.Set(x+7, y+3, p.At(x, y))
			}
		}
		return n.SubImage(b.Add(image.Pt(7, 3)))
	case *image.Paletted:
		n := image.NewPaletted(big, p.Palette)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n.SetColorIndex(x+7, y+3, p.ColorIndexAt(x, y))
			}
		}
		return n.SubImage(b.Add(image.Pt(7, 3)))
	}
	panic("shift: unsupported type")
}

// TestGrey checks the greyscale path: a grey picture gives the same hash
// in Gray, Gray16 and RGB form, as the reference hashes all three as grey.
func TestGrey(t *testing.T) {
	mustVectors(t) // skips when the shared images are absent
	src := mustDecodeFile(t, filepath.Join(vectorDir, "images", "syn-gray-200x300.png"))
	g, ok := src.(*image.Gray)
	if !ok {
		t.Skipf("decoded as %T", src)
	}
	b := g.Bounds()
	g16 := image.NewGray16(b)
	rgb := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := g.GrayAt(x, y).Y
			g16.SetGray16(x, y, color.Gray16{uint16(v) * 257})
			rgb.SetNRGBA(x, y, color.NRGBA{v, v, v, 255})
		}
	}
	want, _ := HashImage(g)
	for name, img := range map[string]image.Image{"Gray16": g16, "grey NRGBA": rgb} {
		if got, _ := HashImage(img); got != want {
			t.Errorf("%s: got %v, want %v", name, got.Hash, want.Hash)
		}
	}
}

func TestSmallImages(t *testing.T) {
	for _, r := range []image.Rectangle{image.Rect(0, 0, 4, 100), image.Rect(0, 0, 100, 4), image.Rect(0, 0, 0, 0)} {
		got, err := HashImage(image.NewNRGBA(r))
		if err != nil {
			t.Fatal(err)
		}
		if got != (Result{}) {
			t.Errorf("%v: got %+v, want the zero Result", r, got)
		}
	}
	if _, err := HashImage(nil); err == nil {
		t.Error("HashImage(nil): no error")
	}
}

func TestHashReaderErrors(t *testing.T) {
	t.Run("not an image", func(t *testing.T) {
		_, err := HashReader(bytes.NewReader([]byte("%PDF-1.7 definitely not a picture")))
		if !errors.Is(err, ErrNotImage) {
			t.Errorf("err = %v, want ErrNotImage", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		b, err := os.ReadFile("testdata/shapes-320x240.gif")
		if err != nil {
			t.Fatal(err)
		}
		_, err = HashReader(bytes.NewReader(b[:len(b)/2]))
		if !errors.Is(err, ErrNotImage) {
			t.Errorf("err = %v, want ErrNotImage", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		_, err := HashReader(bytes.NewReader(pngHeader(t, 20000, 20000)))
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("reader fails", func(t *testing.T) {
		b, err := os.ReadFile("testdata/shapes-320x240.gif")
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("disk on fire")
		_, err = HashReader(io.MultiReader(bytes.NewReader(b[:100]), iotest.ErrReader(boom)))
		if !errors.Is(err, boom) || errors.Is(err, ErrNotImage) {
			t.Errorf("err = %v, want the reader's error", err)
		}
	})
}

// pngHeader returns a 1x1 PNG whose header claims w x h pixels, as a
// decompression bomb would.
func pngHeader(tb testing.TB, w, h uint32) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	// Signature (8), length (4), "IHDR" (4), then width and height.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestHashText(t *testing.T) {
	const s = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != s {
		t.Errorf("String() = %s", h)
	}
	up, err := ParseHash("D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B22")
	if err != nil || up != h {
		t.Errorf("upper case: %v, %v", up, err)
	}
	// Bit k is coefficient k: the last hex digit holds coefficients 0..3.
	if !h.Bit(1) || h.Bit(0) || h.Bit(2) || h.Bit(3) {
		t.Errorf("bits 0..3 of ...2 wrong")
	}
	var back Hash
	if err := back.UnmarshalText([]byte(s)); err != nil || back != h {
		t.Errorf("UnmarshalText: %v, %v", back, err)
	}
	for _, bad := range []string{"", s[:63], s + "0", "zz" + s[2:]} {
		if _, err := ParseHash(bad); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("ParseHash(%q) err = %v", bad, err)
		}
	}
	var other Hash
	other[0] = 0xff
	if d := (Hash{}).Distance(other); d != 8 {
		t.Errorf("Distance = %d, want 8", d)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		if back, err := ParseHash(h.String()); err != nil || back != h {
			t.Errorf("round trip of %q: %v, %v", s, back, err)
		}
	})
}

// FuzzHashReader feeds arbitrary bytes to the decoders: any input must
// give a result or an error, never a panic or an allocation beyond
// MaxPixels.
func FuzzHashReader(f *testing.F) {
	for _, name := range []string{"shapes-320x240.gif", "plasma-300x199-q60.webp", "shapes-160x120-lossless.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pngHeader(f, 20000, 20000))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := HashReader(bytes.NewReader(b))
		if err == nil && (r.Quality < 0 || r.Quality > 100) {
			t.Errorf("quality %d", r.Quality)
		}
	})
}
