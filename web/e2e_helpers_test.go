package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/guardian-network/guardian/internal/browsertest"
	"github.com/guardian-network/guardian/web"
)

// The end-to-end tests drive a real Chromium (internal/browsertest) over
// the pages of a whole hub. Every distinct URL the browser reaches is
// checked once by axe-core (no serious or critical violation) and weighed
// (HTML, CSS and JavaScript under e2eWeightBudget compressed); after every
// page, the console must hold no error: no script failure and no refusal
// of the Content-Security-Policy.

// e2eStepTimeout bounds one browser step (a navigation, a click and the page
// it loads, a wait for text) so that a broken page fails in seconds.
const e2eStepTimeout = 20 * time.Second

// e2eWeightBudget is what one page may weigh compressed, with its CSS and
// JavaScript (issue 11: under 100 KB).
const e2eWeightBudget = 100 * 1000

// e2eScreenshotDir is where GUARDIAN_SCREENSHOTS=1 saves the pages'
// pictures for the documentation, from the test's directory (web/).
var e2eScreenshotDir = filepath.Join("..", "docs", "screenshots")

// e2eSession is one browser, with one tab, on the test hub.
type e2eSession struct {
	t    *testing.T
	th   *testHub
	tab  context.Context
	b    *browsertest.Browser
	base string // the hub's URL on the host localhost

	// checked holds the URLs (path and query) that axe checked and that
	// were weighed, so each is done once.
	checked map[string]bool
	weights *[]e2eWeight
	assets  map[string]int64 // static file URL → bytes on the wire, gzip
	http    *http.Client
}

// e2eWeight is what one page weighs compressed.
type e2eWeight struct {
	Kind, URL    string
	HTML, Assets int64 // gzip bytes
	Files        int   // CSS and JavaScript files
}

func (w e2eWeight) Total() int64 { return w.HTML + w.Assets }

// newE2ESession starts a browser (skipping the test without Chromium) on th.
// weights collects the page weights of every session of a test.
func newE2ESession(t *testing.T, th *testHub, weights *[]e2eWeight, checked map[string]bool) *e2eSession {
	t.Helper()
	tab, b := browsertest.New(t)
	u := mustURL(t, th.URL())
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	// WebAuthn needs a valid relying party id: localhost, not 127.0.0.1
	// (the hub listens on the latter, and localhost resolves to it).
	s := &e2eSession{t: t, th: th, tab: tab, b: b, base: "http://localhost:" + port, checked: checked, weights: weights,
		assets: make(map[string]int64), http: &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.acceptDialogs()
	return s
}

// acceptDialogs answers every JavaScript dialog of the tab with OK: a
// button with data-confirm asks window.confirm before it acts, and in a
// headless browser nobody else would answer.
func (s *e2eSession) acceptDialogs() {
	dialogs := make(chan struct{}, 8)
	if err := chromedp.Listen(s.tab, func(ev any) {
		if _, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		s.t.Fatalf("listen for dialogs: %v", err)
	}
	ctx, cancel := context.WithCancel(s.tab)
	s.t.Cleanup(cancel)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialogs:
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				_, _ = chromedp.Call(cctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
				ccancel()
			}
		}
	}()
}

// step returns a context for one step of the test.
func (s *e2eSession) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.tab, e2eStepTimeout)
}

// run runs browser actions as one step, failing the test on an error.
func (s *e2eSession) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.t.Fatalf("%s: %v%s", what, err, s.whereAmI())
	}
}

// whereAmI describes the tab's page for a failure message.
func (s *e2eSession) whereAmI() string {
	ctx, cancel := context.WithTimeout(s.tab, 3*time.Second)
	defer cancel()
	loc, _ := browsertest.Location(ctx)
	main, _ := browsertest.Text(ctx, "main")
	return fmt.Sprintf("\n  at %s\n  main shows: %.600q", loc, main)
}

// visit opens path in the tab and checks the page.
func (s *e2eSession) visit(path string) {
	s.t.Helper()
	s.run("open "+path, chromedp.Navigate(s.base+path))
	s.checkPage()
}

// clickToPage clicks the element and waits for the page that it loads
// (a form's answer, a link's page, an htmx redirect), then checks it.
func (s *e2eSession) clickToPage(selector string) {
	s.t.Helper()
	s.clickAndWait(selector)
	s.checkPage()
}

