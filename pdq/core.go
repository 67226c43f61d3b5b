package pdq

import (
	"math"
)

// This file is the image-independent part of PDQ: from a float32 luminance
// matrix to the hash, the quality and the dihedral hashes. It follows the C++
// reference operation by operation (pdq.md §1.3–1.9) because the hash is a
// threshold at the median: a coefficient within rounding distance of the
// median flips its bit when any sum is done in another order. Every
// multiply whose result is added is wrapped in an explicit float32
// conversion, which the Go spec defines as rounding and which therefore
// forbids fusing into an FMA; without it, amd64 with GOAMD64=v3 and arm64
// give other hashes for images whose coefficients tie (flat, gradients).

// minDim is the reference's MIN_HASHABLE_DIM: smaller images get the
// all-zero hash and quality 0.
const minDim = 5

// dct is the 16x64 matrix of DCT basis rows 1..16 (row 0, the DC term, is
// never used). The scale is a float32 constant, the cosine a float64 and
// the product is rounded once to float32, as in the reference.
var dct = func() (d [16][64]float32) {
	scale := float32(math.Sqrt(2.0 / 64))
	step := math.Pi / 2 / 64
	for i := range 16 {
		for j := range 64 {
			d[i][j] = float32(float64(scale) * math.Cos(step*float64(i+1)*float64(2*j+1)))
		}
	}
	return d
}()

// hashLuma computes the hash, quality and dihedral hashes of a rows x cols
// row-major luminance matrix. buf is overwritten (it is the reference's
// fullBuffer1); tmp must have the same length and is scratch.
func hashLuma(buf, tmp []float32, rows, cols int) Result {
	if rows < minDim || cols < minDim {
		return Result{}
	}
	var a [64][64]float32
	if rows == 64 && cols == 64 {
		// The reference copies a 64x64 input without blurring. A window-1
		// running sum is not a copy in float32, so the shortcut is part of
		// the output, not only an optimisation.
		for i := range 64 {
			copy(a[i][:], buf[i*64:(i+1)*64])
		}
	} else {
		jarosz(buf, tmp, rows, cols)
		for i := range 64 {
			ini := int((float64(i) + 0.5) * float64(rows) / 64)
			for j := range 64 {
				inj := int((float64(j) + 0.5) * float64(cols) / 64)
				a[i][j] = buf[ini*cols+inj]
			}
		}
	}
	var r Result
	r.Quality = quality(&a)
	b := dct64To16(&a)
	for k := range r.Dihedral {
		t := dihedral(&b, k)
		r.Dihedral[k] = bitsOf(&t)
	}
	r.Hash = r.Dihedral[Original]
	return r
}

// windowSize is the reference's Jarosz window for 64 output cells and two
// passes: ceil(n/128).
func windowSize(n int) int { return (n + 127) / 128 }

// jarosz blurs buf in place with two passes of a horizontal then a
// vertical box filter, which approximates a tent filter.
func jarosz(buf, tmp []float32, rows, cols int) {
	wr, wc := windowSize(cols), windowSize(rows)
	sums := make([]float32, cols)
	for range 2 {
		for i := range rows {
			boxRow(buf[i*cols:(i+1)*cols], tmp[i*cols:(i+1)*cols], wr)
		}
		boxCols(tmp, buf, sums, rows, cols, wc)
	}
}

// boxRow is the reference's box1DFloat along one row: a running sum that
// first grows, then slides (add the entering sample, then subtract the
// leaving one) and finally shrinks, each output being the sum divided by
// the current window length. The running sum drifts by rounding, and that
// drift is part of the reference's output, so it must not be replaced by
// a prefix sum or a per-window sum.
func boxRow(in, out []float32, w int) {
	n := len(in)
	half := (w + 2) / 2
	var sum float32
	cnt, li, ri, oi := 0, 0, 0, 0
	for range half - 1 {
		sum += in[ri]
		cnt++
		ri++
	}
	for range w - half + 1 {
		sum += in[ri]
		cnt++
		out[oi] = sum / float32(cnt)
		ri++
		oi++
	}
	for range n - w {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / float32(cnt)
		li++
		ri++
		oi++
	}
	for range half - 1 {
		sum -= in[li]
		cnt--
		out[oi] = sum / float32(cnt)
		li++
		oi++
	}
}

