package guardian

import "fmt"

// Priority is how urgently a report must be handled, in the CyberTipline's
// scale.
type Priority string

// Priorities. E is not "lowest": it means the reporting service did not look
// at the content, so nobody can yet say how urgent it is.
const (
	Priority1          Priority = "1" // a child may be in imminent danger
	Priority2          Priority = "2" // serious, act soon
	Priority3          Priority = "3" // act in turn
	PriorityUnreviewed Priority = "E" // content not reviewed by the service
)

// ParsePriority parses "1", "2", "3" or "E".
func ParsePriority(s string) (Priority, error) {
	switch p := Priority(s); p {
	case Priority1, Priority2, Priority3, PriorityUnreviewed:
		return p, nil
	}
	return "", fmt.Errorf("priority %q is not 1, 2, 3 or E", Clip(s, 8))
}

// Label says whether a report goes to an agency.
type Label string

// Labels.
const (
	// LabelReferral: actionable; routed to the agencies of its countries.
	LabelReferral Label = "referral"
	// LabelInformational: too thin to act on, or a meme shared without
	// malice; kept for statistics and deconfliction, not referred.
	LabelInformational Label = "informational"
)

// Triage is the hub's first reading of a report: how actionable it is, how
// urgent, whether it is referred, and why. Package triage computes it
// (triage.Assess) from the report, its files and its [Assessment]; the rules
// and weights are one table, documented in docs/triage.md.
type Triage struct {
	// Score is the actionability score, 0 to 100: how much an agency could
	// do with the report (an upload IP, content the service viewed, a time,
	// identifiers, a confident location).
	Score float64 `json:"score"`
	// Urgency is the sum of the urgency rules' weights; Priority follows
	// from it by thresholds.
	Urgency  float64  `json:"urgency"`
	Label    Label    `json:"label"`
	Priority Priority `json:"priority"`
	// ReviewPriority is the priority the urgency rules give, which holds
	// once the content has been reviewed. Priority differs from it when the
	// report is E (not yet reviewed) or escalated (a provisional 1 that an
	// analyst confirms or lowers to this).
	ReviewPriority Priority `json:"reviewPriority"`
	// Escalated is true when the service asked for high priority
	// (escalateToHighPriority); the priority is then a provisional 1.
	Escalated bool `json:"escalated"`
	// NeedsAnalyst is true when a person must look at once: an escalated
	// report, or one the rules put at priority 1 (before or after review).
	NeedsAnalyst bool `json:"needsAnalyst"`
	// Reasons are the rules that applied, in the order they were applied.
	Reasons []Reason `json:"reasons"`
	// RulesVersion names the rule table that produced the decision.
	RulesVersion string `json:"rulesVersion"`
	// Known is what the hash lists said about the report's files, with
	// every match (list, category, distance); nil when the report was
	// triaged without them.
	Known *KnownContent `json:"known,omitempty"`
}

// Scale is what a [Reason] acts on.
type Scale string

// Scales.
const (
	ScaleActionability Scale = "actionability" // adds Weight to Triage.Score
	ScaleUrgency       Scale = "urgency"       // adds Weight to Triage.Urgency
	ScaleLabel         Scale = "label"         // decided the label
	ScalePriority      Scale = "priority"      // decided or overrode the priority
)

// Reason is one rule that applied to a report.
type Reason struct {
	Rule   string  `json:"rule"` // the rule's name in docs/triage.md
	Scale  Scale   `json:"scale"`
	Weight float64 `json:"weight"`
	// Detail says what in the report made the rule apply, in words chosen
	// by the rule ("2 of 3 files viewed by the service"); never text copied
	// from the report.
	Detail string `json:"detail"`
}
