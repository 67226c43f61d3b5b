package pdq

import "testing"

// TestDihedralFromHash compares the variants derived from a hash alone
// with the reference's exact dihedral hashes: transposition is exact, and
// the mirrored ones stay within 20 bits for every vector worth matching.
func TestDihedralFromHash(t *testing.T) {
	if VariantNames != dihedralNames {
		t.Fatalf("VariantNames = %v; the reference's are %v", VariantNames, dihedralNames)
	}
	worst := 0
	for _, v := range mustVectors(t) {
		got := DihedralFromHash(v.dihedral[Original])
		if got[Original] != v.dihedral[Original] || got[FlipPlus1] != v.dihedral[FlipPlus1] {
			t.Errorf("%s: the original or transposed hash is not exact", v.file)
		}
		if v.quality < MinQuality {
			continue
		}
		for k := range got {
			d := got[k].Distance(v.dihedral[k])
			worst = max(worst, d)
			if d > 20 {
				t.Errorf("%s: %s derived from the hash is %d bits from the reference's", v.file, VariantNames[k], d)
			}
		}
	}
	if worst == 0 {
		t.Error("every derived variant is exact: the test vectors cannot be right")
	}
	t.Logf("worst distance to the reference's dihedral hashes: %d", worst)
}
