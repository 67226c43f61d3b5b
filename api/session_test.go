package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/storetest"
)

var (
	deOrg  = guardian.AgencyOrganisation("de-bka-cac")
	nlOrg  = guardian.AgencyOrganisation("nl-police-avc")
	hubOrg = guardian.HubOrganisation("demo-hub")
)

func TestSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)

		t.Run("TOTP", func(t *testing.T) {
			c := f.signIn(p)
			var m struct {
				Kind  string
				ID    int64
				Roles []string
			}
			c.do("GET", "/me", nil).want(t, http.StatusOK).decode(t, &m)
			if m.Kind != "user" || m.ID != p.ID || len(m.Roles) != 1 || m.Roles[0] != "agency-investigator" {
				t.Errorf("me = %+v", m)
			}
		})

		t.Run("CookieAttributes", func(t *testing.T) {
			f.clock.Advance(30 * time.Second)
			res := f.anonymous().do("POST", "/session", map[string]string{"name": p.Name, "password": password, "totp": p.totp.Code(f.clock.Now())})
			res.want(t, http.StatusCreated)
			sc := res.resp.Header.Get("Set-Cookie")
			for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
				if !strings.Contains(sc, attr) {
					t.Errorf("Set-Cookie %q lacks %s", sc, attr)
				}
			}
		})

		t.Run("ReplayedCode", func(t *testing.T) {
			f.clock.Advance(30 * time.Second)
			code := p.totp.Code(f.clock.Now())
			body := map[string]string{"name": p.Name, "password": password, "totp": code}
			f.anonymous().do("POST", "/session", body).want(t, http.StatusCreated)
			res := f.anonymous().do("POST", "/session", body).want(t, http.StatusUnauthorized)
			if _, reason := res.errReason(t); reason != "" && reason != "code-used" {
				t.Errorf("reason %q", reason)
			}
		})

		t.Run("RecoveryCode", func(t *testing.T) {
			body := map[string]string{"name": p.Name, "password": password, "recoveryCode": p.recovery[0]}
			var s struct{ RecoveryCodeUsed bool }
			f.anonymous().do("POST", "/session", body).want(t, http.StatusCreated).decode(t, &s)
			if !s.RecoveryCodeUsed {
				t.Error("recoveryCodeUsed false")
			}
			// Single use.
			f.anonymous().do("POST", "/session", body).want(t, http.StatusUnauthorized)
		})

		t.Run("BadRequests", func(t *testing.T) {
			a := f.anonymous()
			a.do("POST", "/session", map[string]string{"name": p.Name, "password": password}).want(t, http.StatusBadRequest)
			a.do("POST", "/session", `{"name":`).want(t, http.StatusBadRequest)
			a.do("POST", "/session", map[string]any{"name": p.Name, "password": password, "totp": "123456", "extra": 1}).want(t, http.StatusBadRequest)
			a.do("POST", "/session", strings.Repeat(" ", 70<<10)+"{}").want(t, http.StatusRequestEntityTooLarge)
			a.do("GET", "/me", nil).want(t, http.StatusUnauthorized)
			a.do("PUT", "/session", nil).want(t, http.StatusNotFound)
			a.do("GET", "/nothing/here", nil).want(t, http.StatusNotFound)
		})

		t.Run("UnknownNameCountedNotLogged", func(t *testing.T) {
			before := countEvents(t, f, "api.signin")
			for range 6 {
				f.anonymous().do("POST", "/session", map[string]string{"name": "nobody@example.org", "password": "whatever-it-is", "totp": "123456"}).
					want(t, http.StatusUnauthorized)
			}
			if got := countEvents(t, f, "api.signin"); got != before {
				t.Errorf("%d events before the window ends, want %d", got, before)
			}
			f.h.Close(f.ctx) // records the bursts, as at the end of a window
			evs := events(t, f, "api.signin")
			if len(evs) != before+1 || !strings.HasPrefix(evs[len(evs)-1].ObjectID, "count=6 ") || strings.Contains(evs[len(evs)-1].Actor.Name, "nobody") {
				t.Errorf("after the window: %d events, last %+v", len(evs), evs[len(evs)-1])
			}
		})
	})
}

func TestLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("locked@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		wrong := map[string]string{"name": p.Name, "password": "not the password at all", "totp": "000000"}
		for i := range identity.DefaultLockout.MaxFailures {
			res := f.anonymous().do("POST", "/session", wrong).want(t, http.StatusUnauthorized)
			_, reason := res.errReason(t)
			if last := i == identity.DefaultLockout.MaxFailures-1; last != (reason == "locked") {
				t.Errorf("failure %d: reason %q", i+1, reason)
			}
		}
		// The right password does not help while locked.
		f.clock.Advance(30 * time.Second)
		right := map[string]string{"name": p.Name, "password": password, "totp": p.totp.Code(f.clock.Now())}
		if _, reason := f.anonymous().do("POST", "/session", right).want(t, http.StatusUnauthorized).errReason(t); reason != "locked" {
			t.Errorf("locked account: reason %q", reason)
		}
		u, err := f.store.FindUserByID(f.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.LockedUntil == nil || u.LockedUntil.Sub(f.clock.Now()) < 9*time.Minute {
			t.Errorf("locked until %v, want at least 10 minutes", u.LockedUntil)
		}
		if n := countEvents(t, f, "user.lock"); n != 1 {
			t.Errorf("%d user.lock events", n)
		}
		// Attempts while locked are counted, not logged one by one.
		failuresBefore := countEvents(t, f, "user.signin")
		for range 3 {
			f.anonymous().do("POST", "/session", wrong).want(t, http.StatusUnauthorized)
		}
		if n := countEvents(t, f, "user.signin"); n != failuresBefore {
			t.Errorf("attempts on a locked account added %d events", n-failuresBefore)
		}
		f.h.Close(f.ctx)
		var counted *guardian.AuditEvent
		for _, ev := range events(t, f, "api.signin") {
			if ev.Reason == "locked" {
				counted = ev
			}
		}
		if counted == nil || counted.Actor.ID != id(p.ID) || !strings.HasPrefix(counted.ObjectID, "count=4 ") {
			t.Errorf("attempts on the locked account recorded as %+v", counted)
		}
		// Time lifts it.
		f.clock.Advance(identity.DefaultLockout.LockFor)
		f.signIn(p)
	})
}

func TestSessionPolicy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("idle@de.example.org", deOrg, guardian.RoleAgencyInvestigator)

		t.Run("IdleLock", func(t *testing.T) {
			c := f.signIn(p)
			f.clock.Advance(31 * time.Minute)
			if _, reason := c.do("GET", "/me", nil).want(t, http.StatusUnauthorized).errReason(t); reason != "session-locked" {
				t.Errorf("reason %q", reason)
			}
		})

		t.Run("AbsoluteEnd", func(t *testing.T) {
			c := f.signIn(p)
			for range 25 { // active all along, every 29 minutes
				f.clock.Advance(29 * time.Minute)
				if res := c.do("GET", "/me", nil); res.status != http.StatusOK {
					if _, reason := res.errReason(t); reason != "session-expired" {
						t.Fatalf("reason %q", reason)
					}
					if f.clock.Now().Sub(start) < 12*time.Hour {
						t.Fatalf("session ended early")
					}
					return
				}
			}
			t.Fatal("session outlived 12 hours")
		})

		t.Run("SignOut", func(t *testing.T) {
			c := f.signIn(p)
			c.do("DELETE", "/session", nil).want(t, http.StatusNoContent)
			c.do("GET", "/me", nil).want(t, http.StatusUnauthorized)
		})
	})
}

func TestCSRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("csrf@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		_, refs := f.report([]string{"DE"})
		ref := f.referralTo(refs, "de-bka-cac")
		c := f.signIn(p)
		bare := *c
		bare.noCSRF = true
		if _, reason := bare.do("POST", "/referrals/"+id(ref.ID)+"/acknowledge", nil).want(t, http.StatusForbidden).errReason(t); reason != "csrf" {
			t.Errorf("reason %q", reason)
		}
		wrong := bare.with("Guardian-CSRF-Token", "forged")
		wrong.do("POST", "/referrals/"+id(ref.ID)+"/acknowledge", nil).want(t, http.StatusForbidden)
		bare.do("DELETE", "/session", nil).want(t, http.StatusForbidden)
		// GETs need none; the token's request is accepted.
		bare.do("GET", "/referrals/"+id(ref.ID), nil).want(t, http.StatusOK)
		c.do("POST", "/referrals/"+id(ref.ID)+"/acknowledge", nil).want(t, http.StatusOK)
	})
}

func TestTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		secret, tok := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		c := f.tokenClient(secret)
		var m struct{ Kind string }
		c.do("GET", "/me", nil).want(t, http.StatusOK).decode(t, &m)
		if m.Kind != "token" {
			t.Errorf("kind %q", m.Kind)
		}
		// Token use is recorded once an hour, not per request.
		c.do("GET", "/referrals", nil).want(t, http.StatusOK)
		if n := countEvents(t, f, "token.use"); n != 1 {
			t.Errorf("%d token.use events after two requests, want 1", n)
		}
		f.clock.Advance(61 * time.Minute)
		c.do("GET", "/me", nil).want(t, http.StatusOK)
		if n := countEvents(t, f, "token.use"); n != 2 {
			t.Errorf("%d token.use events an hour later, want 2", n)
		}
		// A token cannot sign out a session, nor open content.
		c.do("DELETE", "/session", nil).want(t, http.StatusUnauthorized)

		f.tokenClient("gdn_notatoken").do("GET", "/me", nil).want(t, http.StatusUnauthorized)
		other, _ := identity.GenerateAPIToken()
		f.tokenClient(other).do("GET", "/me", nil).want(t, http.StatusUnauthorized)

		if err := f.store.RevokeAPIToken(f.ctx, tok.ID, systemEvent("token.revoke", guardian.CategoryPermission)); err != nil {
			t.Fatal(err)
		}
		if msg := errMessage(t, c.do("GET", "/me", nil).want(t, http.StatusUnauthorized)); !strings.Contains(msg, "revoked") {
			t.Errorf("revoked: %q", msg)
		}
		expSecret, _ := f.addToken("de-expiring", deOrg, guardian.RoleAgencyInvestigator)
		f.clock.Advance(31 * 24 * time.Hour)
		if msg := errMessage(t, f.tokenClient(expSecret).do("GET", "/me", nil).want(t, http.StatusUnauthorized)); !strings.Contains(msg, "expired") {
			t.Errorf("expired: %q", msg)
		}
	})
}

func errMessage(t *testing.T, r *result) string {
	t.Helper()
	var e struct{ Error struct{ Message string } }
	r.decode(t, &e)
	return e.Error.Message
}

func events(t *testing.T, f *fixture, action string) []*guardian.AuditEvent {
	t.Helper()
	evs, err := f.store.FindAuditEvents(f.ctx, guardian.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countEvents(t *testing.T, f *fixture, action string) int { return len(events(t, f, action)) }

// TestSecureCookie: over TLS the session cookie is Secure, with the
// __Host- prefix, and it is what authenticates the next request.
func TestSecureCookie(t *testing.T) {
	f := newFixture(t, storetest.SQLite)
	p := f.addUser("tls@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
	srv := httptest.NewTLSServer(f.h)
	defer srv.Close()
	f.clock.Advance(30 * time.Second)
	body, _ := json.Marshal(map[string]string{"name": p.Name, "password": password, "totp": p.totp.Code(f.clock.Now())})
	resp, err := srv.Client().Post(srv.URL+api.Prefix+"/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f.contract.check(t, "POST", "/session", resp, b)
	cks := resp.Cookies()
	if resp.StatusCode != http.StatusCreated || len(cks) != 1 {
		t.Fatalf("%d %s %v", resp.StatusCode, b, cks)
	}
	ck := cks[0]
	if ck.Name != "__Host-guardian-session" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("cookie %+v", ck)
	}
	req, _ := http.NewRequest("GET", srv.URL+api.Prefix+"/me", nil)
	req.AddCookie(ck)
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /me with the cookie: %d", resp.StatusCode)
	}
}

// TestNetworkReload: an agency removed from the network file loses access
// at the reload, its people and its tokens alike, on their next request.
func TestNetworkReload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		secret, _ := f.addToken("de-case-system", deOrg, guardian.RoleAgencyInvestigator)
		session, token := f.signIn(p), f.tokenClient(secret)
		session.do("GET", "/referrals", nil).want(t, http.StatusOK)
		token.do("GET", "/referrals", nil).want(t, http.StatusOK)

		var agencies []*guardian.Agency
		var agreements []*guardian.Agreement
		for _, a := range f.net.Agencies {
			if a.ID != "de-bka-cac" {
				agencies = append(agencies, a)
			}
		}
		for _, a := range f.net.Agreements {
			if a.Agency != "de-bka-cac" {
				agreements = append(agreements, a)
			}
		}
		without, err := guardian.NewNetwork(f.net.Hub, agencies, agreements)
		if err != nil {
			t.Fatal(err)
		}
		f.netNow.Store(without)
		for _, c := range []*client{session, token} {
			res := c.do("GET", "/referrals", nil).want(t, http.StatusUnauthorized)
			if msg := errMessage(t, res); !strings.Contains(msg, "no longer part of the network") {
				t.Errorf("after the reload: %q", msg)
			}
		}
	})
}