// boxCols runs boxRow down every column at once, keeping one running sum
// per column. Each column sees exactly the reference's sequence of
// operations; walking row by row only makes the memory access sequential.
func boxCols(in, out, sums []float32, rows, cols, w int) {
	clear(sums)
	half := (w + 2) / 2
	cnt, li, ri, oi := 0, 0, 0, 0
	add := func() {
		r := in[ri*cols : (ri+1)*cols]
		for j := range sums {
			sums[j] += r[j]
		}
	}
	sub := func() {
		r := in[li*cols : (li+1)*cols]
		for j := range sums {
			sums[j] -= r[j]
		}
	}
	write := func() {
		o := out[oi*cols : (oi+1)*cols]
		c := float32(cnt)
		for j := range sums {
			o[j] = sums[j] / c
		}
	}
	for range half - 1 {
		add()
		cnt++
		ri++
	}
	for range w - half + 1 {
		add()
		cnt++
		write()
		ri++
		oi++
	}
	for range rows - w {
		add()
		sub()
		write()
		li++
		ri++
		oi++
	}
	for range half - 1 {
		sub()
		cnt--
		write()
		li++
		oi++
	}
}

// quality is the reference's gradient metric: the sum of the absolute
// neighbour differences scaled to 0..100 and truncated before summing, so
// that only significant gradients count, divided by 90 and capped at 100.
func quality(a *[64][64]float32) int {
	sum := 0
	for i := range 63 {
		for j := range 64 {
			sum += absInt(int((a[i][j] - a[i+1][j]) * 100 / 255))
		}
	}
	for i := range 64 {
		for j := range 63 {
			sum += absInt(int((a[i][j] - a[i][j+1]) * 100 / 255))
		}
	}
	return min(sum/90, 100)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// dct64To16 computes D·A·Dᵀ for the 16 lowest non-DC frequencies, summing
// over k in ascending order as the reference does.
func dct64To16(a *[64][64]float32) (b [16][16]float32) {
	var t [16][64]float32
	for i := range 16 {
		d := &dct[i]
		for j := range 64 {
			var s float32
			for k := range 64 {
				s += float32(d[k] * a[k][j])
			}
			t[i][j] = s
		}
	}
	for i := range 16 {
		ti := &t[i]
		for j := range 16 {
			d := &dct[j]
			var s float32
			for k := range 64 {
				s += float32(ti[k] * d[k])
			}
			b[i][j] = s
		}
	}
	return b
}

// dihedral returns the DCT block of the image transformed by dihedral
// element k, derived from the original block: reversing an axis negates
// the odd frequencies along it (the even 0-based indices, since index u is
// frequency u+1), and transposing swaps the indices.
func dihedral(b *[16][16]float32, k int) (t [16][16]float32) {
	for i := range 16 {
		for j := range 16 {
			v := b[i][j]
			ieven, jeven, odd := i&1 == 0, j&1 == 0, (i+j)&1 == 1
			switch k {
			case Original:
				t[i][j] = v
			case Rotate90:
				t[j][i] = neg(v, jeven)
			case Rotate180:
				t[i][j] = neg(v, odd)
			case Rotate270:
				t[j][i] = neg(v, ieven)
			case FlipX:
				t[i][j] = neg(v, ieven)
			case FlipY:
				t[i][j] = neg(v, jeven)
			case FlipPlus1:
				t[j][i] = v
			case FlipMinus1:
				t[j][i] = neg(v, odd)
			}
		}
	}
	return t
}

func neg(v float32, yes bool) float32 {
	if yes {
		return -v
	}
	return v
}

// bitsOf thresholds a DCT block at its median. Torben's median, which the
// reference uses, returns the 128th smallest of the 256 values (the lower
// median), and the comparison is strict, so a typical hash has 128 ones.
func bitsOf(b *[16][16]float32) Hash {
	var s [256]float32
	for i := range 16 {
		copy(s[i*16:], b[i][:])
	}
	sorted := s
	med := nth(sorted[:], 127)
	var h Hash
	for k, v := range s {
		if v > med {
			h.setBit(k)
		}
	}
	return h
}

// nth returns the value that would be at index k of a sorted, reordering a
// in place: Hoare's selection, in linear time on average, where sorting
// takes n log n. The median is found eight times per image, once per
// dihedral; on the small pictures reporters send most, that saved some 4%
// of hashing one (BenchmarkHash/Small).
func nth(a []float32, k int) float32 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		// The median of three as pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for pivot < a[j] {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
