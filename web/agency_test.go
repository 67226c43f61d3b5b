package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// The agencies' pages: the inbox, a referral with its content, images and
// actions, the supervisors' board and the liaison page, each on both
// stores, through the real hub over HTTP.

var (
	pyOrg = guardian.AgencyOrganisation("py-fiscalia-cyber")
	deOrg = guardian.AgencyOrganisation("de-bka-cac")
	loOrg = guardian.AgencyOrganisation("lo-buenos-aires")
)

// referralLinks are the referral ids a page's table links to, in order.
var referralLinkRE = regexp.MustCompile(`<a href="/referrals/(\d+)">`)

func referralLinks(body string) []int64 {
	var out []int64
	for _, m := range referralLinkRE.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

// deliveredTo reports to country, as reportTo does, and returns the
// referral to agency once delivered: the fixture's reports locate their
// person by the service's estimate alone, which routing holds for an
// analyst, so the test confirms it as the analyst would.
func deliveredTo(t testing.TB, th *testHub, country, agency string, files ...testFile) (int64, *guardian.Referral) {
	t.Helper()
	report := th.reportTo(country, files...)
	ref := th.referralOf(report, agency)
	if ref.HeldForConfirmation {
		ev := systemEvent("referral.confirm", guardian.CategoryDisclosure)
		ev.Outcome, ev.Justification, ev.Recipients = guardian.OutcomeSuccess, "test", []string{agency}
		var err error
		if ref, err = th.hub.Store.ConfirmReferral(th.ctx, ref.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
	if ref.State != guardian.ReferralDelivered {
		t.Fatalf("referral %d to %s is %s", ref.ID, agency, ref.State)
	}
	return report, ref
}

func refPath(id int64) string { return "/referrals/" + strconv.FormatInt(id, 10) }

// agencyEvents returns the events of a report with action, successful
// ones only unless failures.
func agencyEvents(t *testing.T, th *testHub, reportID int64, action string) []*guardian.AuditEvent {
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

// fetch is a GET with headers, read whole.
func (b *browser) fetch(path string, header http.Header) *page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.th.URL()+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return b.read(b.http.Do(req))
}

// problemOf is an error page without its request id, which differs from
// one answer to the next.
var requestIDRE = regexp.MustCompile(`Request [^<]+<`)

func problemOf(body string) string {
	main := body
	if i := strings.Index(main, `<main`); i >= 0 {
		main = main[i:]
	}
	if i := strings.Index(main, `</main>`); i >= 0 {
		main = main[:i]
	}
	return requestIDRE.ReplaceAllString(main, "Request <")
}

// TestAgencyInboxIsolation: a referral routed to Paraguay is in the
// inbox of py-fiscalia-cyber's investigator and nowhere for de-bka-cac,
// whose every answer about it is the unknown id's.
func TestAgencyInboxIsolation(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			py := th.addPerson("ana@py.example.org", pyOrg, guardian.RoleAgencyInvestigator)
			de := th.addPerson("dirk@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
			report, ref := deliveredTo(t, th, "PY", "py-fiscalia-cyber", testFile{name: "a.png", content: gradientPNG(64, 48), viewed: true})

			bp := th.browser()
			bp.signIn(py)
			pg := bp.get("/referrals")
			if pg.status != http.StatusOK || !slices.Contains(referralLinks(pg.body), ref.ID) {
				t.Fatalf("py inbox (%d) lacks referral %d: %s", pg.status, ref.ID, clip(pg.body))
			}
			if !strings.Contains(pg.body, ">P"+string(ref.Priority)+"<") {
				t.Errorf("no priority badge P%s in the inbox", ref.Priority)
			}

			bd := th.browser()
			bd.signIn(de)
			if pg := bd.get("/referrals"); slices.Contains(referralLinks(pg.body), ref.ID) {
				t.Errorf("de inbox lists py's referral %d", ref.ID)
			}
			other := bd.get(refPath(ref.ID))
			unknown := bd.get(refPath(ref.ID + 100000))
			if other.status != http.StatusNotFound || unknown.status != http.StatusNotFound {
				t.Fatalf("another agency's referral: %d, an unknown one: %d", other.status, unknown.status)
			}
			if a, b := problemOf(other.body), problemOf(unknown.body); a != b {
				t.Errorf("another agency's referral and an unknown one differ:\n%s\n---\n%s", a, b)
			}
			for _, path := range []string{"/files/x/blurred", "/files/x/preview", "/package"} {
				if pg := bd.get(refPath(ref.ID) + path); pg.status != http.StatusNotFound {
					t.Errorf("de GET %s: %d", path, pg.status)
				}
			}
			if pg := bd.post(refPath(ref.ID)+"/acknowledge", nil); pg.status != http.StatusNotFound {
				t.Errorf("de acknowledge: %d", pg.status)
			}
			// A search by the report's id finds nothing for de.
			for _, q := range []int64{report, ref.ID} {
				if pg := bd.get("/referrals?q=" + strconv.FormatInt(q, 10)); slices.Contains(referralLinks(pg.body), ref.ID) || !strings.Contains(pg.body, "No match among your referrals.") {
					t.Errorf("de's search for %d found py's referral", q)
				}
			}
			if pg := bp.get("/referrals?q=" + strconv.FormatInt(report, 10)); !strings.Contains(pg.body, `<a href="/referrals/`+strconv.FormatInt(ref.ID, 10)+`">Referral `) {
				t.Errorf("py's search for report %d did not find referral %d", report, ref.ID)
			}
			if got := th.referralOf(report, "py-fiscalia-cyber"); got.State != ref.State {
				t.Errorf("state %s after de's attempts, was %s", got.State, ref.State)
			}
		})
	}
}

// TestReferralJustificationAndImages: the page asks why before any
// content; the justification is recorded once and the content is shown;
// images come blurred (a greyscale PNG, not the original) until unblurred
// (the original bytes), each view recorded; a locked file opens only
// after a legal authority is recorded.
func TestReferralJustificationAndImages(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			py := th.addPerson("ana@py.example.org", pyOrg, guardian.RoleAgencyInvestigator)
			original := checkerPNG(64, 48)
			lockedBytes := gradientPNG(32, 24)
			report, ref := deliveredTo(t, th, "PY", "py-fiscalia-cyber",
				testFile{name: "seen-gradient.png", content: original, viewed: true},
				testFile{name: "unseen-gradient.png", content: lockedBytes, viewed: false},
				testFile{name: "notes.txt", content: []byte("synthetic text file\n"), viewed: true})
			path := refPath(ref.ID)

			b := th.browser()
			b.signIn(py)
			pg := b.get(path)
			if pg.status != http.StatusOK || !strings.Contains(pg.body, `action="`+path+`/open"`) {
				t.Fatalf("no justification prompt (%d): %s", pg.status, clip(pg.body))
			}
			if strings.Contains(pg.body, "seen-gradient.png") {
				t.Fatal("a file name is shown before the justification")
			}
			if n := len(agencyEvents(t, th, report, "referral.open")); n != 0 {
				t.Fatalf("%d referral.open events before the justification", n)
			}
			// An empty justification is refused, on the page.
			if pg := b.post(path+"/open", url.Values{}); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, `role="alert"`) {
				t.Errorf("empty justification: %d", pg.status)
			}

			pg = b.post(path+"/open", url.Values{"case": {"PY-2026-0042"}})
			if pg.status != http.StatusOK || !strings.Contains(pg.body, "seen-gradient.png") {
				t.Fatalf("after the justification (%d at %s): %s", pg.status, pg.url, clip(pg.body))
			}
			opens := agencyEvents(t, th, report, "referral.open")
			if len(opens) == 0 || !slices.ContainsFunc(opens, func(ev *guardian.AuditEvent) bool { return ev.Justification == "case PY-2026-0042" }) {
				t.Fatalf("referral.open events: %+v", opens)
			}
			var seen, unseen, text *guardian.File
			rep, err := th.hub.Store.FindReportByID(th.ctx, report)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Files {
				switch f.Name {
				case "seen-gradient.png":
					seen = f
				case "unseen-gradient.png":
					unseen = f
				case "notes.txt":
					text = f
				}
			}
			for _, want := range []string{seen.SHA256, seen.MD5, "unseen-gradient.png", "Locked", `action="` + path + `/legal-authority"`,
				path + "/files/" + seen.ID + "/preview", path + "/files/" + text.ID + "/download"} {
				if !strings.Contains(pg.body, want) {
					t.Errorf("the referral page lacks %q", want)
				}
			}
			if strings.Contains(pg.body, path+"/files/"+text.ID+"/preview") || strings.Contains(pg.body, path+"/files/"+unseen.ID+"/preview") {
				t.Error("a blurred preview is offered for a text file or a locked one")
			}
			if strings.Contains(pg.body, "/blurred") || strings.Contains(pg.body, "/image\"") {
				t.Error("an image is shown before the person asked")
			}
			// Viewing again records no second consultation.
			b.get(path)
			if n := len(agencyEvents(t, th, report, "referral.open")); n != len(opens) {
				t.Errorf("referral.open events: %d after viewing again, %d before", n, len(opens))
			}

			base := path + "/files/" + seen.ID
			// The preview: a fragment for htmx, the whole page without.
			frag := b.fetch(base+"/preview", http.Header{"Hx-Request": {"true"}, "Hx-Target": {"fig-" + seen.ID}})
			if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, base+"/blurred") {
				t.Errorf("htmx preview (%d): %s", frag.status, clip(frag.body))
			}
			if full := b.get(base + "/preview"); full.status != http.StatusOK || !strings.Contains(full.body, "<html") || !strings.Contains(full.body, base+"/blurred") {
				t.Errorf("preview without JavaScript (%d)", full.status)
			}
			if un := b.fetch(base+"/preview?view=original", http.Header{"Hx-Request": {"true"}}); !strings.Contains(un.body, base+"/image") {
				t.Errorf("unblurred preview: %s", clip(un.body))
			}

			views := len(agencyEvents(t, th, report, "file.view"))
			blurred := b.get(base + "/blurred")
			if blurred.status != http.StatusOK || blurred.header.Get("Content-Type") != "image/png" {
				t.Fatalf("blurred: %d %s", blurred.status, blurred.header.Get("Content-Type"))
			}
			if bytes.Equal([]byte(blurred.body), original) {
				t.Fatal("the blurred image is the original")
			}
			img, err := png.Decode(strings.NewReader(blurred.body))
			if err != nil {
				t.Fatalf("blurred is no PNG: %v", err)
			}
			checkGreyAndBlurred(t, img)
			if csp := blurred.header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
				t.Errorf("blurred CSP %q", csp)
			}

			orig := b.get(base + "/image")
			if orig.status != http.StatusOK || !bytes.Equal([]byte(orig.body), original) {
				t.Fatalf("unblurred: %d, %d bytes, want the original %d", orig.status, len(orig.body), len(original))
			}
			if ct, csp, ns := orig.header.Get("Content-Type"), orig.header.Get("Content-Security-Policy"), orig.header.Get("X-Content-Type-Options"); ct != "image/png" || csp != "default-src 'none'; sandbox" || ns != "nosniff" {
				t.Errorf("unblurred headers: %q %q %q", ct, csp, ns)
			}
			if n := len(agencyEvents(t, th, report, "file.view")); n != views+2 {
				t.Errorf("file.view events: %d, want %d", n, views+2)
			}
			// A text file is not shown as an image, only downloaded.
			if pg := b.get(path + "/files/" + text.ID + "/image"); pg.status != http.StatusBadRequest {
				t.Errorf("a text file as an image: %d", pg.status)
			}
			dl := b.get(path + "/files/" + text.ID + "/download")
			if dl.status != http.StatusOK || dl.body != "synthetic text file\n" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("download: %d %q %q", dl.status, dl.body, dl.header.Get("Content-Disposition"))
			}

			// The sealed package, on the day's consultation.
			pkg := b.get(path + "/package")
			if pkg.status != http.StatusOK || !strings.HasPrefix(pkg.body, "age-encryption.org/") || !strings.HasPrefix(pkg.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("package: %d %q %.40q", pkg.status, pkg.header.Get("Content-Disposition"), pkg.body)
			}
			if n := len(agencyEvents(t, th, report, "referral.package")); n != 1 {
				t.Errorf("%d referral.package events", n)
			}

			// The locked file opens only under a legal authority.
			lockedBase := path + "/files/" + unseen.ID
			if pg := b.get(lockedBase + "/image"); pg.status != http.StatusForbidden {
				t.Fatalf("locked file: %d", pg.status)
			}
			pg = b.post(path+"/legal-authority", url.Values{"reference": {"Order 7/2026 (synthetic)"}, "file": {unseen.ID}})
			if pg.status != http.StatusOK || strings.Contains(pg.body, `action="`+path+`/legal-authority"`) {
				t.Fatalf("after the legal authority (%d): the form is still there", pg.status)
			}
			if n := len(agencyEvents(t, th, report, "file.legal-authority")); n != 1 {
				t.Errorf("file.legal-authority events: %d", n)
			}
			if pg := b.get(lockedBase + "/image"); pg.status != http.StatusOK || !bytes.Equal([]byte(pg.body), lockedBytes) {
				t.Errorf("the file under legal authority: %d", pg.status)
			}
		})
	}
}

