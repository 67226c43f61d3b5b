package web_test

import (
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"go.yaml.in/yaml/v3"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/internal/browsertest"
)

// TestBrowserWorkflow is the workspace end to end in a real Chromium
// (issue 11, parts 7 to 9): an investigator signs in with a TOTP code,
// works a referral from the inbox to its outcome and changes language; an
// analyst confirms a held referral; a person registers a passkey and signs
// in with it; and the audit log holds every step. Every page reached is
// checked by axe-core (no serious or critical violation), for console
// errors (among them Content-Security-Policy refusals), and weighed (HTML,
// CSS and JavaScript under 100 KB compressed).
//
// It runs on SQLite only: the pages' behaviour on PostgreSQL is the other
// tests' business, and a browser run is the slowest test of the package.
// It is skipped without Chromium unless GUARDIAN_TEST_REQUIRE_ALL=1; with
// GUARDIAN_SCREENSHOTS=1 it saves the documentation's screenshots in
// docs/screenshots/ (synthetic data only: gradients, example.org names).
func TestBrowserWorkflow(t *testing.T) {
	start := time.Now()
	th := openHub(t, "sqlite")
	// The browser first: without Chromium the test is skipped before the
	// fixture's work.
	var weights []e2eWeight
	checked := map[string]bool{}
	s := newE2ESession(t, th, &weights, checked)
	t.Logf("hub and browser started: %v", time.Since(start).Round(time.Millisecond))
	fixture := time.Now()
	py := guardian.AgencyOrganisation("py-fiscalia-cyber")
	hubOrg := guardian.HubOrganisation("demo-hub")
	investigator := th.addPerson("ines.investigadora", py, guardian.RoleAgencyInvestigator)
	supervisor := th.addPerson("sara.supervisora", py, guardian.RoleAgencySupervisor)
	liaison := th.addPerson("luis.enlace", guardian.AgencyOrganisation("lo-buenos-aires"), guardian.RoleLiaisonOfficer)
	analyst := th.addPerson("ana.analyst", hubOrg, guardian.RoleHubAnalyst, guardian.RoleHubSupervisor)
	auditor := th.addPerson("otto.auditor", hubOrg, guardian.RoleAuditor)
	keyHolder := th.addPerson("kai.ermittler", guardian.AgencyOrganisation("de-bka-cac"), guardian.RoleAgencyInvestigator)
	newcomer := e2eAddUnenrolled(t, th, "nora.nueva", py, guardian.RoleAgencyInvestigator)

	// Reports routed to Paraguay (two images the reporter viewed and one
	// it did not, which stays locked) and to Germany, delivered; one to
	// Italy, held for an analyst's confirmation, which the analyst gives
	// in the browser.
	pyReport := th.reportTo("PY",
		testFile{name: "gradient-a.png", content: gradientPNG(320, 240), viewed: true},
		testFile{name: "gradient-b.png", content: gradientPNG(240, 180), viewed: true},
		testFile{name: "never-viewed.png", content: gradientPNG(64, 48), viewed: false})
	ref := e2eDeliver(t, th, pyReport, "py-fiscalia-cyber")
	e2eDeliver(t, th, th.reportTo("PY", testFile{name: "second.png", content: gradientPNG(64, 48), viewed: true}), "py-fiscalia-cyber")
	e2eDeliver(t, th, th.reportTo("DE", testFile{name: "gradient-de.png", content: gradientPNG(64, 48), viewed: true}), "de-bka-cac")
	// More work in the inbox, most urgent first: a priority 1 and a 2.
	for _, p := range []guardian.Priority{guardian.Priority2, guardian.Priority1} {
		r := th.reportTo("PY", testFile{name: "gradient-p" + string(p) + ".png", content: gradientPNG(64, 48), viewed: true})
		e2eDeliver(t, th, r, "py-fiscalia-cyber")
		e2ePrioritise(t, th, r, p)
	}
	heldReport := th.reportTo("IT", testFile{name: "gradient-it.png", content: gradientPNG(64, 48), viewed: true})
	held := th.referralOf(heldReport, "it-postal-police")
	if !held.HeldForConfirmation {
		t.Fatalf("the referral to Italy is not held for confirmation: %+v", held)
	}
	t.Logf("fixture (7 people, 6 reports routed): %v", time.Since(fixture).Round(time.Millisecond))

	// done holds the audit events the steps that ran must have left, as
	// "action" or "action/reason", with the person who acted.
	done := map[string]*person{}
	// step runs one step as a subtest, and reports whether the flow may
	// go on: the step ran to its end (perhaps with errors, such as an
	// accessibility violation) or was skipped, rather than stopped.
	step := func(name string, fn func(t *testing.T)) bool {
		t0 := time.Now()
		var sub *testing.T
		completed := false
		t.Run(name, func(t *testing.T) {
			sub = t
			fn(t)
			completed = true
		})
		t.Logf("step %s: %v", name, time.Since(t0).Round(time.Millisecond))
		return completed || sub.Skipped()
	}
	// The subtests share the tab; each reports on its own t.
	on := func(t *testing.T) *e2eSession { c := *s; c.t = t; return &c }
	refPath := "/referrals/" + strconv.FormatInt(ref.ID, 10)

	if !step("SignInTOTP", func(t *testing.T) {
		s := on(t)
		s.visit("/signin")
		s.screenshot("signin")
		s.signIn(investigator)
		done["user.signin"] = investigator
	}) {
		return
	}

	if !step("Inbox", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "GET /referrals")
		s.wantPath("/referrals")
		if !s.exists(fmt.Sprintf(`table.referrals a[href="%s"]`, refPath)) {
			t.Fatalf("the inbox does not list referral %d%s", ref.ID, s.whereAmI())
		}
		// Most urgent first, and the priority in words, not colour alone.
		prios := s.evalStrings(`Array.from(document.querySelectorAll('table.referrals tbody .prio'), e => e.textContent.trim())`)
		if want := []string{"P1", "P2", "P3", "P3"}; !slices.Equal(prios, want) {
			t.Errorf("the inbox lists priorities %q, want %q", prios, want)
		}
		s.screenshot("inbox")
		e2eKeyboardOpensReferral(s)
	}) {
		return
	}

	if !step("Justify", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "POST /referrals/{id}/open")
		s.visit(refPath)
		if s.exists("img") {
			t.Errorf("the referral shows an image before any justification")
		}
		s.typeInto("#j-case", "CASE-2026-0042")
		s.typeInto("#j-reason", "Checking the report before assigning it.")
		s.clickToPage(`form[action="` + refPath + `/open"] button[type="submit"]`)
		s.wantPath("/referrals/{id}")
		if s.exists("#j-case") {
			t.Fatalf("the justification prompt is still there%s", s.whereAmI())
		}
		done["referral.open"] = investigator
		var why []string
		for _, ev := range e2eEvents(t, th, pyReport, "referral.open") {
			why = append(why, ev.Justification)
		}
		if len(why) == 0 || !strings.Contains(why[0], "CASE-2026-0042") || !strings.Contains(why[0], "before assigning") {
			t.Errorf("referral.open justifications %q, want the case number and reason typed", why)
		}
	}) {
		return
	}

	step("Unblur", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "GET /referrals/{id}/files/{fileId}/preview")
		fileID := e2eUnblurOneImage(s, refPath)
		done["file.view"] = investigator
		// Each picture the hub made (blurred or not) is a file.view; the
		// original was opened, the locked file never.
		views := map[string]int{}
		for _, ev := range e2eEvents(t, th, pyReport, "file.view") {
			views[ev.FileID]++
		}
		if views[fileID] < 2 {
			t.Errorf("file.view events by file %v: want the blurred and the original picture of %s", views, fileID)
		}
		if len(views) != 2 {
			t.Errorf("file.view events by file %v: want the two images only, not the locked file", views)
		}
	})

	step("Acknowledge", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "POST /referrals/{id}/acknowledge")
		s.clickToPage(`form[action="` + refPath + `/acknowledge"] button[type="submit"]`)
		s.wantPath("/referrals/{id}")
		if got := e2eReferral(t, th, ref.ID).State; got != guardian.ReferralAcknowledged {
			t.Errorf("after acknowledging, the referral is %s", got)
		}
		if s.exists(`form[action="` + refPath + `/acknowledge"]`) {
			t.Errorf("the acknowledge button is still offered")
		}
		done["referral.acknowledge"] = investigator
	})

	step("Message", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "POST /referrals/{id}/messages")
		body := "Could the service preserve the account's sign-in records? (synthetic)"
		s.choose("#m-kind", string(guardian.MessageRequestInfo))
		s.typeInto("#m-body", body)
		s.clickToPage(`form[action="` + refPath + `/messages"] button[type="submit"]`)
		s.waitText("ul.messages", body)
		done["message.add"] = investigator
	})

	step("Outcome", func(t *testing.T) {
		s := on(t)
		e2eNeedRoute(t, "POST /referrals/{id}/outcome")
		if !s.exists(`form[action="` + refPath + `/outcome"]`) {
			t.Fatalf("no outcome form on the acknowledged referral%s", s.whereAmI())
		}
		s.choose("#o-status", string(guardian.CaseArrest))
		s.choose("#o-victim", "yes")
		s.choose("#o-more", "no")
		s.choose("#o-useful", string(guardian.Useful))
		s.typeInto("#o-note", "Suspect arrested; device seized. (synthetic)")
		s.clickToPage(`form[action="` + refPath + `/outcome"] button[type="submit"]`)
		s.waitText("#outcome-heading", e2eCatalogue(t, "en")["agency.outcome.recorded"])
		if o := e2eReferral(t, th, ref.ID).Outcome; o == nil || o.Status != guardian.CaseArrest {
			t.Errorf("outcome stored: %+v", o)
		}
		done["referral.outcome"] = investigator
	})

	step("Language", func(t *testing.T) {
		s := on(t)
		if !e2eHasRoute("GET " + e2ePageKind(s.location().Path)) {
			t.Skipf("no page to change the language on yet")
		}
		e2eChangeLanguage(s, "es")
		done["user.update/language"] = investigator
		e2eChangeLanguage(s, "en")
	})

	step("SignOut", func(t *testing.T) {
		on(t).signOut()
	})

	step("Supervision", func(t *testing.T) {
		e2eNeedRoute(t, "GET /supervision")
		s := on(t)
		s.signIn(supervisor)
		s.visit("/supervision")
		if !s.exists(fmt.Sprintf(`main a[href="%s"]`, refPath)) {
			t.Errorf("the supervisors' board does not list referral %d%s", ref.ID, s.whereAmI())
		}
		s.signOut()
	})

	step("Liaison", func(t *testing.T) {
		e2eNeedRoute(t, "GET /liaison")
		s := on(t)
		s.signIn(liaison)
		s.visit("/liaison")
		s.signOut()
	})

	step("ConfirmHeld", func(t *testing.T) {
		e2eNeedRoute(t, "GET /hub/queue")
		e2eNeedRoute(t, "POST /hub/referrals/{id}/confirm")
		s := on(t)
		s.signIn(analyst)
		s.visit("/hub/queue")
		row := fmt.Sprintf("#held-%d", held.ID)
		if !s.exists(row) {
			t.Fatalf("the queue does not list the held referral %d%s", held.ID, s.whereAmI())
		}
		s.screenshot("queue")
		s.clickToPage(row + " a")
		s.wantPath("/hub/reports/{id}")
		confirm := fmt.Sprintf(`form[action="/hub/referrals/%d/confirm"]`, held.ID)
		s.typeInto(fmt.Sprintf("#confirm-reason-%d", held.ID), "Location checked against the provider's records.")
		s.clickToPage(confirm + ` button[type="submit"]`)
		s.wantPath("/hub/reports/{id}")
		if s.exists(confirm) {
			t.Errorf("the confirmation form is still offered after confirming")
		}
		if r := e2eReferral(t, th, held.ID); r.HeldForConfirmation && r.State == guardian.ReferralNew {
			t.Errorf("after confirming, the referral is still held: %+v", r)
		}
		done["referral.confirm"] = analyst
		s.visit("/hub/queue")
		if s.exists(row) {
			t.Errorf("the queue still lists the confirmed referral %d", held.ID)
		}
		if s.exists(fmt.Sprintf("#queue-report-%d", heldReport)) {
			// Nothing resolves a report's queue entry yet (no caller of
			// RoutingStore.ResolveQueueEntry): noted, not this test's to fail.
			t.Logf("NOTE: report %d still waits on an analyst in the queue after its held referral was confirmed", heldReport)
		}
		if e2eHasRoute("GET /hub/board") {
			s.visit("/hub/board")
			s.screenshot("board")
		}
		s.signOut()
	})

	step("EnrolTOTP", func(t *testing.T) {
		e2eNeedRoute(t, "GET /signin/enrol")
		s := on(t)
		s.passwordTo(newcomer, "/signin/enrol")
		if !s.exists(`img.qr[src^="data:image/png;base64,"]`) {
			t.Errorf("the enrolment page shows no QR code%s", s.whereAmI())
		}
		// Read the key as a person would type it into an app.
		secret := strings.ReplaceAll(s.text("code.secret"), " ", "")
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
		if err != nil {
			t.Fatalf("the key shown, %q, is no base32: %v", secret, err)
		}
		key, err := identity.NewTOTPKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.typeInto("#code", key.Code(th.clock.Now()))
		// The recovery codes are the answer to the form, on the same URL.
		s.clickAndWait(`form[action="/signin/enrol"] button[type="submit"]`)
		s.checkAgain("/signin/enrol, the recovery codes")
		if n := s.eval(`document.querySelectorAll('ol.codes li').length`).(float64); n != 10 {
			t.Errorf("%v recovery codes shown, want 10%s", n, s.whereAmI())
		}
		s.clickAndWait(`main a[href="/"]`)
		s.landed(newcomer)
		done["user.mfa"] = newcomer
		s.signOut()
	})

	step("Passkey", func(t *testing.T) {
		e2eNeedRoute(t, "GET /account")
		e2eNeedRoute(t, "POST /account/passkeys")
		s := on(t)
		s.signIn(keyHolder)
		s.visit("/account")
		e2eRegisterPasskey(s, "Synthetic laptop")
		s.screenshot("account")
		done["passkey.add"] = keyHolder
		s.signOut()
		e2ePasskeySignIn(s, keyHolder)
		done["user.signin/passkey"] = keyHolder
		s.signOut()
	})

	step("AuditLogPage", func(t *testing.T) {
		e2eNeedRoute(t, "GET /audit-log")
		s := on(t)
		s.signIn(auditor)
		s.visit("/audit-log?action=referral.confirm")
		s.waitText("main table", "referral.confirm")
		if s.exists(`table a[href^="/audit-log/"]`) {
			s.clickToPage(`table a[href^="/audit-log/"]`)
			s.wantPath("/audit-log/{id}")
		}
		s.signOut()
	})

	s.checkConsole("the last page")
	t.Run("AuditTrail", func(t *testing.T) {
		e2eCheckAudit(t, th, done)
	})

	// The heaviest state of each page, for the closing note.
	heaviest := map[string]e2eWeight{}
	var kinds []string
	for _, w := range weights {
		h, ok := heaviest[w.Kind]
		if !ok {
			kinds = append(kinds, w.Kind)
		}
		if !ok || w.Total() > h.Total() {
			heaviest[w.Kind] = w
		}
	}
	var b strings.Builder
	for _, k := range kinds {
		w := heaviest[k]
		fmt.Fprintf(&b, "\n  %-20s %5.1f KB  (HTML %4.1f KB + %d CSS/JS files %4.1f KB; heaviest: %s)",
			w.Kind, float64(w.Total())/1000, float64(w.HTML)/1000, w.Files, float64(w.Assets)/1000, w.URL)
	}
	t.Logf("page weights, gzip, budget %d KB:%s", e2eWeightBudget/1000, b.String())
	t.Logf("total: %v", time.Since(start).Round(time.Millisecond))
}

