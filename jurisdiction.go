package guardian

import "time"

// Assessment answers "which countries does this report concern?": a ranked
// list of countries, each with the evidence behind it, and how far the
// answer can be trusted. Package triage computes it (triage.Resolve) from
// the report, its files and an IP-to-country database; docs/triage.md
// explains the weights.
//
// An Assessment explains itself: every piece of evidence that was used, or
// that was looked at and could not be used (a documentation address, a
// proxy, a number that names no country), is kept with its weight and a
// note, so an analyst can see why a country was chosen and a later change of
// the rules can be told from a change of the data.
type Assessment struct {
	// Countries are ranked best first. Their scores are shares of the
	// total evidence weight and add up to 1 (or the list is empty).
	Countries []CountryScore `json:"countries"`
	// Confidence, from 0 to 1, is how far the first country can be trusted
	// as the report's jurisdiction: its share of the evidence, times the
	// strength of its own evidence, times a discount for every proxy,
	// pseudo country or unroutable address seen. ConfidenceFactors lists
	// the three terms.
	Confidence        float64            `json:"confidence"`
	ConfidenceFactors []ConfidenceFactor `json:"confidenceFactors,omitempty"`
	// NoLocation is true when no evidence names a country. Countries is
	// then empty and Confidence 0: the report needs an analyst, not a
	// guess.
	NoLocation bool `json:"noLocation"`
	// Unresolved is the evidence that named no country, each with a note
	// saying why (e.g. "documentation address", "possible proxy").
	Unresolved []Evidence `json:"unresolved,omitempty"`
	// PerUser breaks a batched report (one with a batchedReport element)
	// down by reported user: each of its personOrUserReported elements is
	// resolved on its own, and Countries above is their union. It is empty
	// for other reports, whose reported users are one incident.
	PerUser []UserAssessment `json:"perUser,omitempty"`
	// RulesVersion names the rule table that produced the assessment.
	RulesVersion string `json:"rulesVersion"`
}

// Top returns the first-ranked country, and false when there is none.
func (a *Assessment) Top() (CountryScore, bool) {
	if len(a.Countries) == 0 {
		return CountryScore{}, false
	}
	return a.Countries[0], true
}

// CountryScore is one country of an [Assessment].
type CountryScore struct {
	Country string `json:"country"` // ISO 3166-1 alpha-2
	// Score is the country's share of the evidence weight, 0 to 1.
	Score float64 `json:"score"`
	// Weight is the sum of its evidence weights, before normalisation.
	Weight   float64    `json:"weight"`
	Evidence []Evidence `json:"evidence"`
}

// EvidenceKind is the kind of signal a piece of [Evidence] is.
type EvidenceKind string

// Evidence kinds, strongest first. Weights are in docs/triage.md.
const (
	EvidenceUploadIP          EvidenceKind = "upload-ip"          // address a file was uploaded from
	EvidenceIncidentAddress   EvidenceKind = "incident-address"   // where an offline incident happened
	EvidenceVerifiedLocation  EvidenceKind = "verified-location"  // estimatedLocation the service verified
	EvidenceIP                EvidenceKind = "ip"                 // any other captured address (login, registration, ...)
	EvidenceAddress           EvidenceKind = "address"            // postal address of a person
	EvidenceEstimatedLocation EvidenceKind = "estimated-location" // estimatedLocation, not verified
	EvidencePhone             EvidenceKind = "phone"              // country of a telephone number
	EvidenceLegalProcess      EvidenceKind = "legal-process"      // country whose law enforcement served process
	EvidenceDomain            EvidenceKind = "domain"             // country-code top-level domain of an e-mail or URL
)

// Evidence is one signal about where a report's people are.
type Evidence struct {
	Kind EvidenceKind `json:"kind"`
	// Country is the ISO code the signal names, or "" when it names none
	// (then the evidence is in [Assessment.Unresolved]).
	Country string `json:"country,omitempty"`
	// Value identifies the signal: the IP address, the calling code, the
	// country code or top-level domain given. Never free text from the
	// report.
	Value string `json:"value,omitempty"`
	// Source is where in the report the signal is, as an element path:
	// "personOrUserReported[0]/ipCaptureEvent[1]", "file[2]/ipCaptureEvent".
	Source string `json:"source"`
	// Time is when the signal was observed, if the report says.
	Time time.Time `json:"time,omitzero"`
	// Weight is what the signal adds to Country (0 for unresolved
	// evidence): the kind's base weight times any factor for age, party or
	// verification, as Note explains.
	Weight float64 `json:"weight"`
	Note   string  `json:"note,omitempty"`
}

// ConfidenceFactor is one term of [Assessment.Confidence].
type ConfidenceFactor struct {
	Name   string  `json:"name"` // "agreement", "support", "markers"
	Value  float64 `json:"value"`
	Detail string  `json:"detail"`
}

// UserAssessment is the assessment of one reported user of a batched report.
type UserAssessment struct {
	// Index is the user's position among the report's personOrUserReported
	// elements, from 0.
	Index int `json:"index"`
	// User is the user's espIdentifier, or screenName if it has none, or
	// "" if neither was given.
	User string `json:"user,omitempty"`
	Assessment
}
