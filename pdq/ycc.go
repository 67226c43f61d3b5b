package pdq

import "image"

// Go's JPEG and WebP decoders return the Y, Cb and Cr planes at their
// stored resolution, and image.YCbCr's At replicates each chroma sample.
// The reference sees what libjpeg-turbo (through ImageMagick) and libwebp
// return instead: chroma enlarged with a triangle filter ("fancy
// upsampling") and converted with their own fixed-point arithmetic. On a
// 4:2:0 photo the difference moves the hash by a few bits, so yccSource
// redoes both decoders' last steps. For WebP that gives libwebp's pixels
// exactly. libjpeg-turbo's inverse DCT is not redone (ImageMagick asks it
// for the float one, Go's is integer), which leaves JPEG pixels 1–3
// levels off in places and the hash up to 2 bits off; matching it would
// mean maintaining a fork of image/jpeg, a parser of untrusted input.

// yccSource reads RGB from an *image.YCbCr the way one of the two
// reference decoders would have produced it.
type yccSource struct {
	p      *image.YCbCr
	m      yccModel
	hd, vd int  // chroma subsampling divisors: 1, 2 or 4
	cw, ch int  // chroma plane size, in samples
	fh, fv bool // triangle-filter horizontally, vertically
}

func newYCbCrSource(p *image.YCbCr, m yccModel) (src rgbSource, grey bool) {
	s := &yccSource{p: p, m: m, hd: 1, vd: 1}
	switch p.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		s.hd = 2
	case image.YCbCrSubsampleRatio420:
		s.hd, s.vd = 2, 2
	case image.YCbCrSubsampleRatio440:
		s.vd = 2
	case image.YCbCrSubsampleRatio411:
		s.hd = 4
	case image.YCbCrSubsampleRatio410:
		s.hd, s.vd = 4, 2
	}
	r := p.Rect
	if !r.Empty() {
		s.cw = (r.Max.X-1)/s.hd - r.Min.X/s.hd + 1
		s.ch = (r.Max.Y-1)/s.vd - r.Min.Y/s.vd + 1
	}
	switch m {
	case yccJPEG:
		// libjpeg-turbo's jinit_upsampler: triangle filters for 2:1
		// factors, but horizontal ones only when the chroma row is wider
		// than 2 samples; 4:1 factors are replicated.
		switch {
		case s.hd == 2 && s.vd == 1:
			s.fh = s.cw > 2
		case s.hd == 2 && s.vd == 2:
			s.fh, s.fv = s.cw > 2, s.cw > 2
		case s.hd == 1 && s.vd == 2:
			s.fv = true
		}
	case yccWebP:
		// libwebp's fancy upsampler handles 4:2:0, the only layout lossy
		// WebP has.
		s.fh, s.fv = s.hd == 2 && s.vd == 2, s.hd == 2 && s.vd == 2
	}
	if m == yccJPEG && neutralChroma(p, s.cw, s.ch) {
		// Every sample 128 gives R = G = B = Y exactly in libjpeg-turbo's
		// conversion (and in its upsampler), so the image is grey without
		// converting a pixel. libwebp's conversion is not exact on grey.
		return s, true
	}
	return s, false
}

// neutralChroma reports whether every Cb and Cr sample is 128.
func neutralChroma(p *image.YCbCr, cw, ch int) bool {
	for y := range ch {
		cb := p.Cb[y*p.CStride : y*p.CStride+cw]
		cr := p.Cr[y*p.CStride : y*p.CStride+cw]
		for x := range cw {
			if cb[x] != 128 || cr[x] != 128 {
				return false
			}
		}
	}
	return true
}

func (s *yccSource) rgb(x, y int) (r, g, b uint8) {
	p := s.p
	ax, ay := p.Rect.Min.X+x, p.Rect.Min.Y+y
	yy := p.Y[p.YOffset(ax, ay)]
	// Nearest chroma sample, and the next nearest in each direction: the
	// one the pixel centre leans towards.
	nc, nr := ax/s.hd-p.Rect.Min.X/s.hd, ay/s.vd-p.Rect.Min.Y/s.vd
	fc, fr := nc-1, nr-1
	if ax&1 == 1 {
		fc = nc + 1
	}
	if ay&1 == 1 {
		fr = nr + 1
	}
	// Rows beyond the edge repeat the edge row in both decoders.
	fr = max(0, min(fr, s.ch-1))
	if !s.fv {
		fr = nr
	}
	cb := s.chroma(p.Cb, ax, ay, nc, fc, nr, fr)
	cr := s.chroma(p.Cr, ax, ay, nc, fc, nr, fr)
	if s.m == yccWebP {
		return webpToRGB(yy, cb, cr)
	}
	return jpegToRGB(yy, cb, cr)
}

