package triage_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/geo"
)

// All data in these tests is synthetic. Addresses that must geolocate are
// taken from ranges the embedded database assigns to the country
// (MustAddrIn); the others are documentation, private or reserved
// addresses. Telephone numbers are libphonenumber's own example numbers,
// written to be valid but never assigned to anyone; names and e-mail
// domains are invented.

// MustParseReport parses a report from cybertip/testdata.
func MustParseReport(tb testing.TB, name string) *guardian.ReportDocument {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cybertip", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := cybertip.ParseReport(b)
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

// MustParseFileDetails parses a fileDetails document from cybertip/testdata.
func MustParseFileDetails(tb testing.TB, name string) *guardian.FileDetails {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cybertip", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	fd, err := cybertip.ParseFileDetails(b)
	if err != nil {
		tb.Fatal(err)
	}
	return fd
}

var addrIn sync.Map // "DE4" -> string

// MustAddrIn returns an address from the first public range that the
// embedded database assigns to country, IPv4 or IPv6.
func MustAddrIn(tb testing.TB, country string, v6 bool) string {
	tb.Helper()
	key := country + map[bool]string{false: "4", true: "6"}[v6]
	if a, ok := addrIn.Load(key); ok {
		return a.(string)
	}
	for r := range geo.Embedded().Ranges() {
		if r.Country != country || r.From.Is6() != v6 {
			continue
		}
		a := r.From.Next() // not the network address itself
		if !r.To.Less(a) && geo.Classify(a) == geo.Public {
			addrIn.Store(key, a.String())
			return a.String()
		}
	}
	tb.Fatalf("no public range for %s in the embedded database", key)
	return ""
}

// incident is the incident time of the test reports.
var incident = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// dt returns the DateTime of the incident time shifted by d.
func dt(d time.Duration) *guardian.DateTime {
	t := incident.Add(d)
	return &guardian.DateTime{Lexical: t.Format(time.RFC3339), Time: t, Zoned: true}
}

const day = 24 * time.Hour

func ptr[T any](v T) *T { return &v }

// baseReport returns a report with nothing that locates anyone, but with a
// reporter and a law-enforcement officer who have addresses and phones:
// those must never count as evidence.
func baseReport() *guardian.ReportDocument {
	return &guardian.ReportDocument{
		IncidentSummary: guardian.IncidentSummary{
			IncidentType:     "Child Pornography (possession, manufacture, and distribution)",
			IncidentDateTime: *dt(0),
		},
		Reporter: guardian.ReporterDetails{
			ReportingPerson: guardian.Person{
				FirstName: "Jordan", LastName: "Example",
				Phone:   []guardian.Phone{{Value: "2015550123", CountryCallingCode: "+1"}},
				Email:   []guardian.Email{{Value: "trust-safety@example.de"}},
				Address: []guardian.Address{{Type: "Business", City: "Springfield", State: "IL", Country: "US"}},
			},
			ContactPerson: &guardian.ContactPerson{Phone: []guardian.Phone{{Value: "+4930123456"}}},
		},
	}
}

// withLE adds a law-enforcement section whose officer has contact details.
func withLE(d *guardian.ReportDocument) *guardian.LawEnforcement {
	d.LawEnforcement = &guardian.LawEnforcement{
		AgencyName: "Example County Sheriff Office",
		OfficerContact: &guardian.ContactPerson{
			Phone:   []guardian.Phone{{Value: "+33123456789"}},
			Address: []guardian.Address{{Country: "FR"}},
		},
	}
	return d.LawEnforcement
}

// user returns the first reported user, creating it.
func user(d *guardian.ReportDocument) *guardian.PersonOrUserReported {
	if len(d.PersonOrUserReported) == 0 {
		d.PersonOrUserReported = []guardian.PersonOrUserReported{{}}
	}
	return &d.PersonOrUserReported[0]
}

// person returns the first reported user's person, creating it.
func person(d *guardian.ReportDocument) *guardian.Person {
	u := user(d)
	if u.PersonOrUserReportedPerson == nil {
		u.PersonOrUserReportedPerson = &guardian.Person{}
	}
	return u.PersonOrUserReportedPerson
}

// uploaded returns file details with an upload address.
func uploaded(id, ip string, at *guardian.DateTime, viewed bool) *guardian.FileDetails {
	return &guardian.FileDetails{
		FileID:          id,
		FileViewedByESP: ptr(viewed),
		IPCaptureEvent:  &guardian.IPCaptureEvent{IPAddress: ip, EventName: "Upload", DateTime: at},
	}
}

// fixedResolver answers from a map, for the answers the embedded database
// never gives (no data for a public address, pseudo codes).
type fixedResolver map[netip.Addr]string

func (f fixedResolver) Country(a netip.Addr) string { return f[a] }

// evidence returns all evidence of an assessment, resolved first, in the
// order of the assessment.
func evidence(a guardian.Assessment) []guardian.Evidence {
	var ev []guardian.Evidence
	for _, c := range a.Countries {
		ev = append(ev, c.Evidence...)
	}
	return append(ev, a.Unresolved...)
}
