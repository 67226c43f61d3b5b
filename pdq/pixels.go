package pdq

import (
	"image"
	"image/color"
)

// This file turns a decoded image into the luminance matrix that the C++
// reference tool hashes. That tool decodes through ImageMagick to 8-bit
// PNM, so three of its habits decide the pixels:
//
//   - ImageMagick writes a greyscale PNM (P5, or P4 for black and white)
//     when every pixel has R == G == B, and the tool then uses the grey
//     value as luminance instead of 0.299R+0.587G+0.114B. In float32 the
//     two differ, so grey images must take the grey path to match.
//   - Alpha is dropped and the stored colour kept.
//   - Images over 512 pixels in either direction are squashed to exactly
//     512x512 with nearest-neighbour sampling (source floor(x*W/512)),
//     ignoring the aspect ratio (pdq.md §1.2).

// squashDim is the reference tool's DOWNSAMPLE_DIMS.
const squashDim = 512

// yccModel says how to read an *image.YCbCr: JPEG's full-range JFIF as
// libjpeg-turbo decodes it, or WebP's limited-range BT.601 as libwebp does.
type yccModel int

const (
	yccJPEG yccModel = iota
	yccWebP
)

// Luminance of 8-bit channels as the reference computes it: each product
// rounded to float32, summed left to right. Tables make the products exact
// by construction and leave nothing to fuse.
var lumaR, lumaG, lumaB = func() (r, g, b [256]float32) {
	cr, cg, cb := float32(0.299), float32(0.587), float32(0.114)
	for v := range 256 {
		r[v] = cr * float32(v)
		g[v] = cg * float32(v)
		b[v] = cb * float32(v)
	}
	return r, g, b
}()

// rgbSource reads 8-bit RGB at (x, y) relative to the image's Min.
type rgbSource interface {
	rgb(x, y int) (r, g, b uint8)
}

// lumaSize returns the size of the matrix the reference hashes for a
// w x h image: the image's, or 512x512 when it is larger in either
// direction.
func lumaSize(w, h int) (rows, cols int) {
	if w > squashDim || h > squashDim {
		return squashDim, squashDim
	}
	return h, w
}

// luma fills pix (rows x cols, from lumaSize) with the luminance matrix
// the reference would hash for img.
func luma(img image.Image, m yccModel, pix []float32) {
	bd := img.Bounds()
	w, h := bd.Dx(), bd.Dy()
	rows, cols := lumaSize(w, h)
	xs, ys := samples(w, cols), samples(h, rows)
	src, grey := source(img, m)
	if !grey {
		grey = allGrey(src, w, h)
	}
	if y, ok := src.(*yccSource); ok && y.fill(pix, xs, ys, grey) {
		return
	}
	for i, y := range ys {
		row := pix[i*cols : (i+1)*cols]
		for j, x := range xs {
			r, g, b := src.rgb(x, y)
			if grey {
				row[j] = float32(r)
			} else {
				row[j] = lumaR[r] + lumaG[g] + lumaB[b]
			}
		}
	}
}

// samples returns the nearest-neighbour source index for each of out
// positions over n inputs: floor(i*n/out), which CImg computes in double
// but exactly, since out is n or 512.
func samples(n, out int) []int {
	s := make([]int, out)
	for i := range s {
		s[i] = i * n / out
	}
	return s
}

// allGrey reports whether every pixel has R == G == B. It stops at the
// first coloured pixel, which in a colour photo is near the start.
func allGrey(src rgbSource, w, h int) bool {
	for y := range h {
		for x := range w {
			if r, g, b := src.rgb(x, y); r != g || g != b {
				return false
			}
		}
	}
	return true
}

// source picks the reader for img's concrete type; grey is true when the
// type alone proves every pixel grey.
func source(img image.Image, m yccModel) (src rgbSource, grey bool) {
	switch p := img.(type) {
	case *image.Gray:
		return graySource{p}, true
	case *image.Gray16:
		return gray16Source{p}, true
	case *image.RGBA:
		return rgbaSource{p}, false
	case *image.NRGBA:
		return nrgbaSource{p}, false
	case *image.RGBA64:
		return rgba64Source{p}, false
	case *image.NRGBA64:
		return nrgba64Source{p}, false
	case *image.Paletted:
		return newPalettedSource(p), false
	case *image.YCbCr:
		return newYCbCrSource(p, m)
	case *image.NYCbCrA:
		return newYCbCrSource(&p.YCbCr, m)
	case *image.CMYK:
		return cmykSource{p}, false
	}
	return genericSource{img, img.Bounds().Min}, false
}

