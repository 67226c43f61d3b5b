package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

func TestSignInWithTOTP(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			p := th.addPerson("ana@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
			b := th.browser()
			if pg := b.get("/"); !strings.HasSuffix(pg.url, "/signin") {
				t.Fatalf("signed out, / went to %s", pg.url)
			}
			pg := b.signIn(p)
			if !strings.HasSuffix(pg.url, "/referrals") {
				t.Errorf("an investigator's first page is %s, want /referrals", pg.url)
			}
			if pg := b.post("/signout", nil); !strings.Contains(pg.url, "/signin?reason=signed-out") {
				t.Errorf("after signing out: %s", pg.url)
			}
			if pg := b.get("/referrals"); !strings.Contains(pg.url, "/signin") {
				t.Errorf("signed out, /referrals answered %d at %s", pg.status, pg.url)
			}
		})
	}
}

// TestPollingKeepsNoSessionOpen: the inbox refreshes itself every 20
// seconds; those requests must not count as the person's activity, or an
// open inbox would never lock after 30 minutes idle.
func TestPollingKeepsNoSessionOpen(t *testing.T) {
	th := openHub(t, "sqlite")
	p := th.addPerson("idle@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
	for _, poll := range []bool{true, false} {
		b := th.browser()
		b.signIn(p)
		th.clock.Advance(20 * time.Minute)
		req, _ := http.NewRequest(http.MethodGet, th.URL()+"/referrals", nil)
		req.Header.Set("HX-Request", "true")
		if poll {
			req.Header.Set(api.PollHeader, "1")
		}
		if pg := b.read(b.http.Do(req)); pg.status != http.StatusOK {
			t.Fatalf("the refresh answered %d", pg.status)
		}
		th.clock.Advance(11 * time.Minute)
		pg := b.get("/referrals")
		locked := strings.Contains(pg.url, "/signin?reason=session-locked")
		if poll != locked {
			t.Errorf("with poll=%v, 31 minutes after sign-in and 11 after the last request, the inbox went to %s", poll, pg.url)
		}
	}
}
