package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestHub(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		analyst := f.addUser("analyst@hub.example.org", hubOrg, guardian.RoleHubAnalyst)
		supervisor := f.addUser("supervisor@hub.example.org", hubOrg, guardian.RoleHubSupervisor)
		itSecret, _ := f.addToken("it-case-system", guardian.AgencyOrganisation("it-postal-police"), guardian.RoleAgencyInvestigator)
		it := f.tokenClient(itSecret)
		a := f.signIn(analyst)

		// Italy's agreement holds every referral for an analyst.
		_, refs := f.report([]string{"IT"})
		held := f.referralTo(refs, "it-postal-police")
		if !held.HeldForConfirmation {
			t.Fatalf("referral to Italy not held: %+v", held)
		}
		deReport, deRefs := f.report([]string{"DE"})
		deRef := f.referralTo(deRefs, "de-bka-cac")

		t.Run("Queue", func(t *testing.T) {
			var q struct {
				Queue []struct{ ReportID int64 }
				Held  []refView
			}
			a.do("GET", "/hub/queue", nil).want(t, http.StatusOK).decode(t, &q)
			if !slices.ContainsFunc(q.Held, func(r refView) bool { return r.ID == held.ID }) {
				t.Errorf("held referral not in the queue: %+v", q)
			}
			it.do("GET", "/hub/queue", nil).want(t, http.StatusForbidden)
			// The agency does not see it while held.
			it.do("GET", "/referrals/"+id(held.ID), nil).want(t, http.StatusNotFound)
		})

		t.Run("Confirm", func(t *testing.T) {
			path := "/referrals/" + id(held.ID) + "/confirm"
			a.do("POST", path, map[string]string{}).want(t, http.StatusBadRequest)
			it.do("POST", path, map[string]string{"reason": "mine"}).want(t, http.StatusForbidden)
			var v refView
			a.do("POST", path, map[string]string{"reason": "Location checked against the provider's records."}).want(t, http.StatusOK).decode(t, &v)
			if v.State != "delivered" {
				t.Errorf("confirmed: state %s", v.State)
			}
			a.do("POST", path, map[string]string{"reason": "again"}).want(t, http.StatusConflict)
			it.do("GET", "/referrals/"+id(held.ID), nil).want(t, http.StatusOK)
		})

		t.Run("Priority", func(t *testing.T) {
			path := "/reports/" + id(deReport) + "/priority"
			a.do("POST", path, map[string]string{"priority": "7", "reason": "x"}).want(t, http.StatusBadRequest)
			a.do("POST", "/reports/999999/priority", map[string]string{"priority": "1", "reason": "x"}).want(t, http.StatusNotFound)
			it.do("POST", path, map[string]string{"priority": "1", "reason": "x"}).want(t, http.StatusForbidden)
			var rr struct{ Referrals []refView }
			a.do("POST", path, map[string]string{"priority": "1", "reason": "Reviewed: a child is in danger."}).want(t, http.StatusOK).decode(t, &rr)
			if len(rr.Referrals) == 0 {
				t.Fatal("no referral changed")
			}
			for _, r := range rr.Referrals {
				if r.Priority != "1" {
					t.Errorf("referral %d priority %s", r.ID, r.Priority)
				}
				if r.ID == deRef.ID && !r.Deadline.Equal(deRef.RoutedAt.Add(4*time.Hour)) {
					t.Errorf("deadline %v, want routed %v + 4h", r.Deadline, deRef.RoutedAt)
				}
			}
		})

		t.Run("Resolve", func(t *testing.T) {
			// A report located nowhere waits in the queue until an
			// analyst takes it out.
			nowhere, _ := f.report(nil)
			inQueue := func() bool {
				var q struct{ Queue []struct{ ReportID int64 } }
				a.do("GET", "/hub/queue", nil).want(t, http.StatusOK).decode(t, &q)
				return slices.ContainsFunc(q.Queue, func(e struct{ ReportID int64 }) bool { return e.ReportID == nowhere })
			}
			if !inQueue() {
				t.Fatalf("report %d located nowhere is not in the queue", nowhere)
			}
			path := "/reports/" + id(nowhere) + "/resolve"
			it.do("POST", path, map[string]string{"reason": "x"}).want(t, http.StatusForbidden)
			a.do("POST", path, map[string]string{}).want(t, http.StatusBadRequest)
			a.do("POST", "/reports/999999/resolve", map[string]string{"reason": "x"}).want(t, http.StatusNotFound)
			a.do("POST", path, map[string]string{"reason": "Reporter asked: no location can be had."}).want(t, http.StatusNoContent)
			if inQueue() {
				t.Errorf("report %d is still in the queue", nowhere)
			}
			// Once out, it stays out; the second act is recorded as such.
			a.do("POST", path, map[string]string{"reason": "again"}).want(t, http.StatusNoContent)
			evs, err := f.store.FindAuditEvents(f.ctx, guardian.AuditFilter{ReportID: nowhere, Action: "queue.resolve"})
			if err != nil || len(evs) != 2 || evs[0].Justification == "" || evs[0].Reason != "" || evs[1].Reason != "not in the queue" {
				t.Errorf("queue.resolve events %+v, %v; want the resolution, then the act on a report already out", evs, err)
			}
		})

		t.Run("Agencies", func(t *testing.T) {
			path := "/reports/" + id(deReport) + "/agencies"
			a.do("POST", path, map[string]string{"agencyId": "nowhere", "action": "add", "reason": "x"}).want(t, http.StatusBadRequest)
			a.do("POST", path, map[string]string{"agencyId": "nl-police-avc", "action": "maybe", "reason": "x"}).want(t, http.StatusBadRequest)
			a.do("POST", path, map[string]string{"agencyId": "nl-police-avc", "action": "add"}).want(t, http.StatusBadRequest)
			var rr struct{ Referrals []refView }
			a.do("POST", path, map[string]string{"agencyId": "nl-police-avc", "action": "add", "reason": "The suspect moved to the Netherlands."}).
				want(t, http.StatusOK).decode(t, &rr)
			if !slices.ContainsFunc(rr.Referrals, func(r refView) bool { return r.AgencyID == "nl-police-avc" }) {
				t.Errorf("no referral to nl-police-avc after adding it: %+v", rr.Referrals)
			}
			n := 0
			for _, ev := range events(t, f, "routing.override") {
				if ev.Outcome == guardian.OutcomeSuccess {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d routing.override events", n)
			}
		})

		t.Run("Board", func(t *testing.T) {
			a.do("GET", "/hub/board", nil).want(t, http.StatusForbidden)
			s := f.signIn(supervisor)
			var b struct {
				Referrals []refView
				Counts    map[string]int
			}
			s.do("GET", "/hub/board?limit=500", nil).want(t, http.StatusOK).decode(t, &b)
			total := 0
			for _, n := range b.Counts {
				total += n
			}
			if total != len(b.Referrals) || total < 3 || b.Counts["delivered"] < 2 {
				t.Errorf("board: %d referrals, counts %v", len(b.Referrals), b.Counts)
			}
			got := walk(t, s, "/hub/board", "limit=1&state=delivered")
			if len(got) != b.Counts["delivered"] {
				t.Errorf("walked %d delivered referrals, counted %d", len(got), b.Counts["delivered"])
			}
			s.do("GET", "/hub/board?minEscalation=3", nil).want(t, http.StatusBadRequest)
		})
	})
}
