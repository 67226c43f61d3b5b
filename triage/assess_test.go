package triage_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// TestAssess_Rules has one case per triage rule. Each case edits a plain
// report (a CSAM incident with one viewed file uploaded from Germany) and
// lists the rules that must apply with their weights, the rules that must
// not, and the decisions.
func TestAssess_Rules(t *testing.T) {
	de := MustAddrIn(t, "DE", false)
	viewed := func() []*guardian.FileDetails { return []*guardian.FileDetails{uploaded("f1", de, dt(0), true)} }
	annotated := func(an guardian.FileAnnotations) []*guardian.FileDetails {
		f := viewed()
		f[0].FileAnnotations = &an
		return f
	}
	type want struct {
		priority, review guardian.Priority
		label            guardian.Label
		escalated        bool
		analyst          bool
	}
	p3 := want{guardian.Priority3, guardian.Priority3, guardian.LabelReferral, false, false}
	for _, tt := range []struct {
		name    string
		edit    func(d *guardian.ReportDocument)
		files   func() []*guardian.FileDetails // viewed() when nil
		applied map[string]float64
		absent  []string
		want    *want // p3 when nil
	}{
		// Actionability.
		{
			name:    "plain report",
			applied: map[string]float64{"upload-ip-present": 25, "file-viewed": 15, "incident-time": 5, "location-confidence": 10.7, "rules-priority": 0, "referral": 0},
			absent:  []string{"other-ip", "suspect-identifiers", "victim-identified", "escalated", "not-reviewed", "incident-csam"},
		},
		{
			name: "upload address that locates no one",
			files: func() []*guardian.FileDetails {
				return []*guardian.FileDetails{uploaded("f1", "198.51.100.23", dt(0), true)}
			},
			applied: map[string]float64{"file-viewed": 15},
			absent:  []string{"upload-ip-present", "location-confidence"},
		},
		{
			name: "other address with a time",
			edit: func(d *guardian.ReportDocument) {
				user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Login", DateTime: dt(0)}, {IPAddress: de, EventName: "Login"}}
			},
			applied: map[string]float64{"other-ip": 10},
		},
		{
			name: "incident time without a zone",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.IncidentDateTime.Zoned = false
			},
			applied: map[string]float64{"incident-time": 3},
		},
		{
			name: "suspect identified, with a verified e-mail",
			edit: func(d *guardian.ReportDocument) {
				user(d).ScreenName = "fake_user_01"
				person(d).Email = []guardian.Email{{Value: "alex@example.org", Verified: ptr(true)}}
			},
			applied: map[string]float64{"suspect-identifiers": 10, "suspect-verified": 5},
		},
		{
			name:    "suspect identified, nothing verified",
			edit:    func(d *guardian.ReportDocument) { user(d).ESPIdentifier = "user-000123" },
			applied: map[string]float64{"suspect-identifiers": 10},
			absent:  []string{"suspect-verified"},
		},
		{
			name: "victim identified, prior reports, law enforcement",
			edit: func(d *guardian.ReportDocument) {
				d.Victim = []guardian.Victim{{VictimPerson: guardian.Person{FirstName: "Sam"}}}
				user(d).PriorCTReports = []int64{1000001, 1000002}
				withLE(d)
			},
			applied: map[string]float64{"victim-identified": 5, "prior-reports": 5, "law-enforcement-aware": 5},
			absent:  []string{"young-victim"},
		},

		// Urgency and priority.
		{
			name:    "trafficking",
			edit:    func(d *guardian.ReportDocument) { d.IncidentSummary.IncidentType = "Child Sex Trafficking" },
			applied: map[string]float64{"incident-trafficking": 40},
			want:    &want{guardian.Priority2, guardian.Priority2, guardian.LabelReferral, false, false},
		},
		{
			name:    "molestation",
			edit:    func(d *guardian.ReportDocument) { d.IncidentSummary.IncidentType = "Child Sexual Molestation" },
			applied: map[string]float64{"incident-molestation": 30},
		},
		{
			name:    "sex tourism",
			edit:    func(d *guardian.ReportDocument) { d.IncidentSummary.IncidentType = "Child Sex Tourism" },
			applied: map[string]float64{"incident-sex-tourism": 30},
		},
		{
			name: "obscene material",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.IncidentType = "Unsolicited Obscene Material Sent to a Child"
			},
			applied: map[string]float64{"incident-obscene-material": 10},
		},
		{
			name: "enticement with sextortion: priority 2",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.IncidentType = "Online Enticement of Children for Sexual Acts"
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true}
			},
			applied: map[string]float64{"incident-enticement": 20, "sextortion": 45},
			want:    &want{guardian.Priority2, guardian.Priority2, guardian.LabelReferral, false, false},
		},
		{
			name: "sextortion with sadistic exploitation: priority 1 for an analyst",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true, SadisticOnlineExploitation: true}
			},
			applied: map[string]float64{"sextortion": 45, "sadistic-exploitation": 45},
			want:    &want{guardian.Priority1, guardian.Priority1, guardian.LabelReferral, false, true},
		},
		{
			name: "solicitation, minors among themselves, spam",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{CSAMSolicitation: true, MinorToMinorInteraction: true, Spam: true}
			},
			applied: map[string]float64{"csam-solicitation": 15, "minor-to-minor": -15, "spam": -10},
		},
		{
			name: "physical harm of an infant, live: priority 1",
			files: func() []*guardian.FileDetails {
				return annotated(guardian.FileAnnotations{PhysicalHarm: true, Infant: true, LiveStreaming: true})
			},
			applied: map[string]float64{"physical-harm": 40, "infant": 30, "live-streaming": 30},
			want:    &want{guardian.Priority1, guardian.Priority1, guardian.LabelReferral, false, true},
		},
		{
			name: "violence, bestiality, self-production",
			files: func() []*guardian.FileDetails {
				return annotated(guardian.FileAnnotations{ViolenceGore: true, Bestiality: true, PossibleSelfProduction: true})
			},
			applied: map[string]float64{"violence-gore": 25, "bestiality": 20, "self-production": 5},
			want:    &want{guardian.Priority2, guardian.Priority2, guardian.LabelReferral, false, false},
		},
		{
			name: "generated, drawn, viral",
			files: func() []*guardian.FileDetails {
				return annotated(guardian.FileAnnotations{GenerativeAI: true, AnimeDrawingVirtualHentai: true, Viral: true})
			},
			applied: map[string]float64{"generative-ai": -10, "drawn-or-virtual": -20, "viral": -20},
			absent:  []string{"meme-without-malice"},
		},
		{
			name: "supplemental files do not count",
			files: func() []*guardian.FileDetails {
				f := annotated(guardian.FileAnnotations{PhysicalHarm: true})
				f[0].FileRelevance = guardian.RelevanceSupplementalReported
				return f
			},
			absent: []string{"physical-harm"},
		},
		{
			name: "highest industry classification counts",
			files: func() []*guardian.FileDetails {
				f := append(viewed(), uploaded("f2", de, dt(0), true), uploaded("f3", de, dt(0), true))
				f[0].IndustryClassification, f[1].IndustryClassification, f[2].IndustryClassification = "B1", "A2", "B2"
				return f
			},
			applied: map[string]float64{"classification-a2": 15},
			absent:  []string{"classification-b1", "classification-b2"},
		},
		{
			name: "young victim by age",
			edit: func(d *guardian.ReportDocument) {
				d.IntendedRecipient = []guardian.IntendedRecipient{{IntendedRecipientPerson: &guardian.Person{Age: ptr(9)}}}
			},
			applied: map[string]float64{"young-victim": 10, "victim-identified": 5},
		},
		{
			name: "young victim by date of birth",
			edit: func(d *guardian.ReportDocument) {
				dob, err := guardian.ParseDate("2015-01-01")
				if err != nil {
					panic(err)
				}
				d.Victim = []guardian.Victim{{VictimPerson: guardian.Person{DateOfBirth: &dob}}}
			},
			applied: map[string]float64{"young-victim": 10},
		},
		{
			name: "victim of 14 is not young by this rule",
			edit: func(d *guardian.ReportDocument) {
				d.Victim = []guardian.Victim{{VictimPerson: guardian.Person{Age: ptr(14)}}}
			},
			absent: []string{"young-victim"},
		},

		// Escalation and review.
		{
			name: "escalated: provisional priority 1 for an analyst",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.EscalateToHighPriority = "Synthetic: a meeting was proposed."
			},
			applied: map[string]float64{"escalated": 0, "referral-escalated": 0},
			want:    &want{guardian.Priority1, guardian.Priority3, guardian.LabelReferral, true, true},
		},
		{
			name:   "escalation text of blanks is no escalation",
			edit:   func(d *guardian.ReportDocument) { d.IncidentSummary.EscalateToHighPriority = "  \n" },
			absent: []string{"escalated"},
		},
		{
			name:    "no file viewed: priority E",
			files:   func() []*guardian.FileDetails { return []*guardian.FileDetails{uploaded("f1", de, dt(0), false), nil} },
			applied: map[string]float64{"not-reviewed": 0},
			absent:  []string{"file-viewed"},
			want:    &want{guardian.PriorityUnreviewed, guardian.Priority3, guardian.LabelReferral, false, false},
		},
		{
			name: "no file viewed, but rules say priority 1: E, and an analyst",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true, SadisticOnlineExploitation: true}
			},
			files: func() []*guardian.FileDetails { return []*guardian.FileDetails{uploaded("f1", de, dt(0), false)} },
			want:  &want{guardian.PriorityUnreviewed, guardian.Priority1, guardian.LabelReferral, false, true},
		},
		{
			name:  "no file viewed, escalated: 1",
			edit:  func(d *guardian.ReportDocument) { d.IncidentSummary.EscalateToHighPriority = "Synthetic." },
			files: func() []*guardian.FileDetails { return []*guardian.FileDetails{uploaded("f1", de, dt(0), false)} },
			want:  &want{guardian.Priority1, guardian.Priority3, guardian.LabelReferral, true, true},
		},
		{
			name: "no files at all is not E",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.IncidentType = "Online Enticement of Children for Sexual Acts"
				user(d).ESPIdentifier = "user-1"
			},
			files:  func() []*guardian.FileDetails { return nil },
			absent: []string{"not-reviewed"},
		},

		// Labels.
		{
			name:    "thin report: informational",
			files:   func() []*guardian.FileDetails { return nil },
			applied: map[string]float64{"thin-report": 0},
			want:    &want{guardian.Priority3, guardian.Priority3, guardian.LabelInformational, false, false},
		},
		{
			name:    "thin but escalated: referral",
			edit:    func(d *guardian.ReportDocument) { d.IncidentSummary.EscalateToHighPriority = "Synthetic." },
			files:   func() []*guardian.FileDetails { return nil },
			applied: map[string]float64{"referral-escalated": 0},
			absent:  []string{"thin-report"},
			want:    &want{guardian.Priority1, guardian.Priority3, guardian.LabelReferral, true, true},
		},
		{
			name: "only potential memes: informational",
			files: func() []*guardian.FileDetails {
				f := append(viewed(), uploaded("f2", de, dt(0), true))
				f[0].PotentialMeme = ptr(true)
				f[1].FileAnnotations = &guardian.FileAnnotations{PotentialMeme: true}
				return f
			},
			applied: map[string]float64{"potential-meme": -30, "meme-without-malice": 0},
			want:    &want{guardian.Priority3, guardian.Priority3, guardian.LabelInformational, false, false},
		},
		{
			name: "memes with sextortion: referral",
			edit: func(d *guardian.ReportDocument) {
				d.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true}
			},
			files: func() []*guardian.FileDetails {
				f := viewed()
				f[0].PotentialMeme = ptr(true)
				return f
			},
			applied: map[string]float64{"potential-meme": -30, "sextortion": 45},
			absent:  []string{"meme-without-malice"},
		},
		{
			name: "viral meme batch: informational",
			edit: func(d *guardian.ReportDocument) {
				d.BatchedReport = &guardian.BatchedReport{Reason: "VIRAL_POTENTIAL_MEME"}
			},
			applied: map[string]float64{"viral-meme-batch": -30, "meme-without-malice": 0},
			want:    &want{guardian.Priority3, guardian.Priority3, guardian.LabelInformational, false, false},
		},
		{
			name: "one meme among other files: referral",
			files: func() []*guardian.FileDetails {
				f := append(viewed(), uploaded("f2", de, dt(0), true))
				f[0].PotentialMeme = ptr(true)
				return f
			},
			absent: []string{"meme-without-malice"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := baseReport()
			if tt.edit != nil {
				tt.edit(d)
			}
			files := viewed()
			if tt.files != nil {
				files = tt.files()
			}
			tr := triage.Assess(d, files, triage.Resolve(d, files, geo.Embedded()))
			got := map[string]float64{}
			for _, r := range tr.Reasons {
				if _, dup := got[r.Rule]; dup {
					t.Errorf("rule %s applied twice", r.Rule)
				}
				got[r.Rule] = r.Weight
				if r.Detail == "" {
					t.Errorf("rule %s has no detail", r.Rule)
				}
			}
			for rule, w := range tt.applied {
				if gw, ok := got[rule]; !ok || gw != w {
					t.Errorf("rule %s: applied %v with weight %v, want weight %v", rule, ok, gw, w)
				}
			}
			for _, rule := range tt.absent {
				if _, ok := got[rule]; ok {
					t.Errorf("rule %s applied", rule)
				}
			}
			w := p3
			if tt.want != nil {
				w = *tt.want
			}
			gotW := want{tr.Priority, tr.ReviewPriority, tr.Label, tr.Escalated, tr.NeedsAnalyst}
			if diff := cmp.Diff(w, gotW, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			// Score and urgency are the sums of the reasons' weights.
			var score, urgency float64
			for _, r := range tr.Reasons {
				switch r.Scale {
				case guardian.ScaleActionability:
					score += r.Weight
				case guardian.ScaleUrgency:
					urgency += r.Weight
				}
			}
			if round3(score) != round3(tr.Score) || round3(urgency) != round3(tr.Urgency) {
				t.Errorf("Score %v, Urgency %v; reasons add up to %v, %v", tr.Score, tr.Urgency, score, urgency)
			}
			if tr.RulesVersion != triage.RulesVersion {
				t.Errorf("RulesVersion = %q", tr.RulesVersion)
			}
		})
	}
}

