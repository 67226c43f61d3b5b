package pdq

// VariantNames are the names of the 8 dihedral transformations, indexed by
// [Original] to [FlipMinus1], as the reference's tool prints them.
var VariantNames = [8]string{"orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"}

// DihedralFromHash approximates the 8 dihedral hashes of a picture from its
// hash alone, for a hash stored without them. The exact ones
// ([Result.Dihedral]) need the DCT block, whose coefficients a hash only
// gives as above or below their median: transposing permutes the bits
// exactly, but a mirrored axis negates coefficients, and a negated
// coefficient lands above the new median only roughly where it was below
// the old one. So a variant here is the bits permuted as the
// transformation permutes coefficients, with the negated ones inverted.
// On the reference vectors of quality 50 or more it is within 20 bits of
// the exact dihedral hash (usually 2–10): it finds rotated and mirrored
// copies that are close, not all of them, and a caller that has the
// picture's Result should use its Dihedral instead.
func DihedralFromHash(h Hash) [8]Hash {
	var out [8]Hash
	for k := range out {
		var t Hash
		for i := range 16 {
			for j := range 16 {
				b := h.Bit(16*i + j)
				ieven, jeven, odd := i&1 == 0, j&1 == 0, (i+j)&1 == 1
				at, inv := 16*i+j, false
				switch k {
				case Rotate90:
					at, inv = 16*j+i, jeven
				case Rotate180:
					inv = odd
				case Rotate270:
					at, inv = 16*j+i, ieven
				case FlipX:
					inv = ieven
				case FlipY:
					inv = jeven
				case FlipPlus1:
					at = 16*j + i
				case FlipMinus1:
					at, inv = 16*j+i, odd
				}
				if b != inv {
					t.setBit(at)
				}
			}
		}
		out[k] = t
	}
	return out
}