// to8 reduces a 16-bit sample to 8 bits with rounding. It is exact on
// 8-bit data widened by repetition (v*257), which is how Go's decoders and
// color.Color widen it.
func to8(v uint32) uint8 { return uint8((v*255 + 32767) / 65535) }

type graySource struct{ p *image.Gray }

func (s graySource) rgb(x, y int) (r, g, b uint8) {
	v := s.p.Pix[y*s.p.Stride+x]
	return v, v, v
}

type gray16Source struct{ p *image.Gray16 }

func (s gray16Source) rgb(x, y int) (r, g, b uint8) {
	i := y*s.p.Stride + 2*x
	v := to8(uint32(s.p.Pix[i])<<8 | uint32(s.p.Pix[i+1]))
	return v, v, v
}

type nrgbaSource struct{ p *image.NRGBA }

func (s nrgbaSource) rgb(x, y int) (r, g, b uint8) {
	q := s.p.Pix[y*s.p.Stride+4*x:]
	return q[0], q[1], q[2]
}

// rgbaSource un-premultiplies translucent pixels to recover the stored
// colour that the reference keeps when it drops alpha. Go's decoders
// return NRGBA for images with alpha, so this path matters only for
// images built in memory.
type rgbaSource struct{ p *image.RGBA }

func (s rgbaSource) rgb(x, y int) (r, g, b uint8) {
	q := s.p.Pix[y*s.p.Stride+4*x:]
	if q[3] == 0xff {
		return q[0], q[1], q[2]
	}
	c := color.NRGBAModel.Convert(color.RGBA{q[0], q[1], q[2], q[3]}).(color.NRGBA)
	return c.R, c.G, c.B
}

type nrgba64Source struct{ p *image.NRGBA64 }

func (s nrgba64Source) rgb(x, y int) (r, g, b uint8) {
	q := s.p.Pix[y*s.p.Stride+8*x:]
	return to8(uint32(q[0])<<8 | uint32(q[1])), to8(uint32(q[2])<<8 | uint32(q[3])), to8(uint32(q[4])<<8 | uint32(q[5]))
}

type rgba64Source struct{ p *image.RGBA64 }

func (s rgba64Source) rgb(x, y int) (r, g, b uint8) {
	c := color.NRGBA64Model.Convert(s.p.RGBA64At(s.p.Rect.Min.X+x, s.p.Rect.Min.Y+y)).(color.NRGBA64)
	return to8(uint32(c.R)), to8(uint32(c.G)), to8(uint32(c.B))
}

type cmykSource struct{ p *image.CMYK }

func (s cmykSource) rgb(x, y int) (r, g, b uint8) {
	q := s.p.Pix[y*s.p.Stride+4*x:]
	return color.CMYKToRGB(q[0], q[1], q[2], q[3])
}

// palettedSource looks colours up in a table built once. A palette entry
// with alpha keeps its colour, except where the decoder already replaced
// it: Go's GIF decoder stores the transparent index as (0,0,0,0).
type palettedSource struct {
	p   *image.Paletted
	tab [256][3]uint8
}

func newPalettedSource(p *image.Paletted) *palettedSource {
	s := &palettedSource{p: p}
	for i, c := range p.Palette {
		if i == len(s.tab) {
			break
		}
		n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
		s.tab[i] = [3]uint8{to8(uint32(n.R)), to8(uint32(n.G)), to8(uint32(n.B))}
	}
	return s
}

func (s *palettedSource) rgb(x, y int) (r, g, b uint8) {
	c := &s.tab[s.p.Pix[y*s.p.Stride+x]]
	return c[0], c[1], c[2]
}

// genericSource reads any other image through the color.Color interface,
// reducing 16-bit channels properly.
type genericSource struct {
	img    image.Image
	origin image.Point
}

func (s genericSource) rgb(x, y int) (r, g, b uint8) {
	c := color.NRGBA64Model.Convert(s.img.At(s.origin.X+x, s.origin.Y+y)).(color.NRGBA64)
	return to8(uint32(c.R)), to8(uint32(c.G)), to8(uint32(c.B))
}
