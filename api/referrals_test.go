package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

type refView struct {
	ID              int64
	ReportID        int64
	AgencyID        string
	State           string
	Priority        string
	Deadline        time.Time
	UpdatedAt       time.Time
	TimeLeftSeconds int64
	Assignee        string
	DataScope       []string
}

type refPage struct {
	Referrals  []refView
	NextCursor string
}

// walk lists every page of path with the query and returns the ids in
// the order listed.
func walk(t *testing.T, c *client, path, query string) []refView {
	t.Helper()
	var all []refView
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var p refPage
		c.do("GET", path+"?"+q, nil).want(t, http.StatusOK).decode(t, &p)
		all = append(all, p.Referrals...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

func TestListReferrals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		de := f.tokenClient(secret)
		var want []int64
		for range 7 {
			_, refs := f.report([]string{"DE"})
			ref := f.referralTo(refs, "de-bka-cac")
			if ref.State != guardian.ReferralDelivered {
				t.Fatalf("referral to de-bka-cac is %s, want delivered", ref.State)
			}
			want = append(want, ref.ID)
			f.clock.Advance(time.Minute)
		}
		_, nlRefs := f.report([]string{"NL"}) // another agency's
		nlRef := f.referralTo(nlRefs, "nl-police-avc")

		t.Run("EveryPageOnce", func(t *testing.T) {
			for _, order := range []string{"urgent", "updated"} {
				got := walk(t, de, "/referrals", "limit=3&order="+order)
				var ids []int64
				for _, r := range got {
					ids = append(ids, r.ID)
					if r.AgencyID != "de-bka-cac" {
						t.Errorf("%s: another agency's referral %d listed", order, r.ID)
					}
				}
				sorted := slices.Clone(ids)
				slices.Sort(sorted)
				if !slices.Equal(sorted, want) {
					t.Errorf("%s: listed %v, want each of %v once", order, ids, want)
				}
				for i := 1; i < len(got); i++ {
					a, b := got[i-1], got[i]
					var inOrder bool
					if order == "urgent" {
						inOrder = a.Priority < b.Priority || a.Priority == b.Priority && (a.Deadline.Before(b.Deadline) || a.Deadline.Equal(b.Deadline) && a.ID < b.ID)
						if guardian.Priority(a.Priority).Rank() != guardian.Priority(b.Priority).Rank() {
							inOrder = guardian.Priority(a.Priority).Rank() < guardian.Priority(b.Priority).Rank()
						}
					} else {
						inOrder = a.UpdatedAt.Before(b.UpdatedAt) || a.UpdatedAt.Equal(b.UpdatedAt) && a.ID < b.ID
					}
					if !inOrder {
						t.Errorf("%s: %+v listed before %+v", order, a, b)
					}
				}
			}
		})

		t.Run("TimeLeft", func(t *testing.T) {
			var p refPage
			de.do("GET", "/referrals?limit=1", nil).want(t, http.StatusOK).decode(t, &p)
			r := p.Referrals[0]
			if want := int64(r.Deadline.Sub(f.clock.Now()) / time.Second); r.TimeLeftSeconds != want {
				t.Errorf("timeLeftSeconds %d, want %d", r.TimeLeftSeconds, want)
			}
		})

		t.Run("CursorBoundToFilters", func(t *testing.T) {
			var p refPage
			de.do("GET", "/referrals?limit=2", nil).want(t, http.StatusOK).decode(t, &p)
			if p.NextCursor == "" {
				t.Fatal("no next cursor")
			}
			de.do("GET", "/referrals?limit=2&priority=1&cursor="+p.NextCursor, nil).want(t, http.StatusBadRequest)
			de.do("GET", "/referrals?limit=2&order=updated&cursor="+p.NextCursor, nil).want(t, http.StatusBadRequest)
			de.do("GET", "/referrals?cursor=bm90LWEtY3Vyc29y", nil).want(t, http.StatusBadRequest)
			de.do("GET", "/referrals?limit=2&cursor="+p.NextCursor, nil).want(t, http.StatusOK)
		})

		t.Run("Filters", func(t *testing.T) {
			de.do("POST", "/referrals/"+id(want[0])+"/acknowledge", nil).want(t, http.StatusOK)
			got := walk(t, de, "/referrals", "state=acknowledged")
			if len(got) != 1 || got[0].ID != want[0] {
				t.Errorf("state=acknowledged: %+v", got)
			}
			if got := walk(t, de, "/referrals", "state=delivered,opened"); len(got) != len(want)-1 {
				t.Errorf("state=delivered,opened: %d", len(got))
			}
			if got := walk(t, de, "/referrals", "updatedSince="+f.clock.Now().Format(time.RFC3339Nano)); len(got) != 1 {
				t.Errorf("updatedSince now: %d, want the one acknowledged", len(got))
			}
			if got := walk(t, de, "/referrals", "deadlineBefore="+start.Format(time.RFC3339)); len(got) != 0 {
				t.Errorf("deadlineBefore the start: %d", len(got))
			}
			for _, bad := range []string{"state=lost", "priority=4", "limit=0", "limit=501", "order=oldest", "deadlineBefore=yesterday"} {
				de.do("GET", "/referrals?"+bad, nil).want(t, http.StatusBadRequest)
			}
		})

		t.Run("HubSeesAll", func(t *testing.T) {
			hs, _ := f.addToken("hub-analyst", hubOrg, guardian.RoleHubAnalyst)
			got := walk(t, f.tokenClient(hs), "/referrals", "limit=500")
			if !slices.ContainsFunc(got, func(r refView) bool { return r.ID == nlRef.ID }) {
				t.Error("the hub does not see the NL referral")
			}
		})
	})
}

