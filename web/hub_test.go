package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// The hub's pages, through a browser without JavaScript: the analysts'
// queue, a report's decisions and the supervisors' board, and that nobody
// else reaches them.

// hubOrg is the demo network's hub.
var hubOrg = guardian.HubOrganisation("demo-hub")

// hubEvents returns the audit events of action.
func hubEvents(th *testHub, action string) []*guardian.AuditEvent {
	th.t.Helper()
	evs, err := th.hub.Store.FindAuditEvents(th.ctx, guardian.AuditFilter{Action: action, Limit: 10000})
	if err != nil {
		th.t.Fatal(err)
	}
	return evs
}

func hubID(id int64) string { return strconv.FormatInt(id, 10) }

func TestHubQueueConfirm(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			analyst := th.addPerson("analyst@hub.example.org", hubOrg, guardian.RoleHubAnalyst)
			// Italy's agreement holds every referral for an analyst.
			report := th.reportTo("IT")
			held := th.referralOf(report, "it-postal-police")
			if !held.HeldForConfirmation || held.State != guardian.ReferralNew {
				t.Fatalf("referral to Italy not held: %+v", held)
			}
			b := th.browser()
			b.signIn(analyst)

			pg := b.get("/hub/queue")
			if pg.status != http.StatusOK || !strings.Contains(pg.body, `id="held-`+hubID(held.ID)+`"`) {
				t.Fatalf("queue (%d) does not list held referral %d: %s", pg.status, held.ID, clip(pg.body))
			}
			if !strings.Contains(pg.body, `href="/hub/reports/`+hubID(report)+`#referral-`+hubID(held.ID)+`"`) {
				t.Errorf("the held referral does not link to its report page")
			}

			path := "/hub/reports/" + hubID(report)
			pg = b.get(path)
			confirm := "/hub/referrals/" + hubID(held.ID) + "/confirm"
			if pg.status != http.StatusOK || !strings.Contains(pg.body, `action="`+confirm+`"`) {
				t.Fatalf("report page (%d) has no confirm form: %s", pg.status, clip(pg.body))
			}
			if !strings.Contains(pg.body, "Italy") {
				t.Errorf("the report page does not say where the report belongs: %s", clip(pg.body))
			}

			// Without a justification nothing happens.
			if pg := b.post(confirm, url.Values{}); pg.status != http.StatusBadRequest {
				t.Errorf("confirm without a justification: %d", pg.status)
			}
			if got := th.referralOf(report, "it-postal-police"); got.State != guardian.ReferralNew {
				t.Errorf("after a refused confirmation: state %s", got.State)
			}

			pg = b.post(confirm, url.Values{"case_number": {"IT-2026-0042"}, "reason": {"Location checked against the provider's records."}})
			if pg.status != http.StatusOK || !strings.HasSuffix(pg.url, path+"?notice=hub-confirmed") {
				t.Fatalf("after confirming: %d at %s", pg.status, pg.url)
			}
			if !strings.Contains(pg.body, "The referral is confirmed and delivered.") {
				t.Errorf("no notice after confirming")
			}
			if got := th.referralOf(report, "it-postal-police"); got.State != guardian.ReferralDelivered || got.HeldForConfirmation {
				t.Errorf("confirmed referral: state %s, held %v", got.State, got.HeldForConfirmation)
			}
			var found bool
			for _, ev := range hubEvents(th, "referral.confirm") {
				if ev.ObjectID == hubID(held.ID) && ev.Outcome == guardian.OutcomeSuccess && ev.Actor == analyst.Actor() &&
					strings.Contains(ev.Justification, "IT-2026-0042") {
					found = true
				}
			}
			if !found {
				t.Errorf("no referral.confirm event by the analyst with the justification")
			}
			if pg := b.get("/hub/queue"); strings.Contains(pg.body, `id="held-`+hubID(held.ID)+`"`) {
				t.Errorf("the confirmed referral is still in the queue")
			}
			// Confirming again is a conflict, shown as an error page.
			if pg := b.post(confirm, url.Values{"reason": {"again"}}); pg.status != http.StatusConflict {
				t.Errorf("confirming twice: %d", pg.status)
			}
		})
	}
}