// checkerPNG is a benign generated image with detail a blur must erase:
// a checkerboard of red and green squares of 2 pixels.
func checkerPNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{200, 30, 30, 255}
			if (x/2+y/2)%2 == 0 {
				c = color.NRGBA{30, 200, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// checkGreyAndBlurred fails unless img is grey (R = G = B everywhere) and
// smooth: no neighbouring pixels differ by more than a blur allows.
func checkGreyAndBlurred(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() < 2 || b.Dy() < 2 {
		t.Fatalf("blurred image of %v", b)
	}
	worst := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != g || g != bl {
				t.Fatalf("pixel (%d,%d) is not grey: %d %d %d", x, y, r, g, bl)
			}
			if x > b.Min.X {
				l := int(color.GrayModel.Convert(img.At(x-1, y)).(color.Gray).Y)
				c := int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
				worst = max(worst, abs(l-c))
			}
		}
	}
	if worst > 8 {
		t.Errorf("neighbouring pixels differ by %d: not blurred", worst)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestReferralActions: acknowledge, assign, message, outcome and decline
// change the referral and write their events; a post without the CSRF
// field is refused and changes nothing.
func TestReferralActions(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			py := th.addPerson("ana@py.example.org", pyOrg, guardian.RoleAgencyInvestigator)
			report, ref := deliveredTo(t, th, "PY", "py-fiscalia-cyber", testFile{name: "a.png", content: gradientPNG(64, 48), viewed: true})
			path := refPath(ref.ID)
			b := th.browser()
			b.signIn(py)
			b.get(path)

			// CSRF: without the field, refused, and nothing changes.
			resp, err := b.http.PostForm(th.URL()+path+"/acknowledge", url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("acknowledge without CSRF: %d", resp.StatusCode)
			}
			if got := th.referralOf(report, "py-fiscalia-cyber"); got.AcknowledgedAt != nil || got.State != ref.State {
				t.Fatalf("acknowledged without CSRF: %+v", got)
			}

			pg := b.post(path+"/acknowledge", nil)
			if pg.status != http.StatusOK || !strings.Contains(pg.url, "notice=acknowledged") {
				t.Fatalf("acknowledge: %d %s", pg.status, pg.url)
			}
			if got := th.referralOf(report, "py-fiscalia-cyber"); got.State != guardian.ReferralAcknowledged {
				t.Errorf("state %s after acknowledging", got.State)
			}
			if !strings.Contains(pg.body, `action="`+path+`/assign"`) {
				t.Fatal("no assign form")
			}
			b.post(path+"/assign", url.Values{"user": {strconv.FormatInt(py.ID, 10)}})
			if got := th.referralOf(report, "py-fiscalia-cyber"); got.Assignee != strconv.FormatInt(py.ID, 10) {
				t.Errorf("assignee %q, want %d", got.Assignee, py.ID)
			}
			pg = b.post(path+"/messages", url.Values{"kind": {"request-info"}, "body": {"Could the hub ask for the upload IP's port?"}})
			if !strings.Contains(pg.body, "Could the hub ask for the upload IP&#39;s port?") {
				t.Errorf("the message is not on the page: %s", clip(pg.body))
			}
			msgs, err := th.hub.Store.FindMessages(th.ctx, ref.ID, "py-fiscalia-cyber")
			if err != nil || len(msgs) != 1 || msgs[0].Kind != guardian.MessageRequestInfo {
				t.Errorf("messages: %v %+v", err, msgs)
			}
			pg = b.post(path+"/outcome", url.Values{"status": {"arrest"}, "victimIdentified": {"yes"}, "moreVictims": {""},
				"closureReason": {""}, "usefulness": {"useful"}, "note": {"Synthetic note."}})
			if pg.status != http.StatusOK {
				t.Fatalf("outcome: %d %s", pg.status, clip(pg.body))
			}
			got := th.referralOf(report, "py-fiscalia-cyber")
			if got.State != guardian.ReferralClosed || got.Outcome == nil || got.Outcome.Status != guardian.CaseArrest ||
				got.Outcome.VictimIdentified == nil || !*got.Outcome.VictimIdentified || got.Outcome.MoreVictims != nil {
				t.Errorf("after the outcome: %s %+v", got.State, got.Outcome)
			}
			for _, action := range []string{"referral.acknowledge", "referral.assign", "message.add", "referral.outcome"} {
				if n := len(agencyEvents(t, th, report, action)); n != 1 {
					t.Errorf("%d %s events", n, action)
				}
			}

			// Not our jurisdiction, on another referral.
			other, oref := deliveredTo(t, th, "PY", "py-fiscalia-cyber")
			b.get(refPath(oref.ID))
			pg = b.post(refPath(oref.ID)+"/decline", url.Values{"reason": {"The suspect lives in Bolivia."}, "country": {"bo"}})
			if pg.status != http.StatusOK {
				t.Fatalf("decline: %d %s", pg.status, clip(pg.body))
			}
			got = th.referralOf(other, "py-fiscalia-cyber")
			if got.State != guardian.ReferralRerouted || got.Decline == nil || got.Decline.SuggestedCountry != "BO" {
				t.Errorf("after declining: %s %+v", got.State, got.Decline)
			}
			if n := len(agencyEvents(t, th, other, "referral.decline")); n != 1 {
				t.Errorf("%d referral.decline events", n)
			}
		})
	}
}