// TestNotFoundEqualsInvisible: another agency's referral answers every
// route exactly as an id that does not exist, and the attempt is recorded.
func TestNotFoundEqualsInvisible(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencySupervisor)
		de := f.signIn(p).justified()
		secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencySupervisor)
		tok := f.tokenClient(secret)
		_, refs := f.report([]string{"NL"}, testFile{name: "a.jpg", content: []byte("jpeg"), viewed: yes()})
		nl := f.referralTo(refs, "nl-police-avc")
		unknown := nl.ID + 1000

		routes := []struct {
			method, path string
			body         any
		}{
			{"GET", "/referrals/%d", nil},
			{"GET", "/referrals/%d/content", nil},
			{"GET", "/referrals/%d/files", nil},
			{"GET", "/referrals/%d/files/0123456789abcdef0123456789abcdef", nil},
			{"GET", "/referrals/%d/package", nil},
			{"GET", "/referrals/%d/messages", nil},
			{"POST", "/referrals/%d/messages", map[string]string{"kind": "note", "body": "hello"}},
			{"POST", "/referrals/%d/acknowledge", nil},
			{"POST", "/referrals/%d/assign", map[string]int64{"userId": p.ID}},
			{"POST", "/referrals/%d/decline", map[string]string{"reason": "not ours"}},
			{"POST", "/referrals/%d/outcome", map[string]string{"status": "ongoing", "usefulness": "useful"}},
			{"POST", "/referrals/%d/legal-authority", map[string]any{"reference": "W-1", "fileIds": []string{"0123456789abcdef0123456789abcdef"}}},
		}
		before := len(failures(t, f))
		for _, c := range []*client{de, tok} {
			for _, rt := range routes {
				answer := func(refID int64) (int, string) {
					res := c.do(rt.method, strings.Replace(rt.path, "%d", id(refID), 1), rt.body)
					var e struct{ Error map[string]any }
					res.decode(t, &e)
					delete(e.Error, "requestId")
					b, _ := json.Marshal(e)
					return res.status, string(b)
				}
				s1, b1 := answer(nl.ID)
				s2, b2 := answer(unknown)
				if s1 != http.StatusNotFound && s1 != http.StatusForbidden {
					t.Errorf("%s %s for another agency's referral: %d %s", rt.method, rt.path, s1, b1)
				}
				if s1 != s2 || b1 != b2 {
					t.Errorf("%s %s: another agency's referral answers %d %s, an unknown one %d %s", rt.method, rt.path, s1, b1, s2, b2)
				}
			}
		}
		if got := len(failures(t, f)) - before; got != 2*2*len(routes) {
			t.Errorf("%d refusals recorded, want %d", got, 2*2*len(routes))
		}
	})
}

