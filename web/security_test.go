package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/web"
)

// wantHeaders are the headers every answer of the pages carries.
var wantHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

func checkHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range wantHeaders {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "text/html") && h.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: a page's Cache-Control is %q, want no-store", what, h.Get("Cache-Control"))
	}
}

// TestSecurityHeaders asks every route of the pages, signed out and
// signed in, with and without a valid id, and checks the headers of
// every answer, whatever its status.
func TestSecurityHeaders(t *testing.T) {
	th := openHub(t, "sqlite")
	p := th.addPerson("hdr@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
	anon := th.browser()
	anon.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	signed := th.browser()
	signed.signIn(p)
	signed.http.CheckRedirect = anon.http.CheckRedirect
	fill := regexp.MustCompile(`\{[^}]+\}`)
	paths := []string{"/static/guardian.css", "/static/htmx.min.js", "/static/nothing.js", "/favicon.ico", "/no/such/page"}
	for _, rt := range web.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		path = strings.TrimSuffix(fill.ReplaceAllString(path, "1"), "1$")
		if path == "/" || path == "" {
			path = "/"
		}
		for _, b := range []*browser{anon, signed} {
			var resp *http.Response
			var err error
			if method == http.MethodGet {
				resp, err = b.http.Get(th.URL() + path)
			} else {
				resp, err = b.http.PostForm(th.URL()+path, url.Values{"csrf": {b.csrf}})
			}
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			checkHeaders(t, rt, resp.Header)
		}
	}
	for _, path := range paths {
		resp, err := anon.http.Get(th.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		checkHeaders(t, path, resp.Header)
	}
}

// TestNoInlineCode keeps the templates within the Content-Security-Policy:
// no inline script or style, no event handler attributes, no htmx
// attributes that evaluate code.
func TestNoInlineCode(t *testing.T) {
	names, _ := filepath.Glob("templates/*.html")
	more, _ := filepath.Glob("templates/*/*.html")
	names = append(names, more...)
	if len(names) < 5 {
		t.Fatalf("found %d templates", len(names))
	}
	bad := map[string]*regexp.Regexp{
		"inline script":      regexp.MustCompile(`<script(?:\s+[^>]*)?>\s*[^<\s]`),
		"script without src": regexp.MustCompile(`<script(?:(?:\s+[a-z-]+(?:="[^"]*")?)*)>`),
		"style element":      regexp.MustCompile(`<style`),
		"style attribute":    regexp.MustCompile(`\sstyle=`),
		"event handler":      regexp.MustCompile(`\son[a-z]+=`),
		"hx-on":              regexp.MustCompile(`hx-on`),
		"javascript: URL":    regexp.MustCompile(`(?i)javascript:`),
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for what, re := range bad {
			for _, m := range re.FindAllString(string(b), -1) {
				if what == "script without src" && strings.Contains(m, "src=") {
					continue
				}
				t.Errorf("%s: %s: %q", name, what, m)
			}
		}
	}
}

// TestSignInForms checks the sign-in forms' own CSRF defence (a form
// token bound to a cookie) and the lockout's clear message.
func TestSignInForms(t *testing.T) {
	th := openHub(t, "sqlite")
	p := th.addPerson("csrf@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
	b := th.browser()
	b.get("/signin")
	pg := b.post("/signin", url.Values{"name": {p.Name}, "password": {password}})
	if pg.status != http.StatusForbidden || strings.Contains(pg.url, "factor") {
		t.Errorf("a sign-in post without the form token: %d at %s", pg.status, pg.url)
	}
	pg = b.post("/signin", url.Values{"name": {p.Name}, "password": {password}, "form_token": {"forged-forged-forged-forged-forged-forged-12"}})
	if pg.status != http.StatusForbidden {
		t.Errorf("a sign-in post with a forged form token: %d", pg.status)
	}
	// A form too large to read is answered as such, not as a forgery.
	big := url.Values{"name": {strings.Repeat("a", 100<<10)}, "password": {password}, "form_token": {"x"}}
	if pg := b.post("/signin", big); pg.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a sign-in form of 100 KiB: %d, want 413", pg.status)
	}
	// Five wrong passwords lock the account, and the page says so.
	for range 5 {
		tok := formTokenRE.FindStringSubmatch(b.get("/signin").body)[1]
		pg = b.post("/signin", url.Values{"name": {p.Name}, "password": {"wrong password!"}, "form_token": {tok}})
	}
	if pg.status != http.StatusUnauthorized || !strings.Contains(pg.body, "locked") {
		t.Errorf("after five wrong passwords: %d %s", pg.status, clip(pg.body))
	}
	tok := formTokenRE.FindStringSubmatch(b.get("/signin").body)[1]
	pg = b.post("/signin", url.Values{"name": {p.Name}, "password": {password}, "form_token": {tok}})
	if pg.status != http.StatusUnauthorized || !strings.Contains(pg.body, "locked") || strings.Contains(pg.url, "factor") {
		t.Errorf("the right password on a locked account: %d at %s", pg.status, pg.url)
	}
}

// TestStaticWeight keeps the CSS and JavaScript every page loads small:
// issue 11 allows 100 KB compressed for a page's HTML, CSS and scripts
// together, and the browser test measures whole pages.
func TestStaticWeight(t *testing.T) {
	total := 0
	names, _ := filepath.Glob("static/*")
	for _, name := range names {
		if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		t.Logf("%s: %d bytes, %d compressed", name, len(b), z.Len())
		total += z.Len()
	}
	if total > 60<<10 {
		t.Errorf("the static CSS and scripts weigh %d bytes compressed, leaving too little of 100 KB for a page", total)
	}
}