func TestHubPriorityAndAgencies(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			analyst := th.addPerson("analyst@hub.example.org", hubOrg, guardian.RoleHubAnalyst)
			b := th.browser()
			b.signIn(analyst)

			t.Run("Priority", func(t *testing.T) {
				report := th.reportTo("DE")
				before := th.referralOf(report, "de-bka-cac")
				// The partner agreement: {E: 1h, 1: 4h, 2: 3d, 3: 14d}.
				want, within := guardian.Priority1, 4*time.Hour
				if before.Priority == guardian.Priority1 {
					want, within = guardian.Priority3, 14*24*time.Hour
				}
				path := "/hub/reports/" + hubID(report)
				if pg := b.post(path+"/priority", url.Values{"priority": {string(want)}}); pg.status != http.StatusBadRequest {
					t.Errorf("priority without a justification: %d", pg.status)
				}
				if pg := b.post(path+"/priority", url.Values{"priority": {"7"}, "reason": {"x"}}); pg.status != http.StatusBadRequest {
					t.Errorf("priority 7: %d", pg.status)
				}
				pg := b.post(path+"/priority", url.Values{"priority": {string(want)}, "reason": {"Reviewed: a child may be in danger."}})
				if pg.status != http.StatusOK || !strings.HasSuffix(pg.url, path+"?notice=hub-priority") {
					t.Fatalf("after changing the priority: %d at %s: %s", pg.status, pg.url, clip(pg.body))
				}
				after := th.referralOf(report, "de-bka-cac")
				if after.Priority != want || !after.Deadline.Equal(before.RoutedAt.Add(within)) || after.Deadline.Equal(before.Deadline) {
					t.Errorf("priority %s → %s, deadline %v → %v; want %s and routed + %v", before.Priority, after.Priority,
						before.Deadline, after.Deadline, want, within)
				}
				if !strings.Contains(pg.body, `<span class="prio prio-`+string(want)+`">P`+string(want)+`</span>`) {
					t.Errorf("the report page does not show the new priority")
				}
			})

			t.Run("AddAgency", func(t *testing.T) {
				report := th.reportTo("DE")
				path := "/hub/reports/" + hubID(report)
				if pg := b.post(path+"/agencies", url.Values{"agency": {"nowhere"}, "action": {"add"}, "reason": {"x"}}); pg.status != http.StatusBadRequest {
					t.Errorf("adding an unknown agency: %d", pg.status)
				}
				pg := b.post(path+"/agencies", url.Values{"agency": {"nl-police-avc"}, "action": {"add"}, "reason": {"The suspect moved to the Netherlands."}})
				if pg.status != http.StatusOK || !strings.HasSuffix(pg.url, path+"?notice=hub-agencies") {
					t.Fatalf("after adding an agency: %d at %s: %s", pg.status, pg.url, clip(pg.body))
				}
				nl := th.referralOf(report, "nl-police-avc")
				if nl.Reason != guardian.ReasonAnalyst || nl.State != guardian.ReferralDelivered {
					t.Errorf("added referral: reason %s, state %s", nl.Reason, nl.State)
				}
				if !strings.Contains(pg.body, `id="referral-`+hubID(nl.ID)+`"`) {
					t.Errorf("the report page does not list the added referral")
				}
			})

			t.Run("WithdrawAgency", func(t *testing.T) {
				report := th.reportTo("IT")
				path := "/hub/reports/" + hubID(report)
				pg := b.post(path+"/agencies", url.Values{"agency": {"it-postal-police"}, "action": {"withdraw"}, "case_number": {"HUB-7"}})
				if pg.status != http.StatusOK {
					t.Fatalf("after withdrawing an agency: %d at %s: %s", pg.status, pg.url, clip(pg.body))
				}
				if got := th.referralOf(report, "it-postal-police"); got.State != guardian.ReferralWithdrawn {
					t.Errorf("withdrawn referral: state %s", got.State)
				}
				n := 0
				for _, ev := range hubEvents(th, "routing.override") {
					if ev.ReportID == report && ev.Reason == "withdraw" && ev.Outcome == guardian.OutcomeSuccess {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d routing.override withdraw events", n)
				}
			})
		})
	}
}