// TestInboxPagination: the inbox pages with the API's cursor, keeping the
// filters, and its rows refresh alone for htmx.
func TestInboxPagination(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			py := th.addPerson("ana@py.example.org", pyOrg, guardian.RoleAgencyInvestigator)
			var want []int64
			for range 3 {
				_, ref := deliveredTo(t, th, "PY", "py-fiscalia-cyber")
				want = append(want, ref.ID)
			}
			b := th.browser()
			b.signIn(py)
			pg := b.get("/referrals?limit=2&state=delivered")
			first := referralLinks(pg.body)
			if len(first) != 2 {
				t.Fatalf("first page: %v", first)
			}
			m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(pg.body)
			if m == nil {
				t.Fatalf("no next page link: %s", clip(pg.body))
			}
			next := strings.ReplaceAll(m[1], "&amp;", "&")
			if u := mustURL(t, next); u.Query().Get("state") != "delivered" || u.Query().Get("limit") != "2" || u.Query().Get("cursor") == "" {
				t.Errorf("next link %s", next)
			}
			pg = b.get(next)
			second := referralLinks(pg.body)
			all := append(slices.Clone(first), second...)
			slices.Sort(all)
			if !slices.Equal(all, want) {
				t.Errorf("pages %v + %v, want %v", first, second, want)
			}
			if strings.Contains(pg.body, `rel="next"`) {
				t.Error("a next link on the last page")
			}
			rows := b.fetch("/referrals?limit=2&state=delivered", http.Header{"Hx-Request": {"true"}, "Hx-Target": {"inbox-rows"}})
			if rows.status != http.StatusOK || strings.Contains(rows.body, "<html") || !strings.HasPrefix(strings.TrimSpace(rows.body), "<tr") || len(referralLinks(rows.body)) != 2 {
				t.Errorf("htmx rows (%d): %s", rows.status, clip(rows.body))
			}
			if pg := b.get("/referrals"); !strings.Contains(pg.body, `hx-trigger="every 20s"`) {
				t.Error("the inbox does not refresh itself")
			}
		})
	}
}