// failures returns the failure events of signed-in callers.
func failures(t *testing.T, f *fixture) []*guardian.AuditEvent {
	t.Helper()
	evs, err := f.store.FindAuditEvents(f.ctx, guardian.AuditFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*guardian.AuditEvent
	for _, ev := range evs {
		if ev.Outcome == guardian.OutcomeFailure && ev.ObjectKind == "referral" {
			out = append(out, ev)
		}
	}
	return out
}

func TestReferralWorkflow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		inv := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		colleague := f.addUser("colleague@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		nlUser := f.addUser("inv@nl.example.org", nlOrg, guardian.RoleAgencyInvestigator)
		_, refs := f.report([]string{"DE"})
		ref := f.referralTo(refs, "de-bka-cac")
		path := "/referrals/" + id(ref.ID)
		c := f.signIn(inv)

		t.Run("Get", func(t *testing.T) {
			var d struct {
				refView
				Triage struct {
					Reasons []string
				}
				Jurisdiction []string
			}
			c.do("GET", path, nil).want(t, http.StatusOK).decode(t, &d)
			if len(d.Triage.Reasons) == 0 || len(d.Jurisdiction) == 0 {
				t.Errorf("no reasons in words: %+v", d)
			}
			if d.State != "delivered" {
				t.Errorf("state %s", d.State)
			}
		})

		t.Run("Content", func(t *testing.T) {
			if _, reason := c.do("GET", path+"/content", nil).want(t, http.StatusBadRequest).errReason(t); reason != "justification" {
				t.Errorf("without a justification: reason %q", reason)
			}
			var ct struct {
				Scope    []string
				Document map[string]any
			}
			c.justified().do("GET", path+"/content", nil).want(t, http.StatusOK).decode(t, &ct)
			if ct.Document["incidentSummary"] == nil || !slices.Contains(ct.Scope, "suspect-details") {
				t.Errorf("content %+v", ct)
			}
			// Consulted today: no justification needed, and one consultation.
			c.do("GET", path+"/content", nil).want(t, http.StatusOK)
			if n := consultations(t, f, ref.ID); n != 1 {
				t.Errorf("%d consultations", n)
			}
			var d refView
			c.do("GET", path, nil).want(t, http.StatusOK).decode(t, &d)
			if d.State != "opened" {
				t.Errorf("after opening: state %s", d.State)
			}
			// The next day asks again.
			f.clock.Advance(24 * time.Hour)
			c2 := f.signIn(inv)
			c2.do("GET", path+"/content", nil).want(t, http.StatusBadRequest)
			c = c2
		})

		t.Run("Acknowledge", func(t *testing.T) {
			c.do("POST", path+"/acknowledge", nil).want(t, http.StatusOK)
			if _, reason := c.do("POST", path+"/acknowledge", nil).want(t, http.StatusConflict).errReason(t); reason != "state" {
				t.Errorf("again: reason %q", reason)
			}
		})

		t.Run("Assign", func(t *testing.T) {
			var v refView
			c.do("POST", path+"/assign", map[string]int64{"userId": inv.ID}).want(t, http.StatusOK).decode(t, &v)
			if v.Assignee != id(inv.ID) {
				t.Errorf("assignee %q", v.Assignee)
			}
			c.do("POST", path+"/assign", map[string]int64{"userId": colleague.ID}).want(t, http.StatusForbidden)
			c.do("POST", path+"/assign", map[string]int64{"userId": nlUser.ID}).want(t, http.StatusNotFound)
			c.do("POST", path+"/assign", map[string]int64{"userId": 99999}).want(t, http.StatusNotFound)
		})

		t.Run("Outcome", func(t *testing.T) {
			c.do("POST", path+"/outcome", map[string]any{"status": "closed", "usefulness": "useful"}).want(t, http.StatusBadRequest)
			c.do("POST", path+"/outcome", map[string]any{"status": "ongoing", "usefulness": "useful", "victimIdentified": true}).want(t, http.StatusBadRequest)
			var v struct {
				refView
				Outcome struct{ Status, RecordedBy string }
			}
			c.do("POST", path+"/outcome", map[string]any{"status": "arrest", "victimIdentified": true, "moreVictims": false, "usefulness": "useful"}).
				want(t, http.StatusOK).decode(t, &v)
			if v.State != "closed" || v.Outcome.Status != "arrest" || v.Outcome.RecordedBy == "" {
				t.Errorf("after the outcome: %+v", v)
			}
			c.do("POST", path+"/outcome", map[string]any{"status": "conviction", "usefulness": "useful"}).want(t, http.StatusConflict)
		})
	})
}

func consultations(t *testing.T, f *fixture, refID int64) int {
	t.Helper()
	n := 0
	for _, ev := range events(t, f, "referral.open") {
		if ev.Category == guardian.CategoryConsultation && ev.ObjectID == id(refID) && ev.Outcome == guardian.OutcomeSuccess && ev.Justification != "" {
			n++
		}
	}
	// MarkReferralOpened's event is a referral.open of its own.
	return n - 1
}

