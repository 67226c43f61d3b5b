package triage_test

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// TestResolve_Evidence has one case per resolution rule: a report with one
// signal, and the evidence it must give. Notes are checked by a key phrase.
func TestResolve_Evidence(t *testing.T) {
	de, de6, fr := MustAddrIn(t, "DE", false), MustAddrIn(t, "DE", true), MustAddrIn(t, "FR", false)
	type E = guardian.Evidence
	const (
		up   = guardian.EvidenceUploadIP
		ipk  = guardian.EvidenceIP
		addr = guardian.EvidenceAddress
		ph   = guardian.EvidencePhone
		dom  = guardian.EvidenceDomain
	)
	at := func(d time.Duration) time.Time { return incident.Add(d) }
	for _, tt := range []struct {
		name  string
		edit  func(d *guardian.ReportDocument)
		files []*guardian.FileDetails
		geo   geo.Resolver // the embedded database when nil
		want  []E
		note  string // in the first evidence's note
	}{
		{
			name: "reporter and officer are not evidence",
			edit: func(d *guardian.ReportDocument) { withLE(d) },
		},

		// IP addresses.
		{
			name:  "file upload address",
			files: []*guardian.FileDetails{uploaded("f1", de, dt(time.Hour), true)},
			want:  []E{{Kind: up, Country: "DE", Value: de, Source: "file[f1]/ipCaptureEvent", Time: at(time.Hour), Weight: 10}},
			note:  "upload; within a day",
		},
		{
			name: "file address without event is its upload address, timed by uploadedToEspTimestamp",
			files: []*guardian.FileDetails{{
				UploadedToESPTimestamp: dt(-3 * day),
				IPCaptureEvent:         &guardian.IPCaptureEvent{IPAddress: de},
			}},
			want: []E{{Kind: up, Country: "DE", Value: de, Source: "file[0]/ipCaptureEvent", Time: at(-3 * day), Weight: 9}},
			note: "within a week",
		},
		{
			name:  "file address of another event",
			files: []*guardian.FileDetails{{IPCaptureEvent: &guardian.IPCaptureEvent{IPAddress: de, EventName: "Login", DateTime: dt(0)}}},
			want:  []E{{Kind: ipk, Country: "DE", Value: de, Source: "file[0]/ipCaptureEvent", Time: at(0), Weight: 5}},
		},
		{
			name:  "IPv6 upload address",
			files: []*guardian.FileDetails{uploaded("f1", de6, dt(0), true)},
			want:  []E{{Kind: up, Country: "DE", Value: de6, Source: "file[f1]/ipCaptureEvent", Time: at(0), Weight: 10}},
		},
		{
			name:  "recency: within 30 days",
			files: []*guardian.FileDetails{uploaded("f1", de, dt(-20*day), true)},
			want:  []E{{Kind: up, Country: "DE", Value: de, Source: "file[f1]/ipCaptureEvent", Time: at(-20 * day), Weight: 7.5}},
		},
		{
			name:  "recency: within a year, after the incident",
			files: []*guardian.FileDetails{uploaded("f1", de, dt(200*day), true)},
			want:  []E{{Kind: up, Country: "DE", Value: de, Source: "file[f1]/ipCaptureEvent", Time: at(200 * day), Weight: 5}},
		},
		{
			name:  "recency: over a year",
			files: []*guardian.FileDetails{uploaded("f1", de, dt(-800*day), true)},
			want:  []E{{Kind: up, Country: "DE", Value: de, Source: "file[f1]/ipCaptureEvent", Time: at(-800 * day), Weight: 3}},
			note:  "over a year",
		},
		{
			name:  "recency: no time",
			files: []*guardian.FileDetails{uploaded("f1", de, nil, true)},
			want:  []E{{Kind: up, Country: "DE", Value: de, Source: "file[f1]/ipCaptureEvent", Weight: 6}},
			note:  "time unknown",
		},
		{
			name: "reported user's login, registration and other events",
			edit: func(d *guardian.ReportDocument) {
				user(d).IPCaptureEvent = []guardian.IPCaptureEvent{
					{IPAddress: de, EventName: "Login", DateTime: dt(-time.Hour)},
					{IPAddress: de, EventName: "Registration", DateTime: dt(-200 * day)},
					{IPAddress: fr, EventName: "Other"},
					{IPAddress: fr, EventName: "Upload", DateTime: dt(0)},
					{IPAddress: fr, EventName: "Purchase", DateTime: dt(-2 * day)},
				}
			},
			want: []E{
				{Kind: up, Country: "FR", Value: fr, Source: "personOrUserReported[0]/ipCaptureEvent[3]", Time: at(0), Weight: 10},
				{Kind: ipk, Country: "FR", Value: fr, Source: "personOrUserReported[0]/ipCaptureEvent[4]", Time: at(-2 * day), Weight: 4.5},
				{Kind: ipk, Country: "FR", Value: fr, Source: "personOrUserReported[0]/ipCaptureEvent[2]", Weight: 1.8},
				{Kind: ipk, Country: "DE", Value: de, Source: "personOrUserReported[0]/ipCaptureEvent[0]", Time: at(-time.Hour), Weight: 5},
				{Kind: ipk, Country: "DE", Value: de, Source: "personOrUserReported[0]/ipCaptureEvent[1]", Time: at(-200 * day), Weight: 2},
			},
		},
		{
			name: "address written with a port, and a zone",
			edit: func(d *guardian.ReportDocument) {
				user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: " " + de + ":443 ", EventName: "Login", DateTime: dt(0)}}
				d.Victim = []guardian.Victim{{IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: "[" + de6 + "]:8443", EventName: "Login", DateTime: dt(0)}}}}
			},
			want: []E{
				{Kind: ipk, Country: "DE", Value: de, Source: "personOrUserReported[0]/ipCaptureEvent[0]", Time: at(0), Weight: 5},
				{Kind: ipk, Country: "DE", Value: de6, Source: "victim[0]/ipCaptureEvent[0]", Time: at(0), Weight: 5},
			},
		},
		{
			name: "possible proxy: no country",
			edit: func(d *guardian.ReportDocument) {
				user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Login", DateTime: dt(0), PossibleProxy: ptr(true)}}
			},
			want: []E{{Kind: ipk, Value: de, Source: "personOrUserReported[0]/ipCaptureEvent[0]", Time: at(0)}},
			note: "possible proxy (exit in DE)",
		},
		{
			name: "possibleProxy false is an ordinary address",
			edit: func(d *guardian.ReportDocument) {
				user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Login", DateTime: dt(0), PossibleProxy: ptr(false)}}
			},
			want: []E{{Kind: ipk, Country: "DE", Value: de, Source: "personOrUserReported[0]/ipCaptureEvent[0]", Time: at(0), Weight: 5}},
		},
		{
			name: "documentation addresses: no country",
			files: []*guardian.FileDetails{
				uploaded("a", "192.0.2.1", nil, true), uploaded("b", "198.51.100.2", nil, true),
				uploaded("c", "203.0.113.3", nil, true), uploaded("d", "2001:db8::4", nil, true),
			},
			want: []E{
				{Kind: up, Value: "192.0.2.1", Source: "file[a]/ipCaptureEvent"},
				{Kind: up, Value: "198.51.100.2", Source: "file[b]/ipCaptureEvent"},
				{Kind: up, Value: "203.0.113.3", Source: "file[c]/ipCaptureEvent"},
				{Kind: up, Value: "2001:db8::4", Source: "file[d]/ipCaptureEvent"},
			},
			note: "documentation address",
		},
		{
			name:  "private address: no country",
			files: []*guardian.FileDetails{uploaded("a", "10.0.0.1", nil, true)},
			want:  []E{{Kind: up, Value: "10.0.0.1", Source: "file[a]/ipCaptureEvent"}},
			note:  "private address",
		},
		{
			name:  "not an address",
			files: []*guardian.FileDetails{uploaded("a", "unknown", nil, true)},
			want:  []E{{Kind: up, Source: "file[a]/ipCaptureEvent"}},
			note:  "not an IP address",
		},
		{
			name:  "public address the database does not place",
			files: []*guardian.FileDetails{uploaded("a", de, nil, true)},
			geo:   fixedResolver{},
			want:  []E{{Kind: up, Value: de, Source: "file[a]/ipCaptureEvent"}},
			note:  "no country in the IP database",
		},
		{
			name:  "pseudo country from a MaxMind-format database",
			files: []*guardian.FileDetails{uploaded("a", de, nil, true)},
			geo:   fixedResolver{netip.MustParseAddr(de): "A1"},
			want:  []E{{Kind: up, Value: de, Source: "file[a]/ipCaptureEvent"}},
			note:  "anonymous proxy",
		},
		{
			name: "peer-to-peer upload",
			edit: func(d *guardian.ReportDocument) {
				d.InternetDetails = []guardian.InternetDetails{{Peer2PeerIncident: &guardian.Peer2PeerIncident{
					IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Upload", DateTime: dt(0)}},
				}}}
			},
			want: []E{{Kind: up, Country: "DE", Value: de, Source: "internetDetails[0]/peer2peerIncident/ipCaptureEvent[0]", Time: at(0), Weight: 10}},
		},
		{
			name: "associated account's address, scaled",
			edit: func(d *guardian.ReportDocument) {
				user(d).AssociatedAccount = []guardian.AssociatedAccount{{Type: "Linked",
					IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Login", DateTime: dt(0)}}}}
			},
			want: []E{{Kind: ipk, Country: "DE", Value: de, Source: "personOrUserReported[0]/associatedAccount[0]/ipCaptureEvent[0]", Time: at(0), Weight: 3}},
			note: "associated account",
		},

		// Estimated locations.
		{
			name: "verified estimated location",
			edit: func(d *guardian.ReportDocument) {
				user(d).EstimatedLocation = &guardian.EstimatedLocation{Verified: ptr(true), CountryCode: "DE", City: "Example City"}
			},
			want: []E{{Kind: guardian.EvidenceVerifiedLocation, Country: "DE", Value: "DE", Source: "personOrUserReported[0]/estimatedLocation", Weight: 8}},
		},
		{
			name: "unverified estimated locations of recipient and victim, one old",
			edit: func(d *guardian.ReportDocument) {
				d.IntendedRecipient = []guardian.IntendedRecipient{{EstimatedLocation: &guardian.EstimatedLocation{CountryCode: "FR"}}}
				d.Victim = []guardian.Victim{{EstimatedLocation: &guardian.EstimatedLocation{Verified: ptr(false), Timestamp: dt(-800 * day), CountryCode: "FR"}}}
			},
			want: []E{
				{Kind: guardian.EvidenceEstimatedLocation, Country: "FR", Value: "FR", Source: "intendedRecipient[0]/estimatedLocation", Weight: 4},
				{Kind: guardian.EvidenceEstimatedLocation, Country: "FR", Value: "FR", Source: "victim[0]/estimatedLocation", Time: at(-800 * day), Weight: 1.2},
			},
		},
		{
			name: "pseudo country code in a location",
			edit: func(d *guardian.ReportDocument) {
				user(d).EstimatedLocation = &guardian.EstimatedLocation{CountryCode: "EU"}
			},
			want: []E{{Kind: guardian.EvidenceEstimatedLocation, Value: "EU", Source: "personOrUserReported[0]/estimatedLocation"}},
			note: "pseudo country code EU",
		},
		{
			name: "withdrawn code FX is France",
			edit: func(d *guardian.ReportDocument) {
				user(d).EstimatedLocation = &guardian.EstimatedLocation{CountryCode: "FX"}
			},
			want: []E{{Kind: guardian.EvidenceEstimatedLocation, Country: "FR", Value: "FX", Source: "personOrUserReported[0]/estimatedLocation", Weight: 4}},
		},

		// Postal addresses.
		{
			name: "addresses by type, and a state without a country",
			edit: func(d *guardian.ReportDocument) {
				person(d).Address = []guardian.Address{
					{Type: "Home", Country: "DE"}, {Type: "Business", Country: "DE"}, {Country: "DE"},
					{Type: "Technical", Country: "DE"}, {City: "Springfield", State: "IL"}, {State: "PR"},
				}
			},
			want: []E{
				{Kind: addr, Country: "DE", Value: "DE", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[0]", Weight: 5},
				{Kind: addr, Country: "DE", Value: "DE", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[2]", Weight: 4},
				{Kind: addr, Country: "DE", Value: "DE", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[1]", Weight: 3},
				{Kind: addr, Country: "DE", Value: "DE", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[3]", Weight: 2},
				{Kind: addr, Country: "US", Value: "US", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[4]", Weight: 4},
				{Kind: addr, Country: "PR", Value: "PR", Source: "personOrUserReported[0]/personOrUserReportedPerson/address[5]", Weight: 4},
			},
		},
		{
			name: "incident address",
			edit: func(d *guardian.ReportDocument) {
				d.InternetDetails = []guardian.InternetDetails{{NonInternetIncident: &guardian.NonInternetIncident{
					IncidentAddress: []guardian.Address{{City: "Example City", Country: "DE"}},
				}}}
			},
			want: []E{{Kind: guardian.EvidenceIncidentAddress, Country: "DE", Value: "DE", Source: "internetDetails[0]/nonInternetIncident/incidentAddress[0]", Weight: 8}},
		},

		// Telephone numbers (libphonenumber's example numbers).
		{
			name: "calling code of one country, in the number or the attribute",
			edit: func(d *guardian.ReportDocument) {
				person(d).Phone = []guardian.Phone{{Value: "+49 30 123456"}, {Value: "030 123456", CountryCallingCode: "+49"}}
			},
			want: []E{
				{Kind: ph, Country: "DE", Value: "+49", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[0]", Weight: 4},
				{Kind: ph, Country: "DE", Value: "+49", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[1]", Weight: 4},
			},
			note: "calling code of one country",
		},
		{
			name: "shared calling codes: the number decides",
			edit: func(d *guardian.ReportDocument) {
				person(d).Phone = []guardian.Phone{
					{Value: "(506) 234-5678", CountryCallingCode: "+1"},    // CA
					{Value: "+1 201 555 0123"},                             // US
					{Value: "1-876-523-0123", CountryCallingCode: "+1"},    // JM, with the national prefix
					{Value: "+44 1534 456789"},                             // JE
					{Value: "8 (912) 345-67-89", CountryCallingCode: "+7"}, // RU, with the national prefix
					{Value: "+7 771 000 9998"},                             // KZ
					{Value: "06 6981 2345", CountryCallingCode: "+39"},     // VA
				}
			},
			want: []E{
				{Kind: ph, Country: "CA", Value: "+1", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[0]", Weight: 4},
				{Kind: ph, Country: "US", Value: "+1", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[1]", Weight: 4},
				{Kind: ph, Country: "JM", Value: "+1", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[2]", Weight: 4},
				{Kind: ph, Country: "JE", Value: "+44", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[3]", Weight: 4},
				{Kind: ph, Country: "KZ", Value: "+7", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[5]", Weight: 4},
				{Kind: ph, Country: "RU", Value: "+7", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[4]", Weight: 4},
				{Kind: ph, Country: "VA", Value: "+39", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[6]", Weight: 4},
			},
			note: "shared by several countries; the number is one of this country's",
		},
		{
			name: "shared calling code, number of none of its countries",
			edit: func(d *guardian.ReportDocument) {
				d.InternetDetails = []guardian.InternetDetails{{CellPhoneIncident: &guardian.CellPhoneIncident{
					PhoneNumber: &guardian.Phone{Value: "0005550100", CountryCallingCode: "+1"},
				}}}
			},
			want: []E{{Kind: ph, Value: "+1", Source: "internetDetails[0]/cellPhoneIncident/phoneNumber"}},
			note: "matches none",
		},
		{
			name: "unusable numbers",
			edit: func(d *guardian.ReportDocument) {
				person(d).Phone = []guardian.Phone{
					{Value: "2015550123"},      // no calling code
					{Value: "+800 1234 5678"},  // non-geographic
					{Value: "CALL-ME-MAYBE"},   // not a number
					{Value: "+999 123 456 78"}, // no such calling code
				}
			},
			want: []E{
				{Kind: ph, Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[0]"},
				{Kind: ph, Value: "+800", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[1]"},
				{Kind: ph, Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[2]"},
				{Kind: ph, Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[3]"},
			},
			note: "no country calling code",
		},
		{
			name: "the number's own calling code wins over the attribute",
			edit: func(d *guardian.ReportDocument) {
				person(d).Phone = []guardian.Phone{{Value: "+49 30 123456", CountryCallingCode: "+44"}}
			},
			want: []E{{Kind: ph, Country: "DE", Value: "+49", Source: "personOrUserReported[0]/personOrUserReportedPerson/phone[0]", Weight: 4}},
			note: "disagrees",
		},

		// Other signals.
		{
			name: "legal process served from abroad",
			edit: func(d *guardian.ReportDocument) {
				withLE(d).ServedLegalProcessInternational = &guardian.ServedLegalProcessInternational{Value: true, FleaCountry: "CA"}
			},
			want: []E{{Kind: guardian.EvidenceLegalProcess, Country: "CA", Value: "CA", Source: "lawEnforcement/servedLegalProcessInternational", Weight: 3}},
		},
		{
			name: "legal process not served",
			edit: func(d *guardian.ReportDocument) {
				withLE(d).ServedLegalProcessInternational = &guardian.ServedLegalProcessInternational{Value: false, FleaCountry: "CA"}
			},
		},
		{
			name: "country-code domains of e-mail and URLs; generic ones are no evidence",
			edit: func(d *guardian.ReportDocument) {
				person(d).Email = []guardian.Email{{Value: "someone@mail.example.de"}, {Value: "x@example.com"}, {Value: "y@example.io"}, {Value: "z@example.co.uk."}}
				user(d).ProfileURL = []string{"https://www.example.fr:8443/u/1?x=y", "http://[2001:db8::1]/u"}
				user(d).AssociatedAccount = []guardian.AssociatedAccount{{Type: "Other", Email: []guardian.Email{{Value: "a@example.at"}}}}
				d.InternetDetails = []guardian.InternetDetails{{WebPageIncident: &guardian.WebPageIncident{URL: []string{"example.nl/page"}}}}
			},
			want: []E{
				{Kind: dom, Country: "AT", Value: ".at", Source: "personOrUserReported[0]/associatedAccount[0]/email[0]", Weight: 0.6},
				{Kind: dom, Country: "DE", Value: ".de", Source: "personOrUserReported[0]/personOrUserReportedPerson/email[0]", Weight: 1},
				{Kind: dom, Country: "FR", Value: ".fr", Source: "personOrUserReported[0]/profileUrl[0]", Weight: 1},
				{Kind: dom, Country: "GB", Value: ".uk", Source: "personOrUserReported[0]/personOrUserReportedPerson/email[3]", Weight: 1},
				{Kind: dom, Country: "NL", Value: ".nl", Source: "internetDetails[0]/webPageIncident/url[0]", Weight: 0.5},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := baseReport()
			if tt.edit != nil {
				tt.edit(d)
			}
			g := tt.geo
			if g == nil {
				g = geo.Embedded()
			}
			a := triage.Resolve(d, tt.files, g)
			got := evidence(a)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(guardian.Evidence{}, "Note"), cmpopts.EquateEmpty(),
				cmpopts.SortSlices(func(x, y E) bool { return x.Country+x.Source < y.Country+y.Source })); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
			if tt.note != "" && (len(got) == 0 || !strings.Contains(got[0].Note, tt.note)) {
				t.Errorf("note %q does not say %q", firstNote(got), tt.note)
			}
			if a.NoLocation != (len(a.Countries) == 0) {
				t.Errorf("NoLocation = %v with %d countries", a.NoLocation, len(a.Countries))
			}
			for _, e := range got {
				if e.Note == "" {
					t.Errorf("evidence %s has no note", e.Source)
				}
			}
		})
	}
}

func firstNote(ev []guardian.Evidence) string {
	if len(ev) == 0 {
		return ""
	}
	return ev[0].Note
}

// TestResolve_Assessment covers ranking, normalisation, confidence and the
// per-user breakdown.
func TestResolve_Assessment(t *testing.T) {
	de, fr := MustAddrIn(t, "DE", false), MustAddrIn(t, "FR", false)
	countries := func(a guardian.Assessment) map[string]float64 {
		m := map[string]float64{}
		for _, c := range a.Countries {
			m[c.Country] = c.Score
		}
		return m
	}
	t.Run("ranking and normalised scores", func(t *testing.T) {
		d := baseReport()
		user(d).EstimatedLocation = &guardian.EstimatedLocation{CountryCode: "FR"}
		person(d).Phone = []guardian.Phone{{Value: "+33123456789"}}
		a := triage.Resolve(d, []*guardian.FileDetails{uploaded("f", de, dt(0), true)}, geo.Embedded())
		if got, want := []string{a.Countries[0].Country, a.Countries[1].Country}, []string{"DE", "FR"}; !cmp.Equal(got, want) {
			t.Errorf("ranking %v, want %v", got, want)
		}
		if diff := cmp.Diff(map[string]float64{"DE": 0.556, "FR": 0.444}, countries(a)); diff != "" {
			t.Errorf("scores (-want +got):\n%s", diff)
		}
		// agreement 10/18, support 1-exp(-10/8), no markers.
		if want := round3(10.0 / 18 * (1 - math.Exp(-10.0/8))); a.Confidence != want {
			t.Errorf("Confidence = %v, want %v", a.Confidence, want)
		}
		if len(a.ConfidenceFactors) != 3 {
			t.Errorf("ConfidenceFactors = %v", a.ConfidenceFactors)
		}
	})
	t.Run("equal weights: the stronger kind first", func(t *testing.T) {
		d := baseReport()
		user(d).EstimatedLocation = &guardian.EstimatedLocation{Verified: ptr(true), CountryCode: "FR"} // 8
		person(d).Address = []guardian.Address{{Type: "Technical", Country: "FR"}}                      // 2
		a := triage.Resolve(d, []*guardian.FileDetails{uploaded("f", de, dt(0), true)}, geo.Embedded()) // DE 10
		if a.Countries[0].Country != "DE" || a.Countries[0].Weight != a.Countries[1].Weight {
			t.Errorf("countries %+v", a.Countries)
		}
	})
	t.Run("conflict lowers the confidence", func(t *testing.T) {
		one := triage.Resolve(baseReport(), []*guardian.FileDetails{uploaded("a", de, dt(0), true)}, geo.Embedded())
		two := triage.Resolve(baseReport(), []*guardian.FileDetails{uploaded("a", de, dt(0), true), uploaded("b", fr, dt(0), true)}, geo.Embedded())
		if !(two.Confidence < one.Confidence/1.5) {
			t.Errorf("confidence %v with a conflicting upload, %v without", two.Confidence, one.Confidence)
		}
	})
	t.Run("markers lower the confidence, down to a floor", func(t *testing.T) {
		base := 1 - math.Exp(-10.0/8) // one upload address, agreement 1
		files := []*guardian.FileDetails{uploaded("a", de, dt(0), true), uploaded("b", "192.0.2.1", nil, true)}
		doc := triage.Resolve(baseReport(), files, geo.Embedded())
		if want := round3(base * 0.95); doc.Confidence != want {
			t.Errorf("one documentation address: confidence %v, want %v", doc.Confidence, want)
		}
		d := baseReport()
		user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: fr, PossibleProxy: ptr(true)}}
		proxy := triage.Resolve(d, files[:1], geo.Embedded())
		if want := round3(base * 0.85); proxy.Confidence != want {
			t.Errorf("one proxy: confidence %v, want %v", proxy.Confidence, want)
		}
		for range 10 {
			user(d).IPCaptureEvent = append(user(d).IPCaptureEvent, guardian.IPCaptureEvent{IPAddress: fr, PossibleProxy: ptr(true)})
		}
		many := triage.Resolve(d, files[:1], geo.Embedded())
		if want := round3(base * 0.5); many.Confidence != want {
			t.Errorf("eleven proxies: confidence %v, want the floor %v", many.Confidence, want)
		}
	})
	t.Run("no location", func(t *testing.T) {
		d := baseReport()
		user(d).IPCaptureEvent = []guardian.IPCaptureEvent{{IPAddress: "203.0.113.9"}}
		a := triage.Resolve(d, nil, geo.Embedded())
		if !a.NoLocation || len(a.Countries) != 0 || a.Confidence != 0 || len(a.Unresolved) != 1 {
			t.Errorf("assessment %+v", a)
		}
		if a.RulesVersion != triage.RulesVersion {
			t.Errorf("RulesVersion = %q", a.RulesVersion)
		}
	})
	t.Run("batched report: per reported user", func(t *testing.T) {
		d := baseReport()
		d.BatchedReport = &guardian.BatchedReport{Reason: "VIRAL_POTENTIAL_MEME"}
		d.PersonOrUserReported = []guardian.PersonOrUserReported{
			{ESPIdentifier: "user-1", IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: de, EventName: "Login", DateTime: dt(0)}}},
			{ScreenName: "user_two", IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: fr, EventName: "Login", DateTime: dt(0)}}},
			{},
		}
		// The file's upload address is the second user's login address.
		a := triage.Resolve(d, []*guardian.FileDetails{uploaded("f", fr, dt(0), true)}, geo.Embedded())
		if len(a.PerUser) != 3 {
			t.Fatalf("PerUser has %d entries", len(a.PerUser))
		}
		for i, want := range []struct {
			user      string
			countries map[string]float64
			evidence  int
		}{
			{"user-1", map[string]float64{"DE": 1}, 1},
			{"user_two", map[string]float64{"FR": 1}, 2},
			{"", map[string]float64{}, 0},
		} {
			u := a.PerUser[i]
			if u.Index != i || u.User != want.user || !cmp.Equal(countries(u.Assessment), want.countries) || len(evidence(u.Assessment)) != want.evidence {
				t.Errorf("PerUser[%d] = %d %q %v with %d evidence; want %q %v with %d", i, u.Index, u.User, countries(u.Assessment), len(evidence(u.Assessment)), want.user, want.countries, want.evidence)
			}
		}
		if !a.PerUser[2].NoLocation {
			t.Error("the user with nothing has a location")
		}
		if diff := cmp.Diff(map[string]float64{"FR": 0.75, "DE": 0.25}, countries(a)); diff != "" {
			t.Errorf("union (-want +got):\n%s", diff)
		}
	})
	t.Run("several reported users of one incident: no breakdown", func(t *testing.T) {
		d := baseReport()
		d.PersonOrUserReported = []guardian.PersonOrUserReported{{EstimatedLocation: &guardian.EstimatedLocation{CountryCode: "DE"}}, {EstimatedLocation: &guardian.EstimatedLocation{CountryCode: "DE"}}}
		if a := triage.Resolve(d, nil, geo.Embedded()); a.PerUser != nil || countries(a)["DE"] != 1 {
			t.Errorf("assessment %+v", a)
		}
	})
}

// TestResolve_RichReport resolves the reference's rich report: every IP
// address in it is a documentation address, so the countries come from its
// phones, addresses and locations.
func TestResolve_RichReport(t *testing.T) {
	doc := MustParseReport(t, "report-rich.xml")
	files := []*guardian.FileDetails{MustParseFileDetails(t, "filedetails.xml")}
	a := triage.Resolve(doc, files, geo.Embedded())
	var got []string
	for _, c := range a.Countries {
		got = append(got, c.Country)
	}
	if want := []string{"US", "CA"}; !cmp.Equal(got, want) {
		t.Errorf("countries %v, want %v", got, want)
	}
	if len(a.Unresolved) != 6 {
		t.Errorf("%d unresolved, want the 6 documentation addresses", len(a.Unresolved))
	}
	for _, e := range a.Unresolved {
		if !strings.Contains(e.Note, "documentation") {
			t.Errorf("%s: %s", e.Source, e.Note)
		}
	}
	if a.Confidence <= 0.5 || a.Confidence >= 0.8 {
		t.Errorf("Confidence = %v", a.Confidence)
	}
	// No free text reaches the assessment.
	for _, e := range evidence(a) {
		for _, s := range []string{"Springfield", "Alex", "Sample", "synthetic", "example"} {
			if strings.Contains(e.Value+e.Note+e.Source, s) {
				t.Errorf("evidence %s carries report text %q", e.Source, s)
			}
		}
	}
}

// TestResolve_Reentrant checks that resolving other reports in between
// (the evidence buffer is pooled) changes nothing.
func TestResolve_Reentrant(t *testing.T) {
	doc := MustParseReport(t, "report-rich.xml")
	files := []*guardian.FileDetails{MustParseFileDetails(t, "filedetails.xml")}
	first := triage.Resolve(doc, files, geo.Embedded())
	for range 3 {
		triage.Resolve(MustParseReport(t, "report-minimal.xml"), nil, geo.Embedded())
	}
	if diff := cmp.Diff(first, triage.Resolve(doc, files, geo.Embedded())); diff != "" {
		t.Errorf("second resolution differs (-first +second):\n%s", diff)
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// TestResolve_Concurrent resolves reports from several goroutines (the
// evidence buffers are pooled and the area-code cache is shared) and
// expects the answers of a sequential run. Run it with -race.
func TestResolve_Concurrent(t *testing.T) {
	rich := MustParseReport(t, "report-rich.xml")
	minimal := MustParseReport(t, "report-minimal.xml")
	d := baseReport()
	person(d).Phone = []guardian.Phone{{Value: "(506) 234-5678", CountryCallingCode: "+1"}, {Value: "+44 1534 456789"}}
	docs := []*guardian.ReportDocument{rich, minimal, d}
	want := make([]guardian.Assessment, len(docs))
	for i, doc := range docs {
		want[i] = triage.Resolve(doc, nil, geo.Embedded())
	}
	errs := make(chan string, 4*len(docs))
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := range 50 {
				i := (w + n) % len(docs)
				if diff := cmp.Diff(want[i], triage.Resolve(docs[i], nil, geo.Embedded())); diff != "" {
					errs <- diff
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	close(errs)
	for diff := range errs {
		t.Errorf("concurrent resolution differs (-want +got):\n%s", diff)
	}
}
