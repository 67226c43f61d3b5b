package triage_test

import (
	"math"
	"slices"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/triage"
)

func TestConfident(t *testing.T) {
	// assessment has the given confidence and markers factor, and one
	// country per weight, best first.
	assessment := func(confidence, markers float64, weights ...float64) *guardian.Assessment {
		a := &guardian.Assessment{Confidence: confidence,
			ConfidenceFactors: []guardian.ConfidenceFactor{{Name: "agreement", Value: 1}, {Name: "markers", Value: markers}}}
		for i, w := range weights {
			a.Countries = append(a.Countries, guardian.CountryScore{Country: string(rune('A'+i)) + "X", Weight: w})
		}
		return a
	}
	for _, tt := range []struct {
		name string
		a    *guardian.Assessment
		want []bool
	}{
		{"NoCountry", assessment(0, 1), []bool{}},
		{"TopAtThreshold", assessment(0.4, 1, 10), []bool{true}},
		{"TopBelowThreshold", assessment(0.399, 1, 10), []bool{false}},
		// One fresh upload address (10) gives support 0.713.
		{"OtherWithOneUpload", assessment(0.5, 1, 20, 10), []bool{true, true}},
		{"OtherWithLess", assessment(0.5, 1, 20, 9), []bool{true, false}},
		{"MarkersLowerOthers", assessment(0.5, 0.95, 20, 10), []bool{true, false}},
		{"OthersNeedTheTop", assessment(0.3, 1, 20, 20), []bool{false, false}},
		{"NoMarkersFactorCountsAsOne", &guardian.Assessment{Confidence: 0.5,
			Countries: []guardian.CountryScore{{Country: "DE", Weight: 20}, {Country: "FR", Weight: 10}}}, []bool{true, true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := triage.Confident(tt.a); !slices.Equal(got, tt.want) {
				t.Errorf("Confident = %v, want %v", got, tt.want)
			}
		})
	}
	if s := 1 - math.Exp(-10.0/8); s < 0.7 || s*0.95 >= 0.7 {
		t.Fatalf("support of weight 10 is %v: the cases above assume it is just over 0.7", s)
	}
}
