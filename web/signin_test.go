package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
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
			_ = http.StatusOK
		})
	}
}
