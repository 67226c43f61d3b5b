package triage

import (
	"time"

	"github.com/guardian-network/guardian"
)

// This file is the one place where the rules and weights of jurisdiction
// resolution and triage live. docs/triage.md explains each entry to
// operators, and TestDocsMatchRules fails when the two disagree. Change
// RulesVersion with any weight: it is stored with every decision, so a
// decision can always be explained by the rules that made it.

// RulesVersion names this rule table.
const RulesVersion = "2026-12.1"

// # Jurisdiction: evidence weights

// evidenceWeights are the base weights of each kind of evidence. A signal's
// weight is its base weight times the factors below that apply to it.
var evidenceWeights = map[guardian.EvidenceKind]float64{
	guardian.EvidenceUploadIP:          10, // the address the content came from
	guardian.EvidenceIncidentAddress:   8,  // where an offline incident took place
	guardian.EvidenceVerifiedLocation:  8,  // the service checked where the person is
	guardian.EvidenceIP:                5,  // login or purchase; other events scaled down
	guardian.EvidenceAddress:           5,  // home address; other types scaled down
	guardian.EvidenceEstimatedLocation: 4,  // the service's unverified estimate
	guardian.EvidencePhone:             4,  // numbers travel with their owners, but not always
	guardian.EvidenceLegalProcess:      3,  // that country's police already have a case
	guardian.EvidenceDomain:            1,  // .de says little: anyone can register one
}

// ipEventFactors scale [guardian.EvidenceIP] by the event the address was
// captured at. "Upload" events are [guardian.EvidenceUploadIP] instead.
var ipEventFactors = map[string]float64{
	"Login":        1.0,
	"Purchase":     1.0, // payment usually ties the address to a real person
	"Registration": 0.8, // often long ago; recency scales it further
	"Other":        0.6,
	"Unknown":      0.6,
	"":             0.6,
}

// recencyBands scale IP evidence, and locations that carry a timestamp, by
// how far the observation is from the incident time: addresses are
// reassigned and people move. The first band whose limit is not exceeded
// applies; beyond the last, recencyOldest.
var recencyBands = []struct {
	Within time.Duration
	Factor float64
}{
	{24 * time.Hour, 1.0},
	{7 * 24 * time.Hour, 0.9},
	{30 * 24 * time.Hour, 0.75},
	{365 * 24 * time.Hour, 0.5},
}

const (
	recencyOldest = 0.3 // more than a year from the incident
	// recencyUnknown applies to an IP address without a time (or a report
	// whose incident time cannot be read): an address with no date could
	// have changed hands.
	recencyUnknown = 0.6
)

// addressTypeFactors scale [guardian.EvidenceAddress] by the address's
// type attribute. Incident addresses are not scaled.
var addressTypeFactors = map[string]float64{
	"Home":      1.0,
	"":          0.8,
	"Billing":   0.8,
	"Shipping":  0.8,
	"Business":  0.6,
	"Technical": 0.4,
}

const (
	// associatedAccountFactor scales everything found in an
	// associatedAccount: a linked account may belong to someone else, or
	// be a business or parent account.
	associatedAccountFactor = 0.6
	// webPageDomainFactor scales the top-level domain of a reported web
	// page: it tells where the site is registered, not where anyone is.
	webPageDomainFactor = 0.5
)

// # Jurisdiction: no country, and confidence

// pseudoCountries are codes the schema and MaxMind-format databases allow
// that name no country. Evidence that gives one is recorded, unresolved,
// and lowers the confidence like a proxy.
var pseudoCountries = map[string]string{
	"A1": "anonymous proxy",
	"A2": "satellite provider",
	"O1": "other country",
	"EU": "Europe, no country",
	"AP": "Asia/Pacific, no country",
	"AN": "Netherlands Antilles, dissolved in 2010",
}

// renamedCountries are codes the schema still allows for a country that
// now has another code.
var renamedCountries = map[string]string{
	"FX": "FR", // Metropolitan France
	"UK": "GB", // not ISO, but common: the .uk domain and some databases
}

// genericCountryDomains are country-code top-level domains marketed and
// used worldwide; they say nothing about a country.
var genericCountryDomains = map[string]bool{
	"ad": true, "ai": true, "as": true, "bz": true, "cc": true, "cd": true,
	"co": true, "fm": true, "gg": true, "io": true, "la": true, "ly": true,
	"me": true, "ms": true, "nu": true, "sc": true, "sh": true, "so": true,
	"st": true, "tk": true, "to": true, "tv": true, "vc": true, "ws": true,
}