// e2eDeliver returns the referral of report to agency, delivered: the
// fixture's reports locate their person by the service's estimate alone,
// which routing holds for an analyst; the hub confirms these directly
// (the browser confirms another, the Italian one, as an analyst would).
func e2eDeliver(t *testing.T, th *testHub, report int64, agency string) *guardian.Referral {
	t.Helper()
	ref := th.referralOf(report, agency)
	if ref.HeldForConfirmation && ref.State == guardian.ReferralNew {
		ev := systemEvent("referral.confirm", guardian.CategoryDisclosure)
		ev.Outcome, ev.Justification, ev.Recipients = guardian.OutcomeSuccess, "test fixture", []string{agency}
		var err error
		if ref, err = th.hub.Store.ConfirmReferral(th.ctx, ref.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
	if ref.State != guardian.ReferralDelivered {
		t.Fatalf("referral %d to %s is %s, want delivered", ref.ID, agency, ref.State)
	}
	return ref
}

// e2eEvents returns the successful events of a report with action.
func e2eEvents(t *testing.T, th *testHub, reportID int64, action string) []*guardian.AuditEvent {
	t.Helper()
	evs, err := th.hub.Store.FindAuditEvents(th.ctx, guardian.AuditFilter{ReportID: reportID, Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*guardian.AuditEvent
	for _, ev := range evs {
		if ev.Outcome == guardian.OutcomeSuccess {
			out = append(out, ev)
		}
	}
	return out
}

// e2ePrioritise sets a report's priority as an analyst would, with the
// agreements' deadlines.
func e2ePrioritise(t *testing.T, th *testHub, report int64, p guardian.Priority) {
	t.Helper()
	n := th.hub.API.Network()
	ackWithin := func(agencyID string) (time.Duration, bool) {
		ag, ok := n.AgreementOf(agencyID)
		if !ok {
			return 0, false
		}
		return ag.AcknowledgeDeadline(string(p))
	}
	ev := systemEvent("report.priority", guardian.CategoryAlteration)
	ev.Outcome, ev.Justification = guardian.OutcomeSuccess, "test fixture"
	if _, err := th.hub.Store.ChangeReportPriority(th.ctx, report, p, ackWithin, ev); err != nil {
		t.Fatal(err)
	}
}

// e2eAddUnenrolled creates a person as addPerson does, but with no
// second factor yet: they enrol a TOTP key at their first sign-in.
func e2eAddUnenrolled(t *testing.T, th *testHub, name string, org guardian.Organisation, roles ...guardian.Role) *person {
	t.Helper()
	hash, err := identity.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(365 * 24 * time.Hour)
	u := &guardian.User{Name: name, DisplayName: name, Email: name + "@example.org", Organisation: org, Roles: roles,
		PasswordHash: hash, VettingExpiresAt: &later, TrainingExpiresAt: &later, TimeZone: "UTC"}
	if err := th.hub.Store.CreateUser(th.ctx, u, systemEvent("user.create", guardian.CategoryPermission)); err != nil {
		t.Fatal(err)
	}
	return &person{User: u}
}

// e2eNeedRoute skips a step whose page is not there yet.
func e2eNeedRoute(t *testing.T, route string) {
	t.Helper()
	if !e2eHasRoute(route) {
		t.Skipf("the pages have no %s yet", route)
	}
}

// e2eReferral reads a referral back from the store.
func e2eReferral(t *testing.T, th *testHub, id int64) *guardian.Referral {
	t.Helper()
	r, err := th.hub.Store.FindReferral(th.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// e2eKeyboardOpensReferral checks the inbox by keyboard alone: Tab from
// the top of the page reaches the first referral's link, and Enter opens
// it.
func e2eKeyboardOpensReferral(s *e2eSession) {
	s.t.Helper()
	first := `table.referrals tbody a[href^="/referrals/"]`
	href := s.attr(first, "href")
	if href == "" {
		s.t.Fatalf("no referral link in the inbox%s", s.whereAmI())
	}
	// Start from the top, as after loading the page.
	s.eval(`document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true`)
	isFirst := fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, e2eJS(first))
	tabs := 0
	for ; tabs < 60; tabs++ {
		if s.eval(isFirst).(bool) {
			break
		}
		s.pressKey(kb.Tab)
	}
	if !s.eval(isFirst).(bool) {
		s.t.Fatalf("60 Tabs did not reach the first referral's link (focus on %v)", s.eval(`document.activeElement.outerHTML.slice(0, 120)`))
	}
	// Focus must be visible: the browser draws the outline of :focus-visible.
	if !s.eval(`document.activeElement.matches(':focus-visible')`).(bool) {
		s.t.Errorf("the focused referral link does not match :focus-visible")
	}
	s.t.Logf("keyboard: %d Tabs reach the first referral (%s)", tabs, href)
	s.keyToPage("Enter", "Enter", 13)
	if got := s.location().Path; got != href {
		s.t.Errorf("Enter on the link went to %s, want %s", got, href)
	}
	s.checkPage()
}

// e2eUnblurOneImage shows the referral's images blurred, then unblurs the
// first: its <img> goes from the blurred picture to the original, in
// colour, and every other image stays blurred. The locked file (never
// viewed by the reporter) shows no image at all.
// It returns the unblurred file's id.
func e2eUnblurOneImage(s *e2eSession, refPath string) string {
	s.t.Helper()
	figures := s.evalStrings(`Array.from(document.querySelectorAll('div.figure'), f => f.id)`)
	if len(figures) != 2 {
		s.t.Fatalf("%d image figures (%v), want 2: the third file is locked%s", len(figures), figures, s.whereAmI())
	}
	if n := s.eval(`document.querySelectorAll('img.evidence-image').length`).(float64); n != 0 {
		s.t.Errorf("%v images shown before the person asked", n)
	}
	if !s.exists("p.locked") {
		s.t.Errorf("the file the reporter never viewed is not shown locked")
	}
	srcOf := func(fig string) string { return s.attr("#"+fig+" img", "src") }
	// Ask for each picture: it comes blurred.
	for _, fig := range figures {
		s.click("#" + fig + " a.button")
		s.waitFor(fig+" blurred", fmt.Sprintf(`(() => { const i = document.querySelector('#%s img'); return !!i && i.complete && i.naturalWidth > 0 && i.getAttribute('src').endsWith('/blurred'); })()`, fig))
	}
	s.checkConsole("showing the blurred images")
	for _, fig := range figures {
		if c := e2eImageColour(s, fig); c > 0 {
			s.t.Errorf("%s: the blurred picture has colour (%d): it is not greyscale", fig, c)
		}
	}
	s.screenshot("referral")
	s.axe(refPath + " with the images blurred")

	blurred := srcOf(figures[0])
	s.click("#" + figures[0] + " a.button")
	s.waitFor("the original", fmt.Sprintf(`(() => { const i = document.querySelector('#%s img'); return !!i && i.complete && i.naturalWidth > 0 && i.getAttribute('src').endsWith('/image'); })()`, figures[0]))
	s.checkConsole("unblurring an image")
	original := srcOf(figures[0])
	if original == blurred || !strings.HasPrefix(original, refPath+"/files/") {
		s.t.Errorf("the unblurred <img> src is %q (was %q)", original, blurred)
	}
	if c := e2eImageColour(s, figures[0]); c < 50 {
		s.t.Errorf("the unblurred picture shows no colour (%d): not the original gradient", c)
	}
	if got := srcOf(figures[1]); !strings.HasSuffix(got, "/blurred") {
		s.t.Errorf("the other image changed too: src %q", got)
	}
	if n := s.eval(`document.querySelectorAll('img[src$="/image"]').length`).(float64); n != 1 {
		s.t.Errorf("%v original images on the page, want 1", n)
	}
	s.axe(refPath + " with one image unblurred")
	s.t.Logf("unblurred %s: %s → %s", figures[0], blurred, original)
	return strings.TrimPrefix(figures[0], "fig-")
}

// e2eImageColour draws the figure's image on a canvas and returns the
// largest difference between a pixel's channels: 0 for greyscale, large
// for the gradients' colours.
func e2eImageColour(s *e2eSession, fig string) int {
	s.t.Helper()
	v := s.eval(fmt.Sprintf(`(() => {
		const i = document.querySelector('#%s img');
		const c = document.createElement('canvas');
		c.width = i.naturalWidth; c.height = i.naturalHeight;
		const x = c.getContext('2d');
		x.drawImage(i, 0, 0);
		const d = x.getImageData(0, 0, c.width, c.height).data;
		let m = 0;
		for (let k = 0; k < d.length; k += 4) {
			m = Math.max(m, Math.abs(d[k] - d[k+1]), Math.abs(d[k+1] - d[k+2]), Math.abs(d[k] - d[k+2]));
		}
		return m;
	})()`, fig))
	return int(v.(float64))
}

// e2eRegisterPasskey adds a passkey on the account page with Chromium's
// virtual authenticator.
func e2eRegisterPasskey(s *e2eSession, name string) {
	s.t.Helper()
	ctx, cancel := s.step()
	id, err := browsertest.VirtualAuthenticator(ctx)
	cancel()
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("virtual authenticator %s", id)
	s.typeInto("#passkey-name", name)
	s.clickToPage("#passkey-register")
	s.wantPath("/account")
	s.waitText("table.passkeys", name)
}

// e2ePasskeySignIn signs p in with the password and their passkey.
func e2ePasskeySignIn(s *e2eSession, p *person) {
	s.t.Helper()
	s.password(p)
	if !s.exists("#passkey-signin") {
		s.t.Fatalf("the second step offers no passkey%s", s.whereAmI())
	}
	s.checkAgain("/signin/factor with a passkey")
	s.clickAndWait("#passkey-signin")
	s.landed(p)
}

// e2eChangeLanguage picks lang in the layout's language form and checks the
// page that comes back: <html lang>, Content-Language, and messages of
// the layout in that language where its catalogue translates them.
func e2eChangeLanguage(s *e2eSession, lang string) {
	s.t.Helper()
	path := s.location().Path
	s.choose("#lang-select", lang)
	s.clickToPage(`footer form[action="/language"] button[type="submit"]`)
	if got := s.location().Path; got != path {
		s.t.Errorf("after changing the language: on %s, want back on %s", got, path)
	}
	if got := s.attr("html", "lang"); got != lang {
		s.t.Errorf("<html lang=%q>, want %q", got, lang)
	}
	if got := s.header().Get("Content-Language"); got != lang {
		s.t.Errorf("Content-Language %q, want %q", got, lang)
	}
	en, tr := e2eCatalogue(s.t, "en"), e2eCatalogue(s.t, lang)
	translated := 0
	for key, sel := range map[string]string{
		"layout.signout":          `form[action="/signout"] button`,
		"layout.language":         `label[for="lang-select"]`,
		"layout.language.apply":   `footer form[action="/language"] button`,
		"nav.inbox":               `nav a[href="/referrals"]`,
		"nav.account":             `nav a[href="/account"]`,
		"agency.messages.heading": `#messages-heading`,
	} {
		if !s.exists(sel) || tr[key] == "" || (lang != "en" && tr[key] == en[key]) {
			continue
		}
		translated++
		if got := strings.TrimSpace(s.text(sel)); got != tr[key] {
			s.t.Errorf("%s shows %q in %s, want %q", key, got, lang, tr[key])
		}
	}
	s.t.Logf("language %s: <html lang> and Content-Language are %s; %d messages checked in %s", lang, lang, translated, lang)
}

// e2eCatalogue reads a language's messages from locales/<lang>/*.yaml.
func e2eCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("locales", lang, "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no e2eCatalogue of %s: %v", lang, err)
	}
	out := map[string]string{}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

// e2eCheckAudit checks that the audit log holds, for each step that ran, a
// successful event by the person who took it: done maps "action" or
// "action/reason" to that person.
func e2eCheckAudit(t *testing.T, th *testHub, done map[string]*person) {
	t.Helper()
	for want, p := range done {
		action, reason, _ := strings.Cut(want, "/")
		evs, err := th.hub.Store.FindAuditEvents(th.ctx, guardian.AuditFilter{Action: action, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, ev := range evs {
			if ev.Outcome == guardian.OutcomeSuccess && (reason == "" || ev.Reason == reason) && ev.Actor == p.Actor() {
				found++
			}
		}
		if found == 0 {
			t.Errorf("the audit log holds no successful %s by %s (%d %s events)", want, p.Name, len(evs), action)
			continue
		}
		t.Logf("audit: %d %s by %s", found, want, p.Name)
	}
}
