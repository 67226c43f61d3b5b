package guardian_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// reported is the time the test report was made.
var reported = time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)

func TestExplainEvidence(t *testing.T) {
	ev := func(kind guardian.EvidenceKind, country, value, src string, ago time.Duration, note string) guardian.Evidence {
		e := guardian.Evidence{Kind: kind, Country: country, Value: value, Source: src, Weight: 1, Note: note}
		if ago != 0 {
			e.Time = reported.Add(-ago)
		}
		return e
	}
	tests := []struct {
		name string
		ev   guardian.Evidence
		want string
	}{
		{"UploadFile", ev(guardian.EvidenceUploadIP, "PY", "203.0.113.9", "file[f1]/ipCaptureEvent", 2*time.Hour, "upload; within a day of the incident"),
			"A file was uploaded from an address in Paraguay, 2 hours before the report (within a day of the incident)."},
		{"UploadEvent", ev(guardian.EvidenceUploadIP, "DE", "198.51.100.4", "personOrUserReported[0]/ipCaptureEvent[2]", 40*time.Minute, "upload; within a day of the incident"),
			"The reported user uploaded a file from an address in Germany, 40 minutes before the report (within a day of the incident)."},
		{"Login", ev(guardian.EvidenceIP, "NL", "198.51.100.7", "personOrUserReported[0]/ipCaptureEvent[0]", 3*24*time.Hour, "login; within a week of the incident"),
			"The reported user signed in from an address in the Netherlands, 3 days before the report (within a week of the incident)."},
		{"Purchase", ev(guardian.EvidenceIP, "FR", "198.51.100.8", "personOrUserReported[0]/ipCaptureEvent[1]", 5*30*24*time.Hour, "purchase; within a year of the incident"),
			"The reported user made a purchase from an address in France, 5 months before the report (within a year of the incident)."},
		{"RegistrationLinked", ev(guardian.EvidenceIP, "BR", "2001:db8::1", "personOrUserReported[0]/associatedAccount[1]/ipCaptureEvent[0]", 3*365*24*time.Hour, "registration; over a year from the incident; associated account"),
			"An account linked to the reported user registered from an address in Brazil, 3 years before the report (over a year from the incident)."},
		{"NoEventNoTime", ev(guardian.EvidenceIP, "JP", "203.0.113.1", "victim[0]/ipCaptureEvent[0]", 0, "no event given; time unknown"),
			"The service recorded an address in Japan for a victim, at a time the report does not give."},
		{"PeerToPeer", ev(guardian.EvidenceIP, "KR", "203.0.113.2", "internetDetails[0]/peer2peerIncident/ipCaptureEvent[0]", time.Minute+10*time.Second, "other event; within a day of the incident"),
			"A peer-to-peer client of the incident was seen at an address in South Korea, 1 minute before the report (within a day of the incident)."},
		{"PeerToPeerUpload", ev(guardian.EvidenceUploadIP, "KR", "203.0.113.2", "internetDetails[0]/peer2peerIncident/ipCaptureEvent[1]", 5*24*time.Hour, "upload; within a week of the incident"),
			"A peer-to-peer client of the incident uploaded a file from an address in South Korea, 5 days before the report (within a week of the incident)."},
		{"IncidentAddress", ev(guardian.EvidenceIncidentAddress, "CL", "CL", "internetDetails[1]/nonInternetIncident/incidentAddress[0]", 0, "where the incident happened"),
			"The incident happened at an address in Chile."},
		{"VerifiedLocation", ev(guardian.EvidenceVerifiedLocation, "US", "US", "personOrUserReported[0]/estimatedLocation", 26*time.Hour, "verified by the service; within a day of the incident"),
			"The service verified that the reported user is in the United States, as of 1 day before the report."},
		{"EstimatedLocation", ev(guardian.EvidenceEstimatedLocation, "CA", "CA", "intendedRecipient[0]/estimatedLocation", 0, "the service's estimate"),
			"The service estimates that an intended recipient is in Canada."},
		{"HomeAddress", ev(guardian.EvidenceAddress, "GB", "GB", "personOrUserReported[0]/personOrUserReportedPerson/address[0]", 0, "home address"),
			"The reported user has a home address in the United Kingdom."},
		{"BusinessAddressLinked", ev(guardian.EvidenceAddress, "IE", "IE", "victim[0]/associatedAccount[0]/address[0]", 0, "business address; associated account"),
			"An account linked to a victim has a business address in Ireland."},
		{"UntypedAddressFromState", ev(guardian.EvidenceAddress, "US", "US", "personOrUserReported[0]/personOrUserReportedPerson/address[1]", 0, "address of no stated type; country from the US state"),
			"The reported user has an address in the United States."},
		{"Phone", ev(guardian.EvidencePhone, "DE", "+49", "personOrUserReported[0]/personOrUserReportedPerson/phone[0]", 0, "calling code of one country"),
			"The reported user has a telephone number of Germany."},
		{"CellPhoneIncident", ev(guardian.EvidencePhone, "KZ", "+7", "internetDetails[2]/cellPhoneIncident/phoneNumber", 0, "calling code shared by several countries; the number is one of this country's"),
			"The telephone of the incident has a number of Kazakhstan."},
		{"LegalProcess", ev(guardian.EvidenceLegalProcess, "CA", "CA", "lawEnforcement/servedLegalProcessInternational", 0, "legal process served from this country"),
			"Law enforcement in Canada served legal process about this report: they may already have a case."},
		{"EmailDomain", ev(guardian.EvidenceDomain, "DE", ".de", "personOrUserReported[0]/personOrUserReportedPerson/email[0]", 0, "country-code domain"),
			"The reported user has an e-mail address on a domain of Germany (.de)."},
		{"ProfileDomain", ev(guardian.EvidenceDomain, "PL", ".pl", "victim[0]/profileUrl[0]", 0, "country-code domain"),
			"A profile of a victim is on a domain of Poland (.pl)."},
		{"WebPageDomain", ev(guardian.EvidenceDomain, "AT", ".at", "internetDetails[0]/webPageIncident/url[0]", 0, "country-code domain"),
			"A reported web page is on a domain of Austria (.at), which says where the site is registered, not where anyone is."},
		{"IncidentEmailDomain", ev(guardian.EvidenceDomain, "IT", ".it", "internetDetails[3]/emailIncident/emailAddress[0]", 0, "country-code domain"),
			"An e-mail address of the incident is on a domain of Italy (.it)."},
		{"DomainValueNotShownUnlessCountryCode", ev(guardian.EvidenceDomain, "IT", "mail.example.it", "personOrUserReported[0]/personOrUserReportedPerson/email[0]", 0, "country-code domain"),
			"The reported user has an e-mail address on a domain of Italy."},
		{"UnknownKind", ev("satellite", "PY", "x", "personOrUserReported[0]/x", 0, ""),
			"Evidence of kind satellite names Paraguay."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &guardian.Assessment{Countries: []guardian.CountryScore{{Country: tt.ev.Country, Score: 1, Weight: 1, Evidence: []guardian.Evidence{tt.ev}}}, Confidence: 0.8}
			got := guardian.ExplainJurisdictionAt(a, reported)
			if len(got) != 2 {
				t.Fatalf("got %q, want a summary and one sentence", got)
			}
			if got[1] != tt.want {
				t.Errorf("got  %q\nwant %q", got[1], tt.want)
			}
			checkNoValue(t, got, tt.ev)
		})
	}
}

