package web_test

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/storetest"
)

var inboxSize = flag.Int("web.inbox", 1_000_000, "referrals in the agency's inbox for BenchmarkInbox")

// BenchmarkInbox renders an investigator's inbox page (GET /referrals,
// the first page, most urgent first) with a million referrals stored for
// the agency, through the hub's whole HTTP handler as guardian serve runs
// it (request id, the API's chain with the session's checks, access, the
// store, the template), without the network. Issue 11 asks for under
// 30 ms at the 95th percentile:
//
//	go test ./web -run '^$' -bench Inbox -benchtime 200x
//
// It reports the p95 latency (p95-ms) and the page's size (bytes/page).
func BenchmarkInbox(b *testing.B) {
	for _, kind := range backends {
		b.Run(kind, func(b *testing.B) {
			th := openHub(b, kind)
			bk := storetest.SQLite
			if kind == "postgres" {
				bk = storetest.Postgres
			}
			// One report through the intake, routed and delivered, then
			// copied in SQL: a million routing runs would take an hour.
			report, _ := deliveredTo(b, th, "PY", "py-fiscalia-cyber")
			start := time.Now()
			if err := storetest.CopyInbox(b.Context(), th.hub.Store, bk, report, *inboxSize-1); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: seeded %d referrals in %s", kind, *inboxSize, time.Since(start).Round(time.Millisecond))
			p := th.addPerson("bench@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
			br := th.browser()
			br.signIn(p)
			u := th.URL() + "/referrals"
			cookies := br.http.Jar.Cookies(mustURL(b, u))
			handler := th.hub.Server.Handler()
			var size int
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, u, nil)
				req.RemoteAddr = "127.0.0.1:40000"
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				t0 := time.Now()
				handler.ServeHTTP(rec, req)
				lat = append(lat, time.Since(t0))
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<table") {
					b.Fatalf("inbox answered %d: %.500s", rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