// chroma returns the upsampled chroma of pixel (ax, ay) from plane c,
// given its nearest sample (nc, nr) and next-nearest column fc (possibly
// outside the plane) and row fr (already clamped).
func (s *yccSource) chroma(c []uint8, ax, ay, nc, fc, nr, fr int) uint8 {
	at := func(col, row int) int { return int(c[row*s.p.CStride+col]) }
	if !s.fh {
		if !s.fv {
			return uint8(at(nc, nr))
		}
		// libjpeg-turbo's h1v2_fancy_upsample: rounding alternates
		// between the upper and the lower output row.
		return uint8((3*at(nc, nr) + at(nc, fr) + 1 + ay&1) >> 2)
	}
	if s.m == yccWebP {
		// libwebp's UpsampleRgbLinePair: a 9-3-3-1 filter computed in
		// two rounded steps; at the left edge, and the right edge of an
		// even width, only the vertical pair is used.
		n0, f0 := at(nc, nr), at(nc, fr)
		if fc < 0 || fc >= s.cw {
			return uint8((3*n0 + f0 + 2) >> 2)
		}
		n1, f1 := at(fc, nr), at(fc, fr)
		return uint8((((n0 + 3*n1 + 3*f0 + f1 + 8) >> 3) + n0) >> 1)
	}
	fc = max(0, min(fc, s.cw-1))
	if !s.fv {
		// libjpeg-turbo's h2v1_fancy_upsample.
		return uint8((3*at(nc, nr) + at(fc, nr) + 1 + ax&1) >> 2)
	}
	// libjpeg-turbo's h2v2_fancy_upsample: vertical 3:1 sums first, then
	// horizontal 3:1, with alternating rounding.
	near := 3*at(nc, nr) + at(nc, fr)
	far := 3*at(fc, nr) + at(fc, fr)
	return uint8((3*near + far + 8 - ax&1) >> 4)
}

// libjpeg-turbo's ycc_rgb_convert tables (jdcolor.c): 16-bit fixed point,
// red and blue rounded in the table, green rounded after the sum.
var jpegCrR, jpegCbB, jpegCrG, jpegCbG = func() (crr, cbb, crg, cbg [256]int32) {
	const half = 1 << 15
	for i := range 256 {
		x := int32(i - 128)
		crr[i] = (91881*x + half) >> 16 // FIX(1.40200)
		cbb[i] = (116130*x + half) >> 16
		crg[i] = -46802 * x      // FIX(0.71414)
		cbg[i] = -22554*x + half // FIX(0.34414)
	}
	return crr, cbb, crg, cbg
}()

func jpegToRGB(y, cb, cr uint8) (r, g, b uint8) {
	yy := int32(y)
	return clamp8(yy + jpegCrR[cr]), clamp8(yy + (jpegCbG[cb]+jpegCrG[cr])>>16), clamp8(yy + jpegCbB[cb])
}

func clamp8(v int32) uint8 { return uint8(max(0, min(v, 255))) }

// webpToRGB is libwebp's VP8YuvToRgb: BT.601 limited range with 14-bit
// coefficients and a 6-bit fraction. Go's color.YCbCrToRGB reads WebP's
// planes as full range, which changes contrast and therefore the quality.
func webpToRGB(y, u, v uint8) (r, g, b uint8) {
	mh := func(v, c int) int { return v * c >> 8 }
	yy := mh(int(y), 19077)
	return webpClip(yy + mh(int(v), 26149) - 14234),
		webpClip(yy - mh(int(u), 6419) - mh(int(v), 13320) + 8708),
		webpClip(yy + mh(int(u), 33050) - 17685)
}

func webpClip(v int) uint8 {
	if v&^(256<<6-1) == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// fill writes the luminance of the sampled pixels (xs[j], ys[i]) into
// pix, like the generic loop in luma but with the per-column work of the
// common layouts (JPEG 4:2:0 with fancy upsampling, and 4:4:4) done once
// per column instead of once per pixel. It reports false for the other
// layouts, which take the generic loop.
func (s *yccSource) fill(pix []float32, xs, ys []int, grey bool) bool {
	p := s.p
	fancy420 := s.m == yccJPEG && s.fh && s.fv && s.hd == 2 && s.vd == 2
	plain := s.hd == 1 && s.vd == 1
	if !fancy420 && !plain || p.Rect.Min != (image.Point{}) {
		return false
	}
	cols := len(xs)
	nc := make([]int, cols) // nearest chroma column
	fc := make([]int, cols) // next nearest, clamped
	for j, x := range xs {
		nc[j], fc[j] = x/s.hd, x/s.hd
		if fancy420 {
			fc[j] = max(0, min(nc[j]-1+2*(x&1), s.cw-1))
		}
	}
	for i, y := range ys {
		row := pix[i*cols : (i+1)*cols]
		yrow := p.Y[y*p.YStride:]
		nr, fr := y/s.vd, y/s.vd
		if fancy420 {
			fr = max(0, min(nr-1+2*(y&1), s.ch-1))
		}
		cbn, cbf := p.Cb[nr*p.CStride:], p.Cb[fr*p.CStride:]
		crn, crf := p.Cr[nr*p.CStride:], p.Cr[fr*p.CStride:]
		for j, x := range xs {
			var cb, cr uint8
			if fancy420 {
				// libjpeg-turbo's h2v2_fancy_upsample, as in chroma.
				n, f, bias := nc[j], fc[j], 8-x&1
				cb = uint8((3*(3*int(cbn[n])+int(cbf[n])) + 3*int(cbn[f]) + int(cbf[f]) + bias) >> 4)
				cr = uint8((3*(3*int(crn[n])+int(crf[n])) + 3*int(crn[f]) + int(crf[f]) + bias) >> 4)
			} else {
				cb, cr = cbn[nc[j]], crn[nc[j]]
			}
			var r, g, b uint8
			if s.m == yccWebP {
				r, g, b = webpToRGB(yrow[x], cb, cr)
			} else {
				r, g, b = jpegToRGB(yrow[x], cb, cr)
			}
			if grey {
				row[j] = float32(r)
			} else {
				row[j] = lumaR[r] + lumaG[g] + lumaB[b]
			}
		}
	}
	return true
}