func TestHubBoard(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			supervisor := th.addPerson("supervisor@hub.example.org", hubOrg, guardian.RoleHubSupervisor)
			b := th.browser()
			b.signIn(supervisor)

			// An old priority 3 referral whose 14 days passed, and a new
			// priority 1 one with hours left: urgency puts the second
			// first, the board the missed deadline.
			// The fixture's reports have an estimated location only, so
			// their referrals are held: the supervisor confirms them.
			report := func(priority string) *guardian.Referral {
				t.Helper()
				id := th.reportTo("DE")
				ref := th.referralOf(id, "de-bka-cac")
				if pg := b.post("/hub/reports/"+hubID(id)+"/priority", url.Values{"priority": {priority}, "reason": {"Reviewed."}}); pg.status != http.StatusOK {
					t.Fatalf("priority %s: %d", priority, pg.status)
				}
				if pg := b.post("/hub/referrals/"+hubID(ref.ID)+"/confirm", url.Values{"reason": {"Location checked."}}); pg.status != http.StatusOK {
					t.Fatalf("confirm: %d", pg.status)
				}
				return th.referralOf(id, "de-bka-cac")
			}
			oldRef := report("3")
			th.clock.Advance(15 * 24 * time.Hour)
			b = th.browser()
			b.signIn(supervisor)
			freshRef := report("1")
			if oldRef.State != guardian.ReferralDelivered || freshRef.State != guardian.ReferralDelivered {
				t.Fatalf("states %s and %s", oldRef.State, freshRef.State)
			}

			pg := b.get("/hub/board")
			if pg.status != http.StatusOK {
				t.Fatalf("board: %d: %s", pg.status, clip(pg.body))
			}
			missed := strings.Index(pg.body, `id="missed-`+hubID(oldRef.ID)+`"`)
			listed := strings.Index(pg.body, `id="board-ref-`+hubID(freshRef.ID)+`"`)
			if missed < 0 || listed < 0 || missed > listed {
				t.Errorf("missed deadline at %d, the urgent referral at %d: want the missed one first", missed, listed)
			}
			if strings.Contains(pg.body, `id="missed-`+hubID(freshRef.ID)+`"`) {
				t.Errorf("a referral with time left is listed as missed")
			}
			// In the list itself, urgency: priority 1 before priority 3.
			if a, z := listed, strings.Index(pg.body, `id="board-ref-`+hubID(oldRef.ID)+`"`); z < 0 || a > z {
				t.Errorf("list order: priority 1 at %d, priority 3 at %d", a, z)
			}
			if !regexp.MustCompile(`<span class="n">\d+</span> Delivered`).MatchString(pg.body) {
				t.Errorf("no count of delivered referrals")
			}

			// One agency, and another that has none of these.
			pg = b.get("/hub/board?agency=de-bka-cac")
			if !strings.Contains(pg.body, `id="board-ref-`+hubID(oldRef.ID)+`"`) || !strings.Contains(pg.body, `id="board-ref-`+hubID(freshRef.ID)+`"`) {
				t.Errorf("the German agency's board lacks its referrals")
			}
			pg = b.get("/hub/board?agency=py-fiscalia-cyber")
			if pg.status != http.StatusOK || strings.Contains(pg.body, `id="board-ref-`) || strings.Contains(pg.body, `id="missed-`) {
				t.Errorf("Paraguay's board (%d) lists other agencies' referrals", pg.status)
			}
			if pg := b.get("/hub/board?agency=nowhere"); pg.status != http.StatusBadRequest {
				t.Errorf("an unknown agency: %d", pg.status)
			}

			// Keyset pages of one: every referral once, in order.
			seen := map[string]bool{}
			next := "/hub/board?agency=de-bka-cac&limit=1"
			nextRE := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
			rowRE := regexp.MustCompile(`id="board-ref-(\d+)"`)
			for i := 0; next != "" && i < 10; i++ {
				pg := b.get(next)
				rows := rowRE.FindAllStringSubmatch(pg.body, -1)
				if len(rows) != 1 {
					t.Fatalf("page %d: %d rows", i, len(rows))
				}
				seen[rows[0][1]] = true
				next = ""
				if m := nextRE.FindStringSubmatch(pg.body); m != nil {
					next = strings.ReplaceAll(m[1], "&amp;", "&")
				}
			}
			if len(seen) != 2 || !seen[hubID(oldRef.ID)] || !seen[hubID(freshRef.ID)] {
				t.Errorf("pages listed %v", seen)
			}
		})
	}
}

