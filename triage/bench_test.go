package triage_test

import (
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// BenchmarkResolveAndAssess measures jurisdiction resolution and triage of
// the reference's rich report and its file, with the embedded database and
// without any store. The goal is 50,000 reports a second on one core:
//
//	go test ./triage -run '^$' -bench . -cpu 1
func BenchmarkResolveAndAssess(b *testing.B) {
	doc := MustParseReport(b, "report-rich.xml")
	files := []*guardian.FileDetails{MustParseFileDetails(b, "filedetails.xml")}
	g := geo.Embedded() // decoded once, outside the loop
	b.ReportAllocs()
	for b.Loop() {
		a := triage.Resolve(doc, files, g)
		triage.Assess(doc, files, a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkResolveAndAssess_PublicAddresses is the same report with its
// documentation addresses replaced by addresses the database places, so
// that every IP address costs a lookup.
func BenchmarkResolveAndAssess_PublicAddresses(b *testing.B) {
	doc := MustParseReport(b, "report-rich.xml")
	fd := MustParseFileDetails(b, "filedetails.xml")
	de, de6, fr := MustAddrIn(b, "DE", false), MustAddrIn(b, "DE", true), MustAddrIn(b, "FR", false)
	fd.IPCaptureEvent.IPAddress = de
	doc.InternetDetails[4].Peer2PeerIncident.IPCaptureEvent[0].IPAddress = de
	u := &doc.PersonOrUserReported[0]
	u.IPCaptureEvent[0].IPAddress, u.IPCaptureEvent[1].IPAddress = fr, de6
	u.AssociatedAccount[0].IPCaptureEvent[0].IPAddress = de
	doc.IntendedRecipient[0].IPCaptureEvent[0].IPAddress = fr
	files := []*guardian.FileDetails{fd}
	g := geo.Embedded()
	b.ReportAllocs()
	for b.Loop() {
		a := triage.Resolve(doc, files, g)
		triage.Assess(doc, files, a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkResolve_ColdPhones resolves numbers of shared calling codes that
// the North American area-code cache cannot answer (+44, +7): the worst
// case for telephone numbers.
func BenchmarkResolve_ColdPhones(b *testing.B) {
	doc := MustParseReport(b, "report-rich.xml")
	doc.PersonOrUserReported[0].PersonOrUserReportedPerson.Phone[0] = guardian.Phone{Value: "+44 1534 456789"}
	doc.InternetDetails[3].CellPhoneIncident.PhoneNumber = &guardian.Phone{Value: "+7 771 000 9998"}
	g := geo.Embedded()
	b.ReportAllocs()
	for b.Loop() {
		triage.Resolve(doc, nil, g)
	}
}
