package demo

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/notify"
)

// TestGeneratedReports checks that what the simulated reporter sends is
// valid CyberTipline XML, points where it says, and stays synthetic.
func TestGeneratedReports(t *testing.T) {
	n, err := network.Load("../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGenerator(n, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.partner) == 0 || len(g.liaison) == 0 || len(g.uncovered) == 0 || len(g.domestic) == 0 {
		t.Fatalf("countries: partner %v, liaison %v, domestic %v, uncovered %v", g.partner, g.liaison, g.domestic, g.uncovered)
	}
	for _, c := range g.uncovered {
		if ag := n.AgreementFor(c); ag != n.FallbackAgreement() {
			t.Errorf("%s is drawn as a country without agreement but %s covers it", c, ag.Agency)
		}
	}
	emails := regexp.MustCompile(`[A-Za-z0-9._-]+@[A-Za-z0-9.-]+`)
	kinds := map[string]int{}
	for i := range 200 {
		rep := g.report(time.Now())
		doc, err := cybertip.ParseReport(rep.xml)
		if err != nil {
			t.Fatalf("report %d is refused: %v\n%s", i, err, rep.xml)
		}
		for _, e := range emails.FindAllString(string(rep.xml), -1) {
			if !strings.HasSuffix(e, "@example.com") && !strings.HasSuffix(e, "@example.org") {
				t.Errorf("address %q outside example.com and example.org", e)
			}
		}
		ip := netip.MustParseAddr(doc.PersonOrUserReported[0].IPCaptureEvent[0].IPAddress)
		switch {
		case rep.country == "":
			kinds["none"]++
			if geo.Classify(ip) == geo.Public {
				t.Errorf("report without a country has the public address %v", ip)
			}
		default:
			kinds["country"]++
			if got := geo.Embedded().Country(ip); got != rep.country {
				t.Errorf("report for %s has %v, which the table places in %q", rep.country, ip, got)
			}
		}
		if len(rep.files) == 0 || len(rep.files) > 3 {
			t.Errorf("report has %d files", len(rep.files))
		}
		for _, f := range rep.files {
			if _, err := cybertip.ParseFileDetails(f.details(7, "0123456789abcdef0123456789abcdef")); err != nil {
				t.Fatalf("file details refused: %v", err)
			}
		}
	}
	if kinds["none"] == 0 || kinds["country"] < 100 {
		t.Errorf("report kinds %v: want mostly located ones and a few without location", kinds)
	}
}

