package triage

import (
	"math"

	"github.com/guardian-network/guardian"
)

// Confident says, for each of a's countries in rank order, whether the
// evidence is strong enough to refer the report there without an analyst
// looking first. The first country is confident when a's confidence is at
// least confidentTop; each further one when the first is and its own
// support (from its weight, as Resolve computes the first's) times a's
// markers factor is at least confidentOther. docs/triage.md gives the
// values.
//
// It reads only what a stores, so an assessment read back from the store
// gives the same answer as a fresh one.
func Confident(a *guardian.Assessment) []bool {
	markers := 1.0
	for _, f := range a.ConfidenceFactors {
		if f.Name == "markers" {
			markers = f.Value
		}
	}
	top := a.Confidence >= confidentTop
	out := make([]bool, len(a.Countries))
	for i, c := range a.Countries {
		out[i] = top
		if i > 0 {
			out[i] = top && (1-math.Exp(-c.Weight/supportScale))*markers >= confidentOther
		}
	}
	return out
}