// TestSupervisionAndLiaison: an agency supervisor sees the agency's
// referrals by state, overdue first; a liaison office sees its countries
// and the escalations waiting on it.
func TestSupervisionAndLiaison(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			sup := th.addPerson("sara@py.example.org", pyOrg, guardian.RoleAgencySupervisor)
			inv := th.addPerson("ana@py.example.org", pyOrg, guardian.RoleAgencyInvestigator)
			lo := th.addPerson("luis@lo.example.org", loOrg, guardian.RoleLiaisonOfficer)
			_, ref := deliveredTo(t, th, "PY", "py-fiscalia-cyber")

			bs := th.browser()
			bs.signIn(sup)
			pg := bs.get("/supervision")
			if pg.status != http.StatusOK || !slices.Contains(referralLinks(pg.body), ref.ID) {
				t.Fatalf("supervision (%d): %s", pg.status, clip(pg.body))
			}
			if !strings.Contains(pg.body, "No referral is overdue.") {
				t.Error("an overdue referral before its deadline")
			}
			bi := th.browser()
			bi.signIn(inv)
			if pg := bi.get("/supervision"); pg.status != http.StatusForbidden {
				t.Errorf("an investigator's supervision page: %d", pg.status)
			}

			bl := th.browser()
			bl.signIn(lo)
			pg = bl.get("/liaison")
			if pg.status != http.StatusOK || !strings.Contains(pg.body, "Paraguay (PY)") || !strings.Contains(pg.body, "Supports Paraguay Attorney General") {
				t.Fatalf("liaison page (%d): %s", pg.status, clip(pg.body))
			}
			if slices.Contains(referralLinks(pg.body), ref.ID) {
				t.Fatal("the liaison office sees the referral before it escalated")
			}

			// The deadline passes unacknowledged: the referral escalates to
			// the office, and is overdue on the board.
			th.clock.Advance(time.Until(ref.Deadline) + time.Minute)
			ev := systemEvent("referral.escalate", guardian.CategoryDisclosure)
			ev.Recipients = []string{"lo-buenos-aires"}
			if _, ok, err := th.hub.Store.EscalateReferral(th.ctx, ref.ID, guardian.EscalationLiaison, "lo-buenos-aires", ev); err != nil || !ok {
				t.Fatalf("escalate: %v %v", ok, err)
			}
			bl = th.browser()
			bl.signIn(lo)
			pg = bl.get("/liaison")
			esc := pg.body[strings.Index(pg.body, "Escalations waiting on you"):]
			esc = esc[:strings.Index(esc, "</table>")]
			if !slices.Contains(referralLinks(esc), ref.ID) {
				t.Errorf("the escalation is not waiting on the office: %s", clip(pg.body))
			}
			if pg := bl.get(refPath(ref.ID)); pg.status != http.StatusOK || strings.Contains(pg.body, "/acknowledge\"") {
				t.Errorf("the office's view of the escalated referral: %d", pg.status)
			}
			bs = th.browser()
			bs.signIn(sup)
			pg = bs.get("/supervision")
			overdue := pg.body[strings.Index(pg.body, `id="overdue-heading"`):]
			overdue = overdue[:strings.Index(overdue, "</table>")]
			if !slices.Contains(referralLinks(overdue), ref.ID) || !strings.Contains(overdue, "overdue by") {
				t.Errorf("the overdue referral is not first: %s", clip(overdue))
			}
		})
	}
}