// clickAndWait clicks the element and waits for the page that it loads,
// without checking it.
func (s *e2eSession) clickAndWait(selector string) {
	s.t.Helper()
	s.run("click "+selector+" and wait for the next page", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(selector)))(ctx, t)
		return err
	}))
}

// click clicks the element and does not wait for a page.
func (s *e2eSession) click(selector string) {
	s.t.Helper()
	s.run("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// typeInto types text into a field, key by key, as a person would.
func (s *e2eSession) typeInto(selector, text string) {
	s.t.Helper()
	// Empty the field first (chromedp.Clear fails on an empty textarea,
	// SetValue on "").
	s.eval(fmt.Sprintf(`document.querySelector(%s).value = ""`, e2eJS(selector)))
	s.run("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text))
	if got := s.eval(fmt.Sprintf(`document.querySelector(%s).value`, e2eJS(selector))); got != text {
		s.t.Fatalf("typed %q into %s, which holds %q", text, selector, got)
	}
}

// choose selects the option of value in a <select>.
func (s *e2eSession) choose(selector, value string) {
	s.t.Helper()
	s.run("choose "+value+" in "+selector, chromedp.SetValue(chromedp.CSS(selector), value))
}

// waitText waits until the element shows text.
func (s *e2eSession) waitText(selector, text string) {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	if err := browsertest.WaitText(ctx, selector, text); err != nil {
		s.t.Fatalf("%v%s", err, s.whereAmI())
	}
}

// waitFor waits until a JavaScript expression is true on the tab's page.
func (s *e2eSession) waitFor(what, expr string) {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("waiting for %s: %v (last error %v)%s", what, ctx.Err(), err, s.whereAmI())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkConsole fails the test on console errors since the last check: a
// step that changed the page without loading one (htmx) is checked too.
func (s *e2eSession) checkConsole(what string) {
	s.t.Helper()
	if errs := s.b.ConsoleErrors(); len(errs) > 0 {
		s.t.Errorf("console errors after %s:\n  %s", what, strings.Join(errs, "\n  "))
		s.b.ResetConsoleErrors()
	}
}

// text returns what the element shows, or "" when none matches.
func (s *e2eSession) text(selector string) string {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	got, err := browsertest.Text(ctx, selector)
	if err != nil {
		return ""
	}
	return got
}

// eval evaluates a JavaScript expression through the DevTools protocol
// (which the page's CSP does not govern) and returns its JSON value.
func (s *e2eSession) eval(expr string) any {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		s.t.Fatalf("evaluate %s: %v%s", expr, err, s.whereAmI())
	}
	return v
}

// evalStrings evaluates an expression whose value is a list of strings.
func (s *e2eSession) evalStrings(expr string) []string {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
	if err != nil {
		s.t.Fatalf("evaluate %s: %v%s", expr, err, s.whereAmI())
	}
	return v
}

// exists reports whether an element matches the selector now.
func (s *e2eSession) exists(selector string) bool {
	s.t.Helper()
	return s.eval(fmt.Sprintf(`document.querySelector(%s) !== null`, e2eJS(selector))).(bool)
}

// attr returns an attribute of the first element matching selector.
func (s *e2eSession) attr(selector, name string) string {
	s.t.Helper()
	v := s.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? (e.getAttribute(%s) || "") : ""; })()`,
		e2eJS(selector), e2eJS(name)))
	return v.(string)
}

func e2eJS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// location returns the tab's URL.
func (s *e2eSession) location() *url.URL {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	loc, err := browsertest.Location(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return mustURL(s.t, loc)
}

// wantPath fails the test unless the tab is on path (a pattern with
// {id} for a number).
func (s *e2eSession) wantPath(pattern string) {
	s.t.Helper()
	if got := s.location().Path; e2ePageKind(got) != pattern {
		s.t.Fatalf("on %s, want %s%s", got, pattern, s.whereAmI())
	}
}

var e2eIDSegment = regexp.MustCompile(`/[0-9]+(/|$)`)

// e2ePageKind is a path with its numbers as {id}: the pages of one
// template, whose heaviest state the test reports.
func e2ePageKind(path string) string {
	for e2eIDSegment.MatchString(path) {
		path = e2eIDSegment.ReplaceAllString(path, "/{id}$1")
	}
	return path
}

// checkPage checks the tab's page: no console error (script failure or
// CSP refusal) ever; and, the first time its URL is seen, no serious or
// critical accessibility violation, and its weight. A URL, not a path:
// one path shows different forms as a referral moves on (the prompt, the
// content, the outcome form), and each state is checked.
func (s *e2eSession) checkPage() {
	s.t.Helper()
	loc := s.location()
	s.checkConsole(loc.Path)
	key := loc.Path + "?" + loc.RawQuery
	if s.checked[key] {
		return
	}
	s.checked[key] = true
	s.axe(loc.RequestURI())
	s.weigh(e2ePageKind(loc.Path), loc)
}

// checkAgain checks the tab's page by axe and weighs it even if its URL
// was checked before: the same URL in another state (a sign-in's second
// step that now offers a passkey).
func (s *e2eSession) checkAgain(what string) {
	s.t.Helper()
	loc := s.location()
	s.checkConsole(what)
	s.axe(what)
	s.weigh(e2ePageKind(loc.Path), loc)
}

// axe runs axe-core on the tab's page.
func (s *e2eSession) axe(kind string) {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	t0 := time.Now()
	vs, err := browsertest.Axe(ctx)
	if err != nil {
		s.t.Fatalf("axe on %s: %v", kind, err)
	}
	took := time.Since(t0)
	if serious := browsertest.SeriousViolations(vs); len(serious) > 0 {
		var b strings.Builder
		for _, v := range serious {
			b.WriteString("\n  " + strings.ReplaceAll(v.String(), "\n", "\n  "))
		}
		s.t.Errorf("axe: %d serious or critical violations on %s:%s", len(serious), kind, b.String())
		return
	}
	s.t.Logf("axe: %s: %d violations, none serious or critical (%v)", kind, len(vs), took.Round(time.Millisecond))
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			s.t.Logf("  axe, not blocking: %s (%s): %s, %d elements", v.ID, v.Impact, v.Help, len(v.Nodes))
		}
	}
}

// weigh fetches the page again with the tab's cookies, and every CSS and
// JavaScript file it loads, and records their compressed size: the HTML
// gzip-compressed here (as a compressing proxy would send it), the
// static files as the hub sends them to a browser that takes gzip.
func (s *e2eSession) weigh(kind string, loc *url.URL) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+loc.RequestURI(), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Cookie", s.cookieHeader())
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatalf("weigh %s: %v", kind, err)
	}
	html, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		s.t.Fatalf("weigh %s: %v", kind, err)
	}
	w := e2eWeight{Kind: kind, URL: loc.RequestURI()}
	if resp.StatusCode != http.StatusOK {
		// A page that answered a form (the recovery codes after
		// enrolment) cannot be asked for again: weigh its document as the
		// browser holds it, which is within a few bytes of what came.
		dom := s.eval(`'<!doctype html>' + document.documentElement.outerHTML`).(string)
		s.t.Logf("weigh %s: a second GET answers %d; weighing the tab's document", w.URL, resp.StatusCode)
		html = []byte(dom)
		w.URL += " (answer to a form)"
	}
	w.HTML = e2eGzipSize(html)
	for _, src := range s.evalStrings(`Array.from(document.querySelectorAll('link[rel~="stylesheet"][href], script[src]'), e => e.href || e.src)`) {
		w.Assets += s.assetSize(src)
		w.Files++
	}
	s.t.Logf("weight: %s: %.1f KB (HTML %.1f KB + %d CSS/JS files %.1f KB, gzip)",
		w.URL, float64(w.Total())/1000, float64(w.HTML)/1000, w.Files, float64(w.Assets)/1000)
	if w.Total() >= e2eWeightBudget {
		s.t.Errorf("weight: %s weighs %d bytes compressed, over the %d budget", w.URL, w.Total(), e2eWeightBudget)
	}
	*s.weights = append(*s.weights, w)
}

// assetSize is the bytes the hub sends for a static file to a browser
// that takes gzip (read once per URL).
func (s *e2eSession) assetSize(src string) int64 {
	s.t.Helper()
	if n, ok := s.assets[src]; ok {
		return n
	}
	// Ask the hub itself: the tab's URL names localhost.
	req, err := http.NewRequest(http.MethodGet, src, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatalf("fetch %s: %v", src, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("fetch %s: %d %v", src, resp.StatusCode, err)
	}
	n := int64(len(body))
	if resp.Header.Get("Content-Encoding") != "gzip" {
		s.t.Errorf("%s is sent uncompressed to a browser that takes gzip", src)
		n = e2eGzipSize(body)
	}
	s.assets[src] = n
	return n
}

func e2eGzipSize(b []byte) int64 {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return int64(buf.Len())
}

// cookieHeader is the tab's cookies for the hub, as a Cookie header.
func (s *e2eSession) cookieHeader() string {
	s.t.Helper()
	ctx, cancel := s.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.base + "/"}})
	if err != nil {
		s.t.Fatalf("read the tab's cookies: %v", err)
	}
	var parts []string
	for _, c := range res.Cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// header fetches the tab's page again with its cookies and returns the
// answer's headers (the Content-Language a person's browser got).
func (s *e2eSession) header() http.Header {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+s.location().RequestURI(), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Cookie", s.cookieHeader())
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header
}

// screenshot saves the page as docs/screenshots/name.png when
// GUARDIAN_SCREENSHOTS=1.
func (s *e2eSession) screenshot(name string) {
	s.t.Helper()
	if os.Getenv("GUARDIAN_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := s.step()
	defer cancel()
	// Let images and fonts finish, so the picture is the page a person sees.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`Promise.all(Array.from(document.images, i => i.decode().catch(() => null))).then(() => true)`, chromedp.EvalAwaitPromise))
	path := filepath.Join(e2eScreenshotDir, name+".png")
	if err := browsertest.Screenshot(ctx, path); err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	s.t.Logf("screenshot: %s", path)
}

// pressKey sends one key (kb.Tab, kb.Enter) to the focused element.
func (s *e2eSession) pressKey(key string) {
	s.t.Helper()
	s.run("press "+key, chromedp.KeyEvent(key))
}

// keyToPage presses a key (down and up, no char event) and waits for the
// page it loads, without checking it.
func (s *e2eSession) keyToPage(key, code string, vk int64) {
	s.t.Helper()
	s.run("press "+key+" and wait for the next page", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, e2eRawKey(key, code, vk))(ctx, t)
		return err
	}))
}

// e2eRawKey sends a key down and up with no char event, for Enter on a link.
func e2eRawKey(key, code string, vk int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// e2eHasRoute reports whether the pages serve "METHOD /path" (a pattern of
// routes.go): the workspace's pages land one area at a time, and the test
// covers those that exist.
func e2eHasRoute(route string) bool {
	return slices.Contains(web.Routes(), route)
}

// signIn signs p in through the real forms: the name and password typed
// on /signin, then a TOTP code on /signin/factor.
func (s *e2eSession) signIn(p *person) {
	s.t.Helper()
	s.password(p)
	s.typeInto("#code", s.th.code(p))
	s.clickAndWait(`form[action="/signin/factor"] button[type="submit"]`)
	s.landed(p)
}

// password gives p's name and password on /signin, signing out first
// whoever is still signed in (a step that failed half-way), and waits for
// the second step.
func (s *e2eSession) password(p *person) {
	s.t.Helper()
	s.passwordTo(p, "/signin/factor")
}

// passwordTo is password for a person whose second step is next.
func (s *e2eSession) passwordTo(p *person, next string) {
	s.t.Helper()
	s.visit("/signin")
	if s.location().Path != "/signin" {
		s.signOut()
	}
	s.typeInto("#name", p.Name)
	s.typeInto("#password", password)
	s.clickToPage(`form[action="/signin"] button[type="submit"]`)
	s.wantPath(next)
}

// landed checks the first page after a sign-in: a page of the person's
// work, which is checked when it exists yet.
func (s *e2eSession) landed(p *person) {
	s.t.Helper()
	loc := s.location()
	if strings.HasPrefix(loc.Path, "/signin") {
		s.t.Fatalf("%s did not sign in: on %s%s", p.Name, loc, s.whereAmI())
	}
	if !e2eHasRoute("GET " + loc.Path) {
		s.t.Logf("%s signed in and landed on %s, which is no page yet", p.Name, loc.Path)
		s.b.ResetConsoleErrors()
		return
	}
	s.checkPage()
}

// signOut signs out with the layout's button.
func (s *e2eSession) signOut() {
	s.t.Helper()
	s.clickToPage(`form[action="/signout"] button[type="submit"]`)
	if loc := s.location(); loc.Path != "/signin" || loc.Query().Get("reason") != "signed-out" {
		s.t.Fatalf("after signing out: on %s%s", loc, s.whereAmI())
	}
}