// TestHubRefused: the hub's and the auditors' pages are nobody else's,
// and each refusal is recorded.
func TestHubRefused(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			inv := th.addPerson("ana@example.org", guardian.AgencyOrganisation("it-postal-police"), guardian.RoleAgencyInvestigator)
			analyst := th.addPerson("analyst@hub.example.org", hubOrg, guardian.RoleHubAnalyst)
			report := th.reportTo("IT")
			held := th.referralOf(report, "it-postal-police")
			b := th.browser()
			b.signIn(inv)
			rp, hp := hubID(report), hubID(held.ID)
			for _, tc := range []struct {
				method, path, action string
			}{
				{"GET", "/hub/queue", "routing.override"},
				{"GET", "/hub/reports/" + rp, "routing.override"},
				{"GET", "/hub/board", "board.view"},
				{"GET", "/hub/board?agency=it-postal-police", "board.view"},
				{"POST", "/hub/referrals/" + hp + "/confirm", "referral.confirm"},
				{"POST", "/hub/reports/" + rp + "/priority", "referral.priority"},
				{"POST", "/hub/reports/" + rp + "/agencies", "routing.override"},
				{"GET", "/audit-log", "audit.read"},
				{"GET", "/audit-log/0", "audit.read"},
			} {
				before := refusals(th, tc.action, inv)
				var pg *page
				if tc.method == "GET" {
					pg = b.get(tc.path)
				} else {
					pg = b.post(tc.path, url.Values{"priority": {"1"}, "agency": {"it-postal-police"}, "action": {"withdraw"}, "reason": {"mine"}})
				}
				if pg.status != http.StatusForbidden && pg.status != http.StatusNotFound {
					t.Errorf("%s %s: %d", tc.method, tc.path, pg.status)
				}
				if after := refusals(th, tc.action, inv); after != before+1 {
					t.Errorf("%s %s: %d refusals recorded, want 1", tc.method, tc.path, after-before)
				}
			}
			if got := th.referralOf(report, "it-postal-police"); got.State != guardian.ReferralNew || !got.HeldForConfirmation {
				t.Errorf("after the refusals the referral is %s", got.State)
			}
			// An analyst is refused the supervisors' board and the log.
			a := th.browser()
			a.signIn(analyst)
			for _, p := range []string{"/hub/board", "/audit-log"} {
				if pg := a.get(p); pg.status != http.StatusForbidden {
					t.Errorf("analyst, %s: %d", p, pg.status)
				}
			}
		})
	}
}

// refusals counts the failure events of action by p.
func refusals(th *testHub, action string, p *person) int {
	n := 0
	for _, ev := range hubEvents(th, action) {
		if ev.Outcome == guardian.OutcomeFailure && ev.Actor == p.Actor() {
			n++
		}
	}
	return n
}
