package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestAccount(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			p := th.addPerson("rosa@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"),
				guardian.RoleAgencyInvestigator, guardian.RoleAgencySupervisor)
			// The vetting ends in ten days, the training has ended.
			soon, ended := time.Now().Add(10*24*time.Hour), time.Now().Add(-time.Hour)
			if _, err := th.hub.Store.UpdateUser(th.ctx, p.ID, guardian.UserUpdate{VettingExpiresAt: &soon, TrainingExpiresAt: &ended},
				systemEvent("user.update", guardian.CategoryAlteration)); err != nil {
				t.Fatal(err)
			}
			b := th.browser()
			b.signIn(p)

			pg := b.get("/account")
			body := html.UnescapeString(pg.body)
			for _, want := range []string{"rosa@example.org", "Paraguay Attorney General – Cybercrime Unit (demo)", "agency:py-fiscalia-cyber",
				"Investigator, Agency supervisor", "This ends soon (9 d 23 h left)", "This has ended", "Times are shown in UTC.",
				`id="passkey-register"`, "You have no passkey yet."} {
				if !strings.Contains(body, want) {
					t.Errorf("the account page lacks %q", want)
				}
			}
			if pg.status != http.StatusOK || !strings.Contains(pg.body, `aria-current="page"`) {
				t.Errorf("the account page: %d", pg.status)
			}

			// Every zone offered is one Go knows.
			sel := regexp.MustCompile(`(?s)<select id="account-timezone".*?</select>`).FindString(pg.body)
			opts := regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(sel, -1)
			if len(opts) < 50 {
				t.Fatalf("%d time zones offered", len(opts))
			}
			for _, o := range opts[1:] {
				if _, err := time.LoadLocation(o[1]); err != nil {
					t.Errorf("zone %q: %v", o[1], err)
				}
			}

			// A time zone is stored, and the times are shown in it.
			pg = b.post("/account/timezone", url.Values{"timezone": {"Asia/Tokyo"}})
			if !strings.HasSuffix(pg.url, "/account?notice=timezone-saved") || !strings.Contains(pg.body, "Your time zone was saved.") ||
				!strings.Contains(pg.body, "Times are shown in Asia/Tokyo.") || !strings.Contains(pg.body, "(JST)") {
				t.Errorf("after setting the time zone: %s: %s", pg.url, clip(pg.body))
			}
			if !regexp.MustCompile(`<option value="Asia/Tokyo" selected>`).MatchString(pg.body) {
				t.Error("the time zone is not selected")
			}
			if u, err := th.hub.Store.FindUserByID(th.ctx, p.ID); err != nil || u.TimeZone != "Asia/Tokyo" {
				t.Errorf("stored time zone %q (%v)", u.TimeZone, err)
			}
			found := false
			for _, ev := range auditEvents(t, th, "user.update") {
				found = found || (ev.Reason == "timezone" && ev.Actor.Kind == guardian.ActorUser && ev.Category == guardian.CategoryAlteration)
			}
			if !found {
				t.Error("no user.update event for the time zone")
			}
			for _, bad := range []string{"Mars/Olympus_Mons", "../../etc/passwd", "Local", strings.Repeat("A", 100)} {
				if pg := b.post("/account/timezone", url.Values{"timezone": {bad}}); pg.status != http.StatusBadRequest ||
					!strings.Contains(pg.body, "That is not a known time zone.") {
					t.Errorf("time zone %q: %d", bad, pg.status)
				}
			}
			if u, _ := th.hub.Store.FindUserByID(th.ctx, p.ID); u.TimeZone != "Asia/Tokyo" {
				t.Errorf("a refused zone changed the setting to %q", u.TimeZone)
			}
			// Back to the browser's zone.
			if pg := b.post("/account/timezone", url.Values{"timezone": {""}}); !strings.Contains(pg.url, "notice=timezone-saved") {
				t.Errorf("clearing the zone: %s", pg.url)
			}
			if u, _ := th.hub.Store.FindUserByID(th.ctx, p.ID); u.TimeZone != "" {
				t.Errorf("the zone is %q after clearing it", u.TimeZone)
			}

			// Without a relying party, the page says passkeys are off.
			th.hub.Web.SetRelyingParty(nil)
			if pg := b.get("/account"); !strings.Contains(pg.body, "Passkeys are not available on this hub.") ||
				strings.Contains(pg.body, `id="passkey-register"`) {
				t.Errorf("passkeys off: %s", clip(pg.body))
			}
			if ans := b.postJSON("/account/passkeys/options", b.csrfHeader(), map[string]string{"name": "x"}); ans.status != http.StatusNotFound || ans.Error == "" {
				t.Errorf("options with passkeys off: %d %s", ans.status, ans.raw)
			}
		})
	}
}
