package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestEscalatedToLiaison: a referral not acknowledged by its deadline
// escalates to the liaison office covering its country, which then sees
// it in its own scope, for reading and messaging only.
func TestEscalatedToLiaison(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		loOrg := guardian.AgencyOrganisation("lo-buenos-aires")
		lo := f.addUser("officer@lo.example.org", loOrg, guardian.RoleLiaisonOfficer)
		_, refs := f.report([]string{"PY"})
		ref := f.referralTo(refs, "py-fiscalia-cyber")
		path := "/referrals/" + id(ref.ID)
		c := f.signIn(lo)
		c.do("GET", path, nil).want(t, http.StatusNotFound)

		f.clock.Advance(ref.Deadline.Sub(f.clock.Now()) + time.Minute)
		ev := systemEvent("referral.escalate", guardian.CategoryDisclosure)
		ev.Recipients = []string{"lo-buenos-aires"}
		if _, ok, err := f.store.EscalateReferral(f.ctx, ref.ID, guardian.EscalationLiaison, "lo-buenos-aires", ev); err != nil || !ok {
			t.Fatalf("escalate: %v %v", ok, err)
		}
		c = f.signIn(lo)
		var v struct {
			refView
			ViaEscalation   bool
			Overdue         bool
			LiaisonAgencyID string
		}
		c.do("GET", path, nil).want(t, http.StatusOK).decode(t, &v)
		if !v.ViaEscalation || !v.Overdue || v.TimeLeftSeconds >= 0 || v.LiaisonAgencyID != "lo-buenos-aires" || slices.Contains(v.DataScope, "file-content") {
			t.Errorf("escalated referral as the liaison office sees it: %+v", v)
		}
		if got := walk(t, c, "/referrals", ""); !slices.ContainsFunc(got, func(r refView) bool { return r.ID == ref.ID }) {
			t.Error("not in the liaison office's list")
		}
		c.justified().do("GET", path+"/content", nil).want(t, http.StatusOK)
		c.do("POST", path+"/messages", map[string]string{"kind": "note", "body": "We can reach the local unit."}).want(t, http.StatusCreated)
		if _, reason := c.do("POST", path+"/acknowledge", nil).want(t, http.StatusForbidden).errReason(t); reason != "escalation" {
			t.Errorf("acknowledge: reason %q", reason)
		}
		// Opening it through the escalation does not mark it opened.
		got, err := f.store.FindReferral(f.ctx, ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != guardian.ReferralDelivered {
			t.Errorf("state %s after the liaison office read it", got.State)
		}
	})
}
