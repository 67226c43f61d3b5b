package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// TestRolesWithoutReferrals: the hub's administrators and auditors have no
// business with referrals; every referral route refuses them with 403
// (the same for every id, so nothing is revealed), and every attempt is
// recorded. Hub analysts see referrals but cannot act for an agency.
func TestRolesWithoutReferrals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		_, refs := f.report([]string{"DE"}, testFile{name: "a.jpg", content: []byte("a"), viewed: yes()})
		ref := f.referralTo(refs, "de-bka-cac")
		routes := []struct {
			method, path string
			body         any
			analyst      int // what a hub analyst gets
		}{
			{"GET", "/referrals", nil, http.StatusOK},
			{"GET", "/referrals/%d", nil, http.StatusOK},
			{"GET", "/referrals/%d/content", nil, http.StatusOK},
			{"GET", "/referrals/%d/files", nil, http.StatusOK},
			{"GET", "/referrals/%d/package", nil, http.StatusForbidden},
			{"GET", "/referrals/%d/messages", nil, http.StatusOK},
			{"POST", "/referrals/%d/acknowledge", nil, http.StatusForbidden},
			{"POST", "/referrals/%d/decline", map[string]string{"reason": "not ours"}, http.StatusForbidden},
			{"POST", "/referrals/%d/outcome", map[string]string{"status": "ongoing", "usefulness": "useful"}, http.StatusForbidden},
			{"POST", "/referrals/%d/legal-authority", map[string]any{"reference": "W-1", "fileIds": []string{"x"}}, http.StatusForbidden},
			{"GET", "/hub/board", nil, http.StatusForbidden},
		}
		for _, role := range []guardian.Role{guardian.RoleHubAdmin, guardian.RoleAuditor, guardian.RoleHubAnalyst} {
			p := f.addUser(string(role)+"@hub.example.org", hubOrg, role)
			c := f.signIn(p).justified()
			for _, rt := range routes {
				before := len(failures(t, f))
				for _, refID := range []int64{ref.ID, ref.ID + 1000} {
					want := http.StatusForbidden
					if role == guardian.RoleHubAnalyst {
						want = rt.analyst
						if refID != ref.ID && strings.Contains(rt.path, "%d") && want == http.StatusOK {
							want = http.StatusNotFound
						}
					}
					res := c.do(rt.method, strings.Replace(rt.path, "%d", id(refID), 1), rt.body)
					if res.status != want {
						t.Errorf("%s: %s %s (referral %d): %d, want %d: %s", role, rt.method, rt.path, refID, res.status, want, res.body)
					}
				}
				if role != guardian.RoleHubAnalyst && strings.Contains(rt.path, "%d") {
					if got := len(failures(t, f)) - before; got != 2 {
						t.Errorf("%s: %s %s: %d refusals recorded, want 2", role, rt.method, rt.path, got)
					}
				}
			}
		}
	})
}
