package pdq

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// Hash is a 256-bit PDQ hash, stored as the big-endian 256-bit integer
// whose bit k (least significant = 0) is DCT coefficient k = 16*row + col.
// The bytes are in the order of the reference's hex form, so [Hash.String]
// is plain hex of the array and a Hash read from a hash list compares
// byte for byte with one computed here.
type Hash [32]byte

// ErrInvalidHash is returned by [ParseHash] for text that is not 64 hex
// digits.
var ErrInvalidHash = errors.New("pdq: invalid hash")

// ParseHash parses the reference's 64-digit hex form (either case).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return Hash{}, fmt.Errorf("%w: %d characters, want %d", ErrInvalidHash, len(s), 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("%w: %v", ErrInvalidHash, err)
	}
	return h, nil
}

// String returns the reference's hex form: 64 lower-case digits, the
// 16-bit word of coefficients 240..255 first.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements [encoding.TextMarshaler] with the hex form, so a
// Hash is a JSON string.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseHash].
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Distance returns the Hamming distance between two hashes: the number of
// DCT coefficients on different sides of their image's median.
func (h Hash) Distance(o Hash) int {
	a, b := h.words(), o.words()
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// Bit reports whether coefficient k (0..255, k = 16*row + col of the
// 16x16 DCT block) is above the median.
func (h Hash) Bit(k int) bool { return h[31-k/8]>>(k%8)&1 == 1 }

func (h *Hash) setBit(k int) { h[31-k/8] |= 1 << (k % 8) }

// IsZero reports whether h is the all-zero hash, which the reference
// returns for images under 5 pixels in either direction.
func (h Hash) IsZero() bool { return h == Hash{} }

// words returns h as four 64-bit words, most significant first. The index
// stores hashes this way: four popcounts compare two of them.
func (h Hash) words() [4]uint64 {
	return [4]uint64{
		binary.BigEndian.Uint64(h[0:]),
		binary.BigEndian.Uint64(h[8:]),
		binary.BigEndian.Uint64(h[16:]),
		binary.BigEndian.Uint64(h[24:]),
	}
}

func hashFromWords(w [4]uint64) Hash {
	var h Hash
	binary.BigEndian.PutUint64(h[0:], w[0])
	binary.BigEndian.PutUint64(h[8:], w[1])
	binary.BigEndian.PutUint64(h[16:], w[2])
	binary.BigEndian.PutUint64(h[24:], w[3])
	return h
}
