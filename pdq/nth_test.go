package pdq

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNth: the selection returns what sorting puts at each index, for
// random, sorted, reversed and constant input, ties included.
func TestNth(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	inputs := map[string][]float32{}
	for _, n := range []int{1, 2, 3, 7, 256} {
		random, ties := make([]float32, n), make([]float32, n)
		for i := range n {
			random[i] = rnd.Float32()*2 - 1
			ties[i] = float32(rnd.IntN(3))
		}
		sorted := slices.Clone(random)
		slices.Sort(sorted)
		reversed := slices.Clone(sorted)
		slices.Reverse(reversed)
		constant := make([]float32, n)
		for name, in := range map[string][]float32{"random": random, "ties": ties, "sorted": sorted, "reversed": reversed, "constant": constant} {
			inputs[name+"/"+itoa(n)] = in
		}
	}
	for name, in := range inputs {
		want := slices.Clone(in)
		slices.Sort(want)
		for k := range in {
			a := slices.Clone(in)
			if got := nth(a, k); got != want[k] {
				t.Errorf("%s: nth(%d) = %v, want %v", name, k, got, want[k])
			}
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