// checkNoValue fails when a sentence repeats an evidence value other than
// a country code or a country-code domain.
func checkNoValue(t *testing.T, lines []string, evs ...guardian.Evidence) {
	t.Helper()
	for _, ev := range evs {
		if len(ev.Value) <= 3 { // "DE", ".de": no one's data
			continue
		}
		for _, l := range lines {
			if strings.Contains(l, ev.Value) {
				t.Errorf("sentence %q repeats the evidence value %q", l, ev.Value)
			}
		}
	}
}

func TestExplainUnresolved(t *testing.T) {
	tests := []struct {
		name string
		ev   guardian.Evidence
		want string
	}{
		{"Proxy", guardian.Evidence{Kind: guardian.EvidenceIP, Value: "198.51.100.9", Source: "personOrUserReported[0]/ipCaptureEvent[0]", Note: "possible proxy (exit in NL): its country is not the user's"},
			"An address recorded for the reported user may be a proxy (its exit is in the Netherlands), so it does not show where anyone is."},
		{"ProxyNoExit", guardian.Evidence{Kind: guardian.EvidenceUploadIP, Value: "198.51.100.9", Source: "file[f2]/ipCaptureEvent", Note: "possible proxy: its country is not the user's"},
			"The upload address of a file may be a proxy, so it does not show where anyone is."},
		{"Documentation", guardian.Evidence{Kind: guardian.EvidenceIP, Value: "192.0.2.1", Source: "victim[0]/ipCaptureEvent[0]", Note: "documentation address: locates no one"},
			"An address recorded for a victim is a documentation address, which locates no one."},
		{"Private", guardian.Evidence{Kind: guardian.EvidenceUploadIP, Value: "10.0.0.1", Source: "personOrUserReported[0]/ipCaptureEvent[3]", Note: "private address: locates no one"},
			"The upload address of the reported user is a private address, which locates no one."},
		{"PeerToPeerUpload", guardian.Evidence{Kind: guardian.EvidenceUploadIP, Value: "203.0.113.5", Source: "internetDetails[0]/peer2peerIncident/ipCaptureEvent[1]", Note: "documentation address: locates no one"},
			"The upload address of a peer-to-peer client of the incident is a documentation address, which locates no one."},
		{"LinkLocal", guardian.Evidence{Kind: guardian.EvidenceIP, Value: "fe80::1", Source: "internetDetails[0]/peer2peerIncident/ipCaptureEvent[0]", Note: "link-local address: locates no one"},
			"An address of a peer-to-peer client of the incident is a link-local address, which locates no one."},
		{"NotAnAddress", guardian.Evidence{Kind: guardian.EvidenceIP, Source: "personOrUserReported[0]/ipCaptureEvent[0]", Note: "not an IP address"},
			"An address recorded for the reported user is not an IP address."},
		{"NotInDatabase", guardian.Evidence{Kind: guardian.EvidenceIP, Value: "198.51.100.10", Source: "personOrUserReported[0]/ipCaptureEvent[0]", Note: "no country in the IP database"},
			"An address recorded for the reported user is in no country of the IP database."},
		{"PseudoCountry", guardian.Evidence{Kind: guardian.EvidenceEstimatedLocation, Value: "EU", Source: "personOrUserReported[0]/estimatedLocation", Note: "pseudo country code EU (Europe, no country): no country"},
			"The service's location for the reported user gives the code EU (Europe, no country), which names no country."},
		{"NotACountryCode", guardian.Evidence{Kind: guardian.EvidenceAddress, Value: "ZZ", Source: "victim[0]/victimPerson/address[0]", Note: "not a country code"},
			"A postal address of a victim gives a code that is not a country's."},
		{"NonGeographicPhone", guardian.Evidence{Kind: guardian.EvidencePhone, Value: "+800", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[0]", Note: "non-geographic calling code (satellite, international service)"},
			"A telephone number of the reported user names no country: non-geographic calling code (satellite, international service)."},
		{"NationalNumber", guardian.Evidence{Kind: guardian.EvidencePhone, Source: "internetDetails[0]/cellPhoneIncident/phoneNumber", Note: "no country calling code: a national number names no country"},
			"The telephone number of the incident names no country: no country calling code: a national number names no country."},
		{"LegalProcessPseudo", guardian.Evidence{Kind: guardian.EvidenceLegalProcess, Value: "A1", Source: "lawEnforcement/servedLegalProcessInternational", Note: "pseudo country code A1 (anonymous proxy): no country"},
			"The country that served legal process gives the code A1 (anonymous proxy), which names no country."},
		{"IncidentAddress", guardian.Evidence{Kind: guardian.EvidenceIncidentAddress, Value: "O1", Source: "internetDetails[0]/nonInternetIncident/incidentAddress[0]", Note: "pseudo country code O1 (other country): no country"},
			"The address of the incident gives the code O1 (other country), which names no country."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &guardian.Assessment{NoLocation: true, Countries: []guardian.CountryScore{}, Unresolved: []guardian.Evidence{tt.ev}}
			got := guardian.ExplainJurisdictionAt(a, reported)
			want := []string{"No evidence in the report names a country: an analyst must place it.", tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkNoValue(t, got, tt.ev)
		})
	}
}

func TestExplainJurisdictionSummary(t *testing.T) {
	login := func(user int, ago time.Duration) guardian.Evidence {
		return guardian.Evidence{Kind: guardian.EvidenceIP, Country: "DE", Value: "198.51.100.1",
			Source: "personOrUserReported[" + string(rune('0'+user)) + "]/ipCaptureEvent[0]", Time: reported.Add(-ago), Weight: 5, Note: "login; within a day of the incident"}
	}
	a := &guardian.Assessment{
		Countries: []guardian.CountryScore{
			{Country: "DE", Score: 0.644, Weight: 14.5, Evidence: []guardian.Evidence{login(0, 2*time.Hour), login(0, 2*time.Hour), login(1, 3*time.Hour)}},
			{Country: "NL", Score: 0.2, Weight: 4, Evidence: []guardian.Evidence{{Kind: guardian.EvidenceEstimatedLocation, Country: "NL", Value: "NL", Source: "personOrUserReported[1]/estimatedLocation", Weight: 4, Note: "the service's estimate"}}},
			{Country: "PY", Score: 0.156, Weight: 1, Evidence: []guardian.Evidence{{Kind: guardian.EvidenceDomain, Country: "PY", Value: ".py", Source: "personOrUserReported[0]/personOrUserReportedPerson/email[0]", Weight: 1, Note: "country-code domain"}}},
		},
		Confidence: 0.539,
		PerUser:    make([]guardian.UserAssessment, 2),
	}
	want := []string{
		"Most likely Germany, with 64% of the evidence; the location needs a look at the evidence (confidence 0.54).",
		"Also the Netherlands (20%) and Paraguay (16%).",
		"The report groups 2 reported users; each was placed on their own evidence as well.",
		"Reported user 1 signed in from an address in Germany, 2 hours before the report (within a day of the incident) (2 times).",
		"Reported user 2 signed in from an address in Germany, 3 hours before the report (within a day of the incident).",
		"The service estimates that reported user 2 is in the Netherlands.",
		"Reported user 1 has an e-mail address on a domain of Paraguay (.py).",
	}
	if diff := cmp.Diff(want, guardian.ExplainJurisdictionAt(a, reported)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without the report's time, times are dates.
	got := guardian.ExplainJurisdiction(a)
	if w := "Reported user 1 signed in from an address in Germany, on 4 March 2026 at 12:00 UTC (within a day of the incident) (2 times)."; got[3] != w {
		t.Errorf("got  %q\nwant %q", got[3], w)
	}

	for _, tt := range []struct {
		confidence float64
		want       string
	}{
		{0.91, "the location is well supported (confidence 0.91)"},
		{0.7, "the location is well supported (confidence 0.7)"},
		{0.4, "the location needs a look at the evidence (confidence 0.4)"},
		{0.12, "the location is a lead, not an answer (confidence 0.12)"},
	} {
		a := &guardian.Assessment{Countries: []guardian.CountryScore{{Country: "US", Score: 1}}, Confidence: tt.confidence}
		if got := guardian.ExplainJurisdiction(a)[0]; !strings.Contains(got, tt.want) || !strings.HasPrefix(got, "Most likely the United States, with 100%") {
			t.Errorf("confidence %v: %q, want it to contain %q", tt.confidence, got, tt.want)
		}
	}
	if got := guardian.ExplainJurisdiction(nil); got != nil {
		t.Errorf("nil assessment: %q", got)
	}
}

func TestExplainJurisdictionBounded(t *testing.T) {
	var evs []guardian.Evidence
	for i := range 300 {
		evs = append(evs, guardian.Evidence{Kind: guardian.EvidenceIP, Country: "DE", Value: "198.51.100.1", Source: "personOrUserReported[0]/ipCaptureEvent[0]",
			Time: reported.Add(-time.Duration(i+1) * 24 * time.Hour), Note: "login"})
	}
	a := &guardian.Assessment{Countries: []guardian.CountryScore{{Country: "DE", Score: 1, Evidence: evs}}, Confidence: 0.9}
	got := guardian.ExplainJurisdictionAt(a, reported)
	// 300 days → 60 distinct "N days" up to 59, then months: fewer than
	// 300 distinct sentences, but more than the bound.
	if len(got) != 1+12 {
		t.Fatalf("%d sentences, want 13:\n%s", len(got), strings.Join(got, "\n"))
	}
	last := got[len(got)-1]
	if !regexp.MustCompile(`^And \d+ more pieces of evidence for Germany\.$`).MatchString(last) {
		t.Errorf("last sentence %q", last)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "less than a minute"},
		{29 * time.Second, "less than a minute"},
		{40 * time.Second, "1 minute"},
		{40 * time.Minute, "40 minutes"},
		{59*time.Minute + 40*time.Second, "1 hour"},
		{-2 * time.Hour, "2 hours"},
		{2*time.Hour + 20*time.Minute, "2 hours"},
		{23*time.Hour + 40*time.Minute, "1 day"},
		{3 * 24 * time.Hour, "3 days"},
		{45 * 24 * time.Hour, "45 days"},
		{90 * 24 * time.Hour, "3 months"},
		{400 * 24 * time.Hour, "13 months"},
		{3 * 365 * 24 * time.Hour, "3 years"},
	} {
		if got := guardian.HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestExplainTriage(t *testing.T) {
	tr := &guardian.Triage{Score: 59.4, Urgency: 55, Label: guardian.LabelReferral, Priority: guardian.Priority1, ReviewPriority: guardian.Priority2, Escalated: true, NeedsAnalyst: true}
	tests := []struct {
		reason guardian.Reason
		want   string
	}{
		{guardian.Reason{Rule: "upload-ip-present", Scale: guardian.ScaleActionability, Weight: 25, Detail: "2 of 3 upload addresses public"},
			"The address a file was uploaded from is public, so the service can be asked who used it (2 of 3 upload addresses public; actionability +25)."},
		{guardian.Reason{Rule: "other-ip", Scale: guardian.ScaleActionability, Weight: 10, Detail: "2 other public addresses with a time"},
			"The report has 2 other public addresses with a time (actionability +10)."},
		{guardian.Reason{Rule: "file-viewed", Scale: guardian.ScaleActionability, Weight: 15, Detail: "1 of 1 files viewed by the service"},
			"The service looked at the content itself (1 of 1 files viewed; actionability +15)."},
		{guardian.Reason{Rule: "incident-time", Scale: guardian.ScaleActionability, Weight: 5, Detail: "incident time with a time zone"},
			"The report gives the time of the incident (actionability +5)."},
		{guardian.Reason{Rule: "incident-time", Scale: guardian.ScaleActionability, Weight: 3, Detail: "incident time without a time zone: known to within a day"},
			"The report gives the time of the incident, without a time zone: it is known to within a day (actionability +3)."},
		{guardian.Reason{Rule: "suspect-identifiers", Scale: guardian.ScaleActionability, Weight: 10, Detail: "reported user identified by service ID, e-mail"},
			"The reported user can be identified by service ID, e-mail (actionability +10)."},
		{guardian.Reason{Rule: "suspect-verified", Scale: guardian.ScaleActionability, Weight: 5, Detail: "reported user has a verified or device-bound identifier: e-mail"},
			"The reported user has a verified or device-bound identifier: e-mail (actionability +5)."},
		{guardian.Reason{Rule: "location-confidence", Scale: guardian.ScaleActionability, Weight: 9.41, Detail: "confidence 0.627 in US"},
			"How sure the location in the United States is adds to what an agency can do (actionability +9.4)."},
		{guardian.Reason{Rule: "victim-identified", Scale: guardian.ScaleActionability, Weight: 5, Detail: "a victim or intended recipient is identified"},
			"A victim or intended recipient is identified (actionability +5)."},
		{guardian.Reason{Rule: "prior-reports", Scale: guardian.ScaleActionability, Weight: 5, Detail: "2 prior reports on the reported user"},
			"The reported user has been reported before (2 prior reports; actionability +5)."},
		{guardian.Reason{Rule: "law-enforcement-aware", Scale: guardian.ScaleActionability, Weight: 5, Detail: "the report names a law-enforcement agency"},
			"The report names a law-enforcement agency that already knows of it (actionability +5)."},
		{guardian.Reason{Rule: "incident-trafficking", Scale: guardian.ScaleUrgency, Weight: 40, Detail: "incident type"},
			"The incident is child sex trafficking (urgency +40)."},
		{guardian.Reason{Rule: "incident-molestation", Scale: guardian.ScaleUrgency, Weight: 30, Detail: "incident type"},
			"The incident is child sexual molestation: hands-on abuse (urgency +30)."},
		{guardian.Reason{Rule: "incident-sex-tourism", Scale: guardian.ScaleUrgency, Weight: 30, Detail: "incident type"},
			"The incident is child sex tourism (urgency +30)."},
		{guardian.Reason{Rule: "incident-enticement", Scale: guardian.ScaleUrgency, Weight: 20, Detail: "incident type"},
			"The incident is online enticement of a child for sexual acts: contact with a child (urgency +20)."},
		{guardian.Reason{Rule: "incident-obscene-material", Scale: guardian.ScaleUrgency, Weight: 10, Detail: "incident type"},
			"The incident is unsolicited obscene material sent to a child (urgency +10)."},
		{guardian.Reason{Rule: "incident-csam", Scale: guardian.ScaleUrgency, Weight: 0, Detail: "incident type"},
			"The incident is child sexual abuse material (possession, manufacture or distribution)."},
		{guardian.Reason{Rule: "sextortion", Scale: guardian.ScaleUrgency, Weight: 45, Detail: "report annotation"},
			"The service flagged sextortion: a child is being coerced, with a high risk of self-harm (urgency +45)."},
		{guardian.Reason{Rule: "sadistic-exploitation", Scale: guardian.ScaleUrgency, Weight: 45, Detail: "report annotation"},
			"The service flagged sadistic online exploitation (urgency +45)."},
		{guardian.Reason{Rule: "csam-solicitation", Scale: guardian.ScaleUrgency, Weight: 15, Detail: "report annotation"},
			"The service flagged solicitation of child sexual abuse material (urgency +15)."},
		{guardian.Reason{Rule: "minor-to-minor", Scale: guardian.ScaleUrgency, Weight: -15, Detail: "report annotation"},
			"The service flagged an interaction between minors: usually there is no adult offender (urgency -15)."},
		{guardian.Reason{Rule: "spam", Scale: guardian.ScaleUrgency, Weight: -10, Detail: "report annotation"},
			"The service flagged the report as spam (urgency -10)."},
		{guardian.Reason{Rule: "viral-meme-batch", Scale: guardian.ScaleUrgency, Weight: -30, Detail: "batch of potential memes"},
			"The report is a batch of potential memes (urgency -30)."},
		{guardian.Reason{Rule: "young-victim", Scale: guardian.ScaleUrgency, Weight: 10, Detail: "a victim or intended recipient under 13"},
			"A victim or intended recipient is a young child (under 13; urgency +10)."},
		{guardian.Reason{Rule: "physical-harm", Scale: guardian.ScaleUrgency, Weight: 40, Detail: "1 of 2 reported files"},
			"Files show physical harm (1 of 2 reported files; urgency +40)."},
		{guardian.Reason{Rule: "infant", Scale: guardian.ScaleUrgency, Weight: 30, Detail: "1 of 2 reported files"},
			"Files show an infant or toddler (1 of 2 reported files; urgency +30)."},
		{guardian.Reason{Rule: "live-streaming", Scale: guardian.ScaleUrgency, Weight: 30, Detail: "2 of 2 reported files"},
			"Files come from a live stream, so the abuse may be going on now (2 of 2 reported files; urgency +30)."},
		{guardian.Reason{Rule: "violence-gore", Scale: guardian.ScaleUrgency, Weight: 25, Detail: "1 of 1 reported files"},
			"Files show violence or gore (1 of 1 reported files; urgency +25)."},
		{guardian.Reason{Rule: "bestiality", Scale: guardian.ScaleUrgency, Weight: 20, Detail: "1 of 1 reported files"},
			"Files show bestiality (1 of 1 reported files; urgency +20)."},
		{guardian.Reason{Rule: "self-production", Scale: guardian.ScaleUrgency, Weight: 5, Detail: "1 of 1 reported files"},
			"Files may be self-produced, which is often coerced and a sign of sextortion (1 of 1 reported files; urgency +5)."},
		{guardian.Reason{Rule: "generative-ai", Scale: guardian.ScaleUrgency, Weight: -10, Detail: "1 of 1 reported files"},
			"Files may be generated by AI (1 of 1 reported files; urgency -10)."},
		{guardian.Reason{Rule: "drawn-or-virtual", Scale: guardian.ScaleUrgency, Weight: -20, Detail: "1 of 1 reported files"},
			"Files are drawn or virtual, with no real child depicted (1 of 1 reported files; urgency -20)."},
		{guardian.Reason{Rule: "viral", Scale: guardian.ScaleUrgency, Weight: -20, Detail: "1 of 1 reported files"},
			"Files are viral, widely shared (1 of 1 reported files; urgency -20)."},
		{guardian.Reason{Rule: "potential-meme", Scale: guardian.ScaleUrgency, Weight: -30, Detail: "1 of 1 reported files"},
			"Files are potential memes, often shared without malice (1 of 1 reported files; urgency -30)."},
		{guardian.Reason{Rule: "classification-a1", Scale: guardian.ScaleUrgency, Weight: 20, Detail: "highest industry classification A1"},
			"The most severe file is classified A1: a prepubescent child, a sex act (urgency +20)."},
		{guardian.Reason{Rule: "classification-a2", Scale: guardian.ScaleUrgency, Weight: 15, Detail: "highest industry classification A2"},
			"The most severe file is classified A2: a prepubescent child, lascivious exhibition (urgency +15)."},
		{guardian.Reason{Rule: "classification-b1", Scale: guardian.ScaleUrgency, Weight: 10, Detail: "highest industry classification B1"},
			"The most severe file is classified B1: a pubescent child, a sex act (urgency +10)."},
		{guardian.Reason{Rule: "classification-b2", Scale: guardian.ScaleUrgency, Weight: 5, Detail: "highest industry classification B2"},
			"The most severe file is classified B2: a pubescent child, lascivious exhibition (urgency +5)."},
		{guardian.Reason{Rule: "rules-priority", Scale: guardian.ScalePriority, Detail: "urgency 55 gives priority 2 once reviewed"},
			"The urgency of the report is 55, which gives priority 2 once the content is reviewed."},
		{guardian.Reason{Rule: "escalated", Scale: guardian.ScalePriority, Detail: "the service asked for high priority: provisional priority 1 until an analyst confirms"},
			"The service asked for high priority: the report is a provisional priority 1 until an analyst confirms or lowers it."},
		{guardian.Reason{Rule: "not-reviewed", Scale: guardian.ScalePriority, Detail: "no file was viewed by the service: priority E until reviewed under legal authority"},
			"The service viewed none of the files: priority E until someone reviews them under legal authority."},
		{guardian.Reason{Rule: "referral-escalated", Scale: guardian.ScaleLabel, Detail: "escalated reports are always referred"},
			"Referred: escalated reports are always referred."},
		{guardian.Reason{Rule: "thin-report", Scale: guardian.ScaleLabel, Detail: "no files, no identifiers of the reported user and no location"},
			"Not referred: no files, no identifier of the reported user and no location."},
		{guardian.Reason{Rule: "meme-without-malice", Scale: guardian.ScaleLabel, Detail: "only potential memes, with no aggravating annotation"},
			"Not referred: only potential memes, with nothing that makes them worse."},
		{guardian.Reason{Rule: "known-content", Scale: guardian.ScaleUrgency, Weight: -25, Detail: "2 of 2 reported files in hash lists: memes category 2 at distance 6"},
			"The files are already in hash lists of known, widely circulated content (2 of 2 reported files in hash lists: memes category 2 at distance 6; urgency -25)."},
		{guardian.Reason{Rule: "new-content", Scale: guardian.ScaleUrgency, Weight: 15, Detail: "no file in 3 hash lists, uploaded from a public address"},
			"No file is in any hash list of known content, and the content came from a public address: it may be new material of a child abused now (no file in 3 hash lists, uploaded from a public address; urgency +15)."},
		{guardian.Reason{Rule: "known-content-without-malice", Scale: guardian.ScaleLabel, Detail: "only content already in hash lists, with no aggravating annotation"},
			"Not referred: only content already in hash lists, with nothing that makes it worse."},
		{guardian.Reason{Rule: "referral", Scale: guardian.ScaleLabel, Detail: "actionable"},
			"Referred: the report is actionable."},
		{guardian.Reason{Rule: "moon-phase", Scale: guardian.ScaleUrgency, Weight: 2, Detail: "full moon"},
			"Rule moon-phase applied: full moon (urgency +2)."},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.reason.Rule] = true
		t.Run(tt.reason.Rule, func(t *testing.T) {
			x := *tr
			x.Reasons = []guardian.Reason{tt.reason}
			got := guardian.ExplainTriage(&x)
			if len(got) != 3 {
				t.Fatalf("got %q, want priority, actionability and one reason", got)
			}
			if got[2] != tt.want {
				t.Errorf("got  %q\nwant %q", got[2], tt.want)
			}
		})
	}
	// Every rule that docs/triage.md documents has its own sentence here.
	for _, rule := range documentedRules(t) {
		if !seen[rule] {
			t.Errorf("rule %q of docs/triage.md has no case in this test", rule)
		}
	}
}

// documentedRules returns the rule names of the tables of docs/triage.md's
// triage section.
func documentedRules(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("docs/triage.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## 2. Triage")
	if !ok {
		t.Fatal("docs/triage.md has no triage section")
	}
	var rules []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9]+(?:-[a-z0-9]+)*)` \\|").FindAllStringSubmatch(section, -1) {
		rules = append(rules, m[1])
	}
	if len(rules) < 40 {
		t.Fatalf("found only %d rules in docs/triage.md", len(rules))
	}
	return rules
}

func TestExplainTriagePriority(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    guardian.Triage
		want string
	}{
		{"One", guardian.Triage{Priority: guardian.Priority1, ReviewPriority: guardian.Priority1}, "Priority 1: a child may be in imminent danger."},
		{"Two", guardian.Triage{Priority: guardian.Priority2, ReviewPriority: guardian.Priority2}, "Priority 2: serious, act soon."},
		{"Three", guardian.Triage{Priority: guardian.Priority3, ReviewPriority: guardian.Priority3}, "Priority 3: act in turn."},
		{"Unreviewed", guardian.Triage{Priority: guardian.PriorityUnreviewed, ReviewPriority: guardian.Priority1},
			"Priority E: the reporting service did not look at the content, so nobody can yet say how urgent it is; once reviewed, the rules give priority 1 (a child may be in imminent danger)."},
		{"Escalated", guardian.Triage{Priority: guardian.Priority1, ReviewPriority: guardian.Priority3, Escalated: true},
			"Priority 1 for now: the service asked for high priority, and an analyst confirms or lowers it; the rules alone give priority 3 (act in turn)."},
		{"EscalatedAndUrgent", guardian.Triage{Priority: guardian.Priority1, ReviewPriority: guardian.Priority1, Escalated: true},
			"Priority 1 for now: the service asked for high priority, and an analyst confirms or lowers it."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := guardian.ExplainTriage(&tt.t)
			if got[0] != tt.want {
				t.Errorf("got  %q\nwant %q", got[0], tt.want)
			}
			if got[1] != "Actionability 0 of 100: how much an agency could do with the report." {
				t.Errorf("got %q", got[1])
			}
		})
	}
	if guardian.ExplainTriage(nil) != nil {
		t.Error("nil triage explained")
	}
}

// TestExplainRealReport explains what triage makes of the reference's rich
// report, through the real resolver and rules: every note they write has a
// sentence of its own, and no sentence repeats an address, number or
// e-mail.
func TestExplainRealReport(t *testing.T) {
	b, err := os.ReadFile("cybertip/testdata/report-rich.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cybertip.ParseReport(b)
	if err != nil {
		t.Fatal(err)
	}
	a := triage.Resolve(doc, nil, geo.Embedded())
	tr := triage.Assess(doc, nil, a)
	lines := append(guardian.ExplainJurisdictionAt(&a, reported), guardian.ExplainTriage(&tr)...)
	for _, l := range lines {
		for _, fallback := range []string{"Evidence of kind", "Rule "} {
			if strings.Contains(l, fallback) {
				t.Errorf("sentence %q uses the fallback %q: a note or rule has no words", l, fallback)
			}
		}
		if !strings.HasSuffix(l, ".") || l[0] < 'A' || l[0] > 'Z' {
			t.Errorf("not a sentence: %q", l)
		}
		for _, pii := range []string{"@", "192.0.2.", "198.51.100.", "203.0.113.", "2001:db8"} {
			if strings.Contains(l, pii) {
				t.Errorf("sentence %q repeats personal data (%q)", l, pii)
			}
		}
	}
	var all []guardian.Evidence
	for _, c := range a.Countries {
		all = append(all, c.Evidence...)
	}
	checkNoValue(t, lines, append(all, a.Unresolved...)...)
	if !strings.HasPrefix(lines[0], "Most likely the United States") {
		t.Errorf("first sentence %q", lines[0])
	}
	t.Logf("\n%s", strings.Join(lines, "\n"))
}

func TestCountryName(t *testing.T) {
	for code, want := range map[string]string{"PY": "Paraguay", "de": "Germany", "NL": "Netherlands", "XK": "Kosovo", "CI": "Côte d'Ivoire", "ZZ": "ZZ"} {
		if got := guardian.CountryName(code); got != want {
			t.Errorf("CountryName(%q) = %q, want %q", code, got, want)
		}
	}
	// Every country of the IP database has a name.
	for r := range geo.Embedded().Ranges() {
		if guardian.CountryName(r.Country) == r.Country {
			t.Errorf("no name for %s, a country of the IP database", r.Country)
		}
	}
}