const (
	// proxyFactor discounts the confidence once for every possible proxy
	// and every pseudo country seen.
	proxyFactor = 0.85
	// unroutableFactor discounts it once for every private, documentation,
	// reserved or unreadable address: the service sent an address that
	// locates no one, which makes its other data less certain.
	unroutableFactor = 0.95
	// markersFloor bounds the discounts: markers alone must not drown a
	// country that strong evidence names.
	markersFloor = 0.5
	// supportScale sets how much evidence makes a country certain: support
	// = 1 - exp(-weight/supportScale), so one recent upload IP (10) gives
	// 0.71, and an upload IP with a verified location (18) 0.89.
	supportScale = 8.0
)

// The thresholds of Confident: how sure the resolution must be before a
// report is referred to a country without an analyst looking first.
const (
	// confidentTop is the confidence from which the first country is
	// confident: 0.4 to 0.7 "needs a look" but is routed; below 0.4 the
	// location is a lead, not an answer.
	confidentTop = 0.4
	// confidentOther is the support × markers a further country needs on
	// its own evidence (the first must be confident too): one fresh upload
	// address (support 0.71) is enough.
	confidentOther = 0.7
)

// # Triage: actionability

// The actionability rules. Their weights add up to 100.
var (
	ruleUploadIP        = rule{"upload-ip-present", guardian.ScaleActionability, 25}
	ruleOtherIP         = rule{"other-ip", guardian.ScaleActionability, 10}
	ruleFileViewed      = rule{"file-viewed", guardian.ScaleActionability, 15}
	ruleIncidentTime    = rule{"incident-time", guardian.ScaleActionability, 5}
	ruleSuspectIdentity = rule{"suspect-identifiers", guardian.ScaleActionability, 10}
	ruleSuspectVerified = rule{"suspect-verified", guardian.ScaleActionability, 5}
	ruleLocation        = rule{"location-confidence", guardian.ScaleActionability, 15} // times Assessment.Confidence
	ruleVictim          = rule{"victim-identified", guardian.ScaleActionability, 5}
	rulePriorReports    = rule{"prior-reports", guardian.ScaleActionability, 5}
	ruleLawEnforcement  = rule{"law-enforcement-aware", guardian.ScaleActionability, 5}
)

// incidentTimeUnzonedFactor scales ruleIncidentTime when the time has no
// zone: it is then only known to within a day.
const incidentTimeUnzonedFactor = 0.6

// # Triage: urgency

// incidentTypeUrgency raises urgency by the incident type.
var incidentTypeUrgency = map[string]rule{
	"Child Sex Trafficking":                                         {"incident-trafficking", guardian.ScaleUrgency, 40},
	"Child Sexual Molestation":                                      {"incident-molestation", guardian.ScaleUrgency, 30},
	"Child Sex Tourism":                                             {"incident-sex-tourism", guardian.ScaleUrgency, 30},
	"Online Enticement of Children for Sexual Acts":                 {"incident-enticement", guardian.ScaleUrgency, 20},
	"Unsolicited Obscene Material Sent to a Child":                  {"incident-obscene-material", guardian.ScaleUrgency, 10},
	"Child Pornography (possession, manufacture, and distribution)": {"incident-csam", guardian.ScaleUrgency, 0},
}

// Report annotations (incidentSummary/reportAnnotations).
var (
	ruleSextortion   = rule{"sextortion", guardian.ScaleUrgency, 45} // coercion of a child, high risk of self-harm
	ruleSadistic     = rule{"sadistic-exploitation", guardian.ScaleUrgency, 45}
	ruleSolicitation = rule{"csam-solicitation", guardian.ScaleUrgency, 15}
	ruleMinorToMinor = rule{"minor-to-minor", guardian.ScaleUrgency, -15} // peers, usually no adult offender
	ruleSpam         = rule{"spam", guardian.ScaleUrgency, -10}
	ruleViralBatch   = rule{"viral-meme-batch", guardian.ScaleUrgency, -30} // batchedReport VIRAL_POTENTIAL_MEME
	ruleYoungVictim  = rule{"young-victim", guardian.ScaleUrgency, 10}      // a victim or recipient under youngVictimAge
)

const (
	youngVictimAge   = 13
	urgencyPriority1 = 80 // at or above: priority 1 after review, and an analyst at once
	urgencyPriority2 = 35 // at or above: priority 2; below: 3
)

// The priority rules record decisions; they carry no weight.
var (
	ruleEscalated     = rule{"escalated", guardian.ScalePriority, 0}
	ruleNotReviewed   = rule{"not-reviewed", guardian.ScalePriority, 0}
	ruleRulesPriority = rule{"rules-priority", guardian.ScalePriority, 0}
)