// TestGeneratorRepeatable: the same seed draws the same traffic.
func TestGeneratorRepeatable(t *testing.T) {
	n, err := network.Load("../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, _ := newGenerator(n, 7)
	b, _ := newGenerator(n, 7)
	for range 5 {
		if x, y := a.report(at), b.report(at); string(x.xml) != string(y.xml) {
			t.Fatalf("same seed, different reports:\n%s\n%s", x.xml, y.xml)
		}
	}
}

// TestTrafficReports checks what Traffic draws for a load generator: valid
// CyberTipline XML and file details, addresses the table places in the
// report's country, e-mail under example.net, phone numbers with the
// country's calling code (in the fictional ranges where there is one),
// and the mix of kinds.
func TestTrafficReports(t *testing.T) {
	countries := []string{"US", "GB", "AU", "IN", "PH"}
	codes := map[string]string{"US": "1", "GB": "44", "AU": "61", "IN": "91", "PH": "63"}
	tr, err := NewTraffic(TrafficOptions{Seed: 3, Countries: countries,
		Country:     func(r *rand.Rand) string { return countries[r.IntN(len(countries))] },
		CallingCode: func(c string) string { return codes[c] }, Suspects: 50})
	if err != nil {
		t.Fatal(err)
	}
	fictional := map[string]*regexp.Regexp{
		"US": regexp.MustCompile(`^\d{3}55501\d{2}$`), "GB": regexp.MustCompile(`^7700900\d{3}$`), "AU": regexp.MustCompile(`^25550\d{4}$`),
	}
	emails := regexp.MustCompile(`[A-Za-z0-9._-]+@[A-Za-z0-9.-]+`)
	kinds := map[string]int{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range uint64(300) {
		rep := tr.Report(i, at)
		kinds[rep.Kind]++
		doc, err := cybertip.ParseReport(rep.XML)
		if err != nil {
			t.Fatalf("report %d is refused: %v\n%s", i, err, rep.XML)
		}
		for _, e := range emails.FindAllString(string(rep.XML), -1) {
			if !strings.HasSuffix(e, "example.net") && !strings.HasSuffix(e, "@example.com") {
				t.Errorf("address %q outside example.net and example.com", e)
			}
		}
		if rep.Kind == "thin" {
			if len(doc.PersonOrUserReported) != 0 || len(rep.Files) != 0 || rep.Country != "" {
				t.Errorf("thin report %d has a reported user, files or a country", i)
			}
			continue
		}
		p := doc.PersonOrUserReported[0]
		if got := geo.Embedded().Country(netip.MustParseAddr(p.IPCaptureEvent[0].IPAddress)); got != rep.Country {
			t.Errorf("report for %s has %s, which the table places in %q", rep.Country, p.IPCaptureEvent[0].IPAddress, got)
		}
		ph := p.PersonOrUserReportedPerson.Phone
		if len(ph) != 1 || ph[0].CountryCallingCode != "+"+codes[rep.Country] {
			t.Fatalf("report for %s: phone %+v", rep.Country, ph)
		}
		if re := fictional[rep.Country]; re != nil && !re.MatchString(ph[0].Value) {
			t.Errorf("%s number %s is outside the fictional range", rep.Country, ph[0].Value)
		}
		if !strings.HasSuffix(p.PersonOrUserReportedPerson.Email[0].Value, "@"+strings.ToLower(rep.Country)+".example.net") {
			t.Errorf("report for %s: e-mail %s", rep.Country, p.PersonOrUserReportedPerson.Email[0].Value)
		}
		if n := len(rep.Files); n < 1 || n > 4 {
			t.Errorf("report %d has %d files", i, n)
		}
		for _, f := range rep.Files {
			d, err := cybertip.ParseFileDetails(f.Details(7, "0123456789abcdef0123456789abcdef"))
			if err != nil {
				t.Fatalf("file details refused: %v", err)
			}
			if d.IsPotentialMeme() != (rep.Kind == "meme") {
				t.Errorf("a file of a %s report says potential meme %v", rep.Kind, d.IsPotentialMeme())
			}
		}
		if (rep.Kind == "escalated") != (doc.IncidentSummary.EscalateToHighPriority != "") {
			t.Errorf("a %s report escalates %q", rep.Kind, doc.IncidentSummary.EscalateToHighPriority)
		}
	}
	// About half informational, a few escalated.
	if info := kinds["thin"] + kinds["meme"]; info < 110 || info > 190 || kinds["escalated"] > 20 || kinds["referral"] == 0 {
		t.Errorf("kinds %v: want about half thin or meme, a few escalated", kinds)
	}
	// Report i is the same whoever draws it, and when.
	again, _ := NewTraffic(TrafficOptions{Seed: 3, Countries: countries,
		Country:     func(r *rand.Rand) string { return countries[r.IntN(len(countries))] },
		CallingCode: func(c string) string { return codes[c] }, Suspects: 50})
	for _, i := range []uint64{0, 17, 299} {
		if a, b := tr.Report(i, at), again.Report(i, at); string(a.XML) != string(b.XML) || a.Suspect != b.Suspect {
			t.Errorf("report %d differs between two generators of the same seed", i)
		}
	}
}

// TestMailCatcher sends through package notify's mailer, as the hub does,
// and checks that the catcher keeps the newest MaxMails, decoded.
func TestMailCatcher(t *testing.T) {
	c, err := StartMailCatcher("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, err := notify.NewMailer(notify.MailerConfig{Addr: c.Addr(), From: "guardian@demo-hub.example.org", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n = MaxMails + 3
	for i := range n {
		err := m.Send(t.Context(), notify.Email{To: "duty@example.org", Subject: fmt.Sprintf("Référence %d", i), Body: "Line one é\nLine two = three\n"})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	got := c.Messages()
	if len(got) != MaxMails || c.Total() != n {
		t.Fatalf("kept %d of %d messages, want %d of %d", len(got), c.Total(), MaxMails, n)
	}
	newest := got[0]
	if newest.Subject != fmt.Sprintf("Référence %d", n-1) || got[len(got)-1].Subject != "Référence 3" {
		t.Errorf("subjects newest %q, oldest %q", newest.Subject, got[len(got)-1].Subject)
	}
	if !strings.Contains(newest.Body, "Line one é\nLine two = three") {
		t.Errorf("body %q", newest.Body)
	}
	if newest.From != "guardian@demo-hub.example.org" || len(newest.To) != 1 || newest.To[0] != "duty@example.org" {
		t.Errorf("envelope %q → %v", newest.From, newest.To)
	}
}