func TestClearance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("untrained@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		past := start.Add(-time.Hour)
		if _, err := f.store.UpdateUser(f.ctx, p.ID, guardian.UserUpdate{TrainingExpiresAt: &past}, systemEvent("user.update", guardian.CategoryPermission)); err != nil {
			t.Fatal(err)
		}
		_, refs := f.report([]string{"DE"})
		ref := f.referralTo(refs, "de-bka-cac")
		c := f.signIn(p).justified()
		res := c.do("GET", "/referrals/"+id(ref.ID)+"/content", nil).want(t, http.StatusForbidden)
		if _, reason := res.errReason(t); reason != "training" || !strings.Contains(errMessage(t, res), "training certificate expired") {
			t.Errorf("refusal %s", res.body)
		}
		// Metadata remains visible.
		c.do("GET", "/referrals/"+id(ref.ID), nil).want(t, http.StatusOK)
	})
}

func TestMessages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		deSecret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		nlSecret, _ := f.addToken("nl-case-system", nlOrg, guardian.RoleAgencyInvestigator)
		hubSecret, _ := f.addToken("hub-desk", hubOrg, guardian.RoleHubAnalyst)
		de, nl, hub := f.tokenClient(deSecret), f.tokenClient(nlSecret), f.tokenClient(hubSecret)
		_, refs := f.report([]string{"DE"})
		path := "/referrals/" + id(f.referralTo(refs, "de-bka-cac").ID) + "/messages"

		de.do("POST", path, map[string]string{"kind": "request-info", "body": "Is the upload IP still assigned?"}).want(t, http.StatusCreated)
		de.do("POST", path, map[string]string{"kind": "gossip", "body": "x"}).want(t, http.StatusBadRequest)
		hub.do("POST", path+"?thread=de-bka-cac", map[string]string{"kind": "reply", "body": "Yes, see the provider's answer."}).want(t, http.StatusCreated)
		hub.do("POST", path+"?thread=nl-police-avc", map[string]string{"kind": "reply", "body": "misdirected"}).want(t, http.StatusBadRequest)

		var ml struct {
			Messages []struct{ Kind, Body, Thread, From string }
		}
		de.do("GET", path, nil).want(t, http.StatusOK).decode(t, &ml)
		if len(ml.Messages) != 2 || ml.Messages[0].Kind != "request-info" || ml.Messages[1].From != "hub:demo-hub" || ml.Messages[1].Thread != "de-bka-cac" {
			t.Errorf("thread %+v", ml.Messages)
		}
		nl.do("GET", path, nil).want(t, http.StatusNotFound)
		de.do("GET", path+"?thread=nl-police-avc", nil).want(t, http.StatusNotFound)
		hub.do("GET", path+"?thread=de-bka-cac", nil).want(t, http.StatusOK).decode(t, &ml)
		if len(ml.Messages) != 2 {
			t.Errorf("hub reads %d messages", len(ml.Messages))
		}
		// The audit log records that a message was added, never its body.
		for _, ev := range events(t, f, "message.add") {
			if strings.Contains(ev.Reason+ev.Justification+ev.ObjectID, "upload IP") {
				t.Errorf("message body in the audit log: %+v", ev)
			}
		}
	})
}

func TestDecline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		de := f.tokenClient(secret)
		reportID, refs := f.report([]string{"DE"})
		ref := f.referralTo(refs, "de-bka-cac")
		path := "/referrals/" + id(ref.ID)
		de.do("POST", path+"/decline", map[string]string{"suggestedCountry": "Netherlands", "reason": "x"}).want(t, http.StatusBadRequest)
		de.do("POST", path+"/decline", map[string]string{"reason": ""}).want(t, http.StatusBadRequest)
		var v struct {
			refView
			Decline struct{ SuggestedCountry, Reason string }
		}
		de.do("POST", path+"/decline", map[string]string{"suggestedCountry": "nl", "reason": "The subject lives in the Netherlands."}).
			want(t, http.StatusOK).decode(t, &v)
		if v.State != "re-routed" || v.Decline.SuggestedCountry != "NL" {
			t.Errorf("after declining: %+v", v)
		}
		// The report was routed again: the declined referral stays as it
		// is, and nothing new goes to the agency that declined it.
		after, err := f.store.FindReferrals(f.ctx, reportID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range after {
			if r.AgencyID == "de-bka-cac" && r.State != guardian.ReferralRerouted {
				t.Errorf("after re-routing, the declined referral is %s", r.State)
			}
		}
		if n := countEvents(t, f, "report.triage"); n < 1 {
			t.Errorf("%d triage events", n)
		}
		// The agency keeps the metadata, not the content or the actions.
		de.do("GET", path, nil).want(t, http.StatusOK)
		if _, reason := de.do("POST", path+"/acknowledge", nil).want(t, http.StatusForbidden).errReason(t); reason != "returned" {
			t.Errorf("acknowledge after declining: reason %q", reason)
		}
	})
}