// File annotations (fileDetails/fileAnnotations, or potentialMeme), counted
// once per report whichever files carry them. Only files of relevance
// "Reported" count: supplemental files give context, not the offence.
var (
	rulePhysicalHarm   = rule{"physical-harm", guardian.ScaleUrgency, 40}
	ruleInfant         = rule{"infant", guardian.ScaleUrgency, 30}
	ruleLiveStreaming  = rule{"live-streaming", guardian.ScaleUrgency, 30} // abuse may be going on now
	ruleViolenceGore   = rule{"violence-gore", guardian.ScaleUrgency, 25}
	ruleBestiality     = rule{"bestiality", guardian.ScaleUrgency, 20}
	ruleSelfProduction = rule{"self-production", guardian.ScaleUrgency, 5} // often coerced: a sextortion sign
	ruleGenerativeAI   = rule{"generative-ai", guardian.ScaleUrgency, -10}
	ruleAnime          = rule{"drawn-or-virtual", guardian.ScaleUrgency, -20} // no real child depicted
	ruleViral          = rule{"viral", guardian.ScaleUrgency, -20}
	rulePotentialMeme  = rule{"potential-meme", guardian.ScaleUrgency, -30}
)

// Known content (hash lists, docs/known-content.md). A file counts when it
// has no details or is of relevance Reported.
var (
	// ruleKnownContent: every reported file is in a hash list: the same
	// picture has circulated before and is already known to the lists'
	// keepers.
	ruleKnownContent = rule{"known-content", guardian.ScaleUrgency, -25}
	// ruleNewContent: hash lists were checked, no file is in any, and it
	// was uploaded from a public address: material nobody has listed,
	// from an address a provider can be asked about, may be a child being
	// abused now.
	ruleNewContent = rule{"new-content", guardian.ScaleUrgency, 15}
)

// industryClassificationUrgency raises urgency by the industry
// classification of a reported file (letter: A prepubescent, B pubescent;
// digit: 1 sex act, 2 lascivious exhibition); the highest counts.
var industryClassificationUrgency = map[string]rule{
	"A1": {"classification-a1", guardian.ScaleUrgency, 20},
	"A2": {"classification-a2", guardian.ScaleUrgency, 15},
	"B1": {"classification-b1", guardian.ScaleUrgency, 10},
	"B2": {"classification-b2", guardian.ScaleUrgency, 5},
}

// # Triage: label

var (
	ruleLabelEscalated = rule{"referral-escalated", guardian.ScaleLabel, 0}
	ruleLabelThin      = rule{"thin-report", guardian.ScaleLabel, 0}
	ruleLabelMeme      = rule{"meme-without-malice", guardian.ScaleLabel, 0}
	ruleLabelKnown     = rule{"known-content-without-malice", guardian.ScaleLabel, 0}
	ruleLabelReferral  = rule{"referral", guardian.ScaleLabel, 0}
)

// aggravating are the urgency rules whose presence means a report is not a
// meme shared without malice, whatever its files are flagged as.
var aggravating = []rule{
	ruleSextortion, ruleSadistic, ruleSolicitation, rulePhysicalHarm, ruleInfant,
	ruleLiveStreaming, ruleViolenceGore, ruleBestiality,
	incidentTypeUrgency["Child Sex Trafficking"], incidentTypeUrgency["Child Sexual Molestation"],
	incidentTypeUrgency["Child Sex Tourism"], incidentTypeUrgency["Online Enticement of Children for Sexual Acts"],
}

// rule is one named rule with its weight.
type rule struct {
	Name   string
	Scale  guardian.Scale
	Weight float64
}

// allRules lists every named rule, for the documentation test.
func allRules() []rule {
	rs := []rule{
		ruleUploadIP, ruleOtherIP, ruleFileViewed, ruleIncidentTime, ruleSuspectIdentity,
		ruleSuspectVerified, ruleLocation, ruleVictim, rulePriorReports, ruleLawEnforcement,
		ruleSextortion, ruleSadistic, ruleSolicitation, ruleMinorToMinor, ruleSpam, ruleViralBatch,
		ruleYoungVictim, rulePhysicalHarm, ruleInfant, ruleLiveStreaming, ruleViolenceGore,
		ruleBestiality, ruleSelfProduction, ruleGenerativeAI, ruleAnime, ruleViral, rulePotentialMeme,
		ruleEscalated, ruleNotReviewed, ruleRulesPriority,
		ruleLabelEscalated, ruleLabelThin, ruleLabelMeme, ruleLabelKnown, ruleLabelReferral,
		ruleKnownContent, ruleNewContent,
	}
	for _, r := range incidentTypeUrgency {
		rs = append(rs, r)
	}
	for _, r := range industryClassificationUrgency {
		rs = append(rs, r)
	}
	return rs
}
