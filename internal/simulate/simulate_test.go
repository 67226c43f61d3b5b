package simulate

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/internal/demo"
)

// TestCountriesTable: the embedded table says where it comes from, and
// its order at the top is the published one.
func TestCountriesTable(t *testing.T) {
	for _, s := range []string{"CyberTipline Reports by Country", "2023", "https://www.missingkids.org/cybertiplinedata", "ESTIMATES"} {
		if !bytes.Contains(countriesCSV, []byte(s)) {
			t.Errorf("countries.csv's header does not say %q", s)
		}
	}
	tab := Countries()
	if got := tab.Countries[:5]; !equal(got, []string{"IN", "PH", "PK", "ID", "BD"}) {
		t.Errorf("the first five are %v", got)
	}
	var sum float64
	for i, c := range tab.Countries {
		sum += tab.Share(c)
		if i > 0 && tab.Share(c) > tab.Share(tab.Countries[i-1]) {
			t.Errorf("%s has more reports than %s above it", c, tab.Countries[i-1])
		}
		if tab.CallingCode(c) == "" {
			t.Errorf("%s has no calling code", c)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares sum to %v", sum)
	}
	if tab.CallingCode("IN") != "91" || tab.CallingCode("US") != "1" {
		t.Errorf("calling codes IN %q, US %q", tab.CallingCode("IN"), tab.CallingCode("US"))
	}
	for _, bad := range []string{"", "country,calling_code,reports_est\nIN,91\n", "IN,91,-3\n", "IN,91,1\nIN,91,2\n"} {
		if _, err := ParseCountries([]byte(bad)); err == nil {
			t.Errorf("ParseCountries(%q) accepted", bad)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// within reports whether a count is within five standard deviations of
// what a share of n draws should give.
func within(count, n int, share float64) bool {
	want := share * float64(n)
	return math.Abs(float64(count)-want) <= 5*math.Sqrt(want*(1-share))+1
}

// TestCountryDraws: over many draws, each country's frequency matches its
// share of the table.
func TestCountryDraws(t *testing.T) {
	tab := Countries()
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	got := map[string]int{}
	for range n {
		got[tab.Draw(r)]++
	}
	for _, c := range tab.Countries {
		if !within(got[c], n, tab.Share(c)) {
			t.Errorf("%s drawn %d times of %d, want about %.0f", c, got[c], n, tab.Share(c)*n)
		}
	}
	if len(got) != len(tab.Countries) {
		t.Errorf("drew %d countries, the table has %d", len(got), len(tab.Countries))
	}
}

// trafficReports draws the first n reports of seed as the simulator does.
func trafficReports(t *testing.T, seed uint64, suspects, n int) []*demo.TrafficReport {
	t.Helper()
	tab := Countries()
	tr, err := demo.NewTraffic(demo.TrafficOptions{Seed: seed, Countries: tab.Countries, Country: tab.Draw,
		CallingCode: tab.CallingCode, Suspects: suspects})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tab.Countries {
		if !tr.HasAddresses(c) {
			t.Errorf("the geolocation table has no address for %s: reports cannot point there", c)
		}
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	out := make([]*demo.TrafficReport, n)
	for i := range out {
		out[i] = tr.Report(uint64(i), at)
	}
	return out
}

// TestTrafficCountries: the reports that point somewhere point to the
// table's countries in its proportions.
func TestTrafficCountries(t *testing.T) {
	tab := Countries()
	reps := trafficReports(t, 11, 1000, 3000)
	got := map[string]int{}
	located := 0
	for _, r := range reps {
		if r.Country != "" {
			got[r.Country]++
			located++
		}
	}
	if located < 2000 {
		t.Fatalf("only %d of %d reports point to a country", located, len(reps))
	}
	for _, c := range tab.Countries {
		if !within(got[c], located, tab.Share(c)) {
			t.Errorf("%s in %d reports of %d, want about %.0f", c, got[c], located, tab.Share(c)*float64(located))
		}
	}
}

// TestSuspectsRecur: reported users recur across reports as real accounts
// do, few often and most rarely, and a recurring one is the same account
// (same identifier, screen name and address) in each report.
func TestSuspectsRecur(t *testing.T) {
	reps := trafficReports(t, 5, 10000, 3000)
	bySuspect := map[string][]*demo.TrafficReport{}
	withSuspect := 0
	for _, r := range reps {
		if r.Suspect != "" {
			bySuspect[r.Suspect] = append(bySuspect[r.Suspect], r)
			withSuspect++
		}
	}
	counts := make([]int, 0, len(bySuspect))
	for _, rs := range bySuspect {
		counts = append(counts, len(rs))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	once := 0
	for _, c := range counts {
		if c == 1 {
			once++
		}
	}
	t.Logf("%d reports with a suspect: %d accounts, the busiest in %d, %d in one report only", withSuspect, len(bySuspect), counts[0], once)
	// A Zipf law: the busiest account is in many reports, a long tail in
	// one each.
	if counts[0] < 50 || len(bySuspect) > withSuspect*3/4 || once < len(bySuspect)/3 {
		t.Errorf("%d reports with a suspect: %d accounts, the busiest in %d, %d in one report only", withSuspect, len(bySuspect), counts[0], once)
	}
	for id, rs := range bySuspect {
		if len(rs) < 2 {
			continue
		}
		var first string
		for _, r := range rs {
			doc, err := cybertip.ParseReport(r.XML)
			if err != nil {
				t.Fatal(err)
			}
			p := doc.PersonOrUserReported[0]
			acct := p.ESPIdentifier + " " + p.ScreenName + " " + p.PersonOrUserReportedPerson.Email[0].Value + " " + p.PersonOrUserReportedPerson.Phone[0].Value
			if first == "" {
				first = acct
			} else if acct != first {
				t.Fatalf("suspect %s is %q in one report and %q in another", id, first, acct)
			}
		}
	}
	// Another seed, other accounts.
	other := trafficReports(t, 6, 10000, 50)
	same := 0
	for i := range other {
		if other[i].Suspect != "" && string(other[i].XML) == string(reps[i].XML) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 5 and 6 drew %d identical reports", same)
	}
}

// TestHistogram: percentiles within the buckets' 2%.
func TestHistogram(t *testing.T) {
	var h Histogram
	if s := h.Stats(); s.Count != 0 || s.P99 != 0 {
		t.Errorf("empty histogram: %+v", s)
	}
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	h.Add(-time.Second) // counted as zero
	s := h.Stats()
	near := func(got, want time.Duration) bool { return math.Abs(float64(got-want)) <= 0.021*float64(want) }
	if s.Count != 1001 || !near(s.P50, 500*time.Millisecond) || !near(s.P90, 900*time.Millisecond) ||
		!near(s.P99, 990*time.Millisecond) || s.Max != time.Second {
		t.Errorf("stats %+v", s)
	}
	if q := h.Quantile(1); q != time.Second {
		t.Errorf("quantile 1 = %v, want the max", q)
	}
}