// TestAssess_RichReport triages the reference's rich report: escalated,
// sextortion and solicitation in an enticement, one viral file.
func TestAssess_RichReport(t *testing.T) {
	doc := MustParseReport(t, "report-rich.xml")
	files := []*guardian.FileDetails{MustParseFileDetails(t, "filedetails.xml")}
	tr := triage.Assess(doc, files, triage.Resolve(doc, files, geo.Embedded()))
	if tr.Priority != guardian.Priority1 || tr.ReviewPriority != guardian.Priority2 || !tr.Escalated || !tr.NeedsAnalyst || tr.Label != guardian.LabelReferral {
		t.Errorf("triage %+v", tr)
	}
	if tr.Urgency != 55 { // enticement 20 + sextortion 45 + solicitation 15 - generative AI 10 - viral 20 + B2 5
		t.Errorf("Urgency = %v, want 55", tr.Urgency)
	}
	// The escalation text stays in the report: no reason repeats it.
	for _, r := range tr.Reasons {
		if strings.Contains(r.Detail, "meeting") || strings.Contains(r.Detail, "Synthetic") {
			t.Errorf("reason %s quotes the report: %q", r.Rule, r.Detail)
		}
	}
}

// TestAssess_MinimalReport: a minimal report (one URL, no files, no user)
// is too thin to act on.
func TestAssess_MinimalReport(t *testing.T) {
	doc := MustParseReport(t, "report-minimal.xml")
	a := triage.Resolve(doc, nil, geo.Embedded())
	tr := triage.Assess(doc, nil, a)
	if !a.NoLocation || tr.Label != guardian.LabelInformational || tr.Priority != guardian.Priority3 {
		t.Errorf("assessment %+v, triage %+v", a, tr)
	}
}

// TestProvisional: the document alone gives priority 1 to an escalated
// report and to one whose annotations reach priority 1's urgency, and
// never E (that needs the files' details); triage may then decide
// otherwise, which the provisional priority does not bind.
func TestProvisional(t *testing.T) {
	rich := MustParseReport(t, "report-rich.xml") // escalated
	minimal := MustParseReport(t, "report-minimal.xml")
	annotated := MustParseReport(t, "report-minimal.xml")
	annotated.IncidentSummary.ReportAnnotations = &guardian.ReportAnnotations{Sextortion: true, SadisticOnlineExploitation: true}
	for _, c := range []struct {
		name string
		doc  *guardian.ReportDocument
		want guardian.Priority
	}{
		{"escalated", rich, guardian.Priority1},
		{"minimal", minimal, guardian.Priority3},
		{"sextortion and sadistic", annotated, guardian.Priority1},
	} {
		if got := triage.Provisional(c.doc); got != c.want {
			t.Errorf("%s: Provisional = %s, want %s", c.name, got, c.want)
		}
	}
}
