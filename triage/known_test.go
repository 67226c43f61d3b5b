package triage_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// TestAssessKnown checks the known-content rules: a report whose files
// are all in hash lists is lowered and, without aggravating annotations,
// informational; one whose files are in none, uploaded from a public
// address, is raised; a mixed one is neither.
func TestAssessKnown(t *testing.T) {
	de := MustAddrIn(t, "DE", false)
	match := func(file, list, category string, d int) guardian.KnownMatch {
		return guardian.KnownMatch{FileID: file, List: list, ListVersion: "1", Type: guardian.HashPDQ, Hash: "ab", Category: category, Distance: d}
	}
	two := func(ip string) []*guardian.FileDetails {
		return []*guardian.FileDetails{uploaded("f1", ip, dt(0), true), uploaded("f2", ip, dt(0), true)}
	}
	ids := []string{"id1", "id2"}
	for _, tt := range []struct {
		name    string
		edit    func(d *guardian.ReportDocument)
		files   []*guardian.FileDetails
		known   *guardian.KnownContent
		rules   map[string]string // rule: detail
		absent  []string
		label   guardian.Label
		urgency float64
	}{
		{
			name:  "all files known",
			files: two(de),
			known: &guardian.KnownContent{Lists: 2, Files: 2, Matches: []guardian.KnownMatch{
				match("id1", "memes", "2", 4), match("id1", "memes", "2", 0), match("id2", "vics-2026", "1", 12)}},
			rules: map[string]string{
				"known-content":                "2 of 2 reported files in hash lists: memes category 2 at distance 0; vics-2026 category 1 at distance 12",
				"known-content-without-malice": "only content already in hash lists, with no aggravating annotation",
			},
			absent:  []string{"new-content", "referral"},
			label:   guardian.LabelInformational,
			urgency: -25,
		},
		{
			name: "all files known, but sextortion",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true}
			},
			files: two(de),
			known: &guardian.KnownContent{Lists: 1, Files: 2, Matches: []guardian.KnownMatch{match("id1", "l", "", 0), match("id2", "l", "", 3)}},
			rules: map[string]string{
				"known-content": "2 of 2 reported files in hash lists: l at distance 0",
				"referral":      "actionable",
			},
			absent:  []string{"known-content-without-malice"},
			label:   guardian.LabelReferral,
			urgency: 45 - 25,
		},
		{
			name:   "one file known, one not",
			files:  two(de),
			known:  &guardian.KnownContent{Lists: 1, Files: 2, Matches: []guardian.KnownMatch{match("id2", "l", "", 0)}},
			rules:  map[string]string{"referral": "actionable"},
			absent: []string{"known-content", "new-content", "known-content-without-malice"},
			label:  guardian.LabelReferral,
		},
		{
			name:    "nothing known, public upload address",
			files:   two(de),
			known:   &guardian.KnownContent{Lists: 3, Files: 2, Matches: []guardian.KnownMatch{}},
			rules:   map[string]string{"new-content": "no file in 3 hash lists, uploaded from a public address"},
			absent:  []string{"known-content"},
			label:   guardian.LabelReferral,
			urgency: 15,
		},
		{
			name:   "nothing known, upload address locates no one",
			files:  two("198.51.100.23"),
			known:  &guardian.KnownContent{Lists: 3, Files: 2, Matches: []guardian.KnownMatch{}},
			absent: []string{"known-content", "new-content"},
			label:  guardian.LabelReferral,
		},
		{
			name:   "no lists to check",
			files:  two(de),
			known:  &guardian.KnownContent{Files: 2, Matches: []guardian.KnownMatch{}},
			absent: []string{"known-content", "new-content"},
			label:  guardian.LabelReferral,
		},
		{
			name:   "triaged without the lists",
			files:  two(de),
			absent: []string{"known-content", "new-content"},
			label:  guardian.LabelReferral,
		},
		{
			name: "a supplemental file does not count",
			files: func() []*guardian.FileDetails {
				f := two(de)
				f[1].FileRelevance = "Supplemental"
				return f
			}(),
			known:   &guardian.KnownContent{Lists: 1, Files: 2, Matches: []guardian.KnownMatch{match("id1", "l", "", 0)}},
			rules:   map[string]string{"known-content": "1 of 1 reported files in hash lists: l at distance 0"},
			label:   guardian.LabelInformational,
			urgency: -25,
		},
		{
			name:   "a file without details counts",
			files:  []*guardian.FileDetails{uploaded("f1", de, dt(0), true), nil},
			known:  &guardian.KnownContent{Lists: 1, Files: 2, Matches: []guardian.KnownMatch{match("id1", "l", "", 0)}},
			absent: []string{"known-content", "new-content"},
			label:  guardian.LabelReferral,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := baseReport()
			if tt.edit != nil {
				tt.edit(d)
			}
			tr := triage.AssessKnown(d, tt.files, ids, triage.Resolve(d, tt.files, geo.Embedded()), tt.known)
			got := map[string]string{}
			for _, r := range tr.Reasons {
				got[r.Rule] = r.Detail
			}
			for rule, detail := range tt.rules {
				if got[rule] != detail {
					t.Errorf("rule %s: detail %q, want %q", rule, got[rule], detail)
				}
			}
			for _, rule := range tt.absent {
				if _, ok := got[rule]; ok {
					t.Errorf("rule %s applied", rule)
				}
			}
			if tr.Label != tt.label || tr.Urgency != tt.urgency {
				t.Errorf("label %s, urgency %v; want %s, %v", tr.Label, tr.Urgency, tt.label, tt.urgency)
			}
			if diff := cmp.Diff(tt.known, tr.Known); diff != "" {
				t.Errorf("triage does not carry the matches (-want +got):\n%s", diff)
			}
			// Without the lists the same report is triaged as before.
			if tt.known == nil {
				plain := triage.Assess(d, tt.files, triage.Resolve(d, tt.files, geo.Embedded()))
				if diff := cmp.Diff(plain, tr); diff != "" {
					t.Errorf("AssessKnown without lists differs from Assess (-Assess +AssessKnown):\n%s", diff)
				}
			}
		})
	}
}
