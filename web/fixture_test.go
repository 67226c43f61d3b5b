package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/storetest"
)

// The web pages' tests run against a whole hub (hub.Open, as guardian
// serve opens one) on a real store, over real HTTP on loopback: the pages
// are only as good as the chain and services under them.

// password is every test person's password.
const password = "correct horse battery staple"

// backends are the stores the pages are tested on.
var backends = []string{"sqlite", "postgres"}

// testHub is a hub with the demo network, a reporter, and a clock the
// test moves (sessions, deadlines, TOTP codes).
type testHub struct {
	t        testing.TB
	hub      *hub.Hub
	clock    *mutableClock
	reporter *intaketest.Client
	routed   chan int64
	ctx      context.Context
}

// mutableClock is the hub's clock: real time plus what the test added.
type mutableClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *mutableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *mutableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// openHub opens a hub on kind ("sqlite" or "postgres"), skipping
// PostgreSQL without $GUARDIAN_TEST_POSTGRES unless every test must run.
func openHub(t testing.TB, kind string, opts ...func(*hub.Config)) *testHub {
	t.Helper()
	if kind == "postgres" && os.Getenv(storetest.PostgresEnv) == "" {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			t.Fatalf("%s is not set", storetest.PostgresEnv)
		}
		t.Skipf("%s is not set", storetest.PostgresEnv)
	}
	clock := &mutableClock{}
	th := &testHub{t: t, clock: clock, routed: make(chan int64, 64), ctx: context.Background()}
	cfg := hub.Config{
		Store:       hub.StoreConfig{Data: t.TempDir()},
		Migrate:     true,
		Addr:        "127.0.0.1:0",
		Network:     filepath.Join("..", "examples", "network-demo.yaml"),
		AuditOrigin: "web-test.example.org/audit",
		Logger:      slog.New(slog.DiscardHandler),
		Clock:       clock.Now,
		Routed:      func(id int64) { th.routed <- id },
		ConfigureAPI: func(h *api.Handler) {
			// Tests sign in often from one address.
			h.SignInAddrInterval, h.SignInAddrBurst = time.Millisecond, 1000
		},
	}
	if kind == "postgres" {
		cfg.Store.Database = storetest.PostgresDSN(t)
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := hub.Open(th.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	th.hub = h
	th.reporter = th.addReporter("web-test-service")
	return th
}

func (th *testHub) URL() string { return th.hub.URL() }

func (th *testHub) addReporter(name string) *intaketest.Client {
	th.t.Helper()
	pw := crypto.GeneratePassword()
	hash, err := crypto.HashPassword(pw)
	if err != nil {
		th.t.Fatal(err)
	}
	if err := th.hub.Store.CreateReporter(th.ctx, &guardian.Reporter{Name: name, PasswordHash: hash}, systemEvent("reporter.create", guardian.CategoryPermission)); err != nil {
		th.t.Fatal(err)
	}
	return &intaketest.Client{BaseURL: th.hub.URL() + th.hub.Server.Prefix, User: name, Password: pw}
}

func systemEvent(action string, cat guardian.AuditCategory) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "test"}, Category: cat, Action: action}
}

// person is a test user with their second factor.
type person struct {
	*guardian.User
	totp     *identity.TOTPKey
	recovery []string
}

// addPerson creates a vetted and trained person of org with roles.
func (th *testHub) addPerson(name string, org guardian.Organisation, roles ...guardian.Role) *person {
	th.t.Helper()
	hash, err := identity.HashPassword(password)
	if err != nil {
		th.t.Fatal(err)
	}
	key := identity.GenerateTOTPKey()
	codes, hashes := identity.GenerateRecoveryCodes()
	later := time.Now().Add(365 * 24 * time.Hour)
	email := name
	if !strings.Contains(name, "@") {
		email = name + "@example.org"
	}
	u := &guardian.User{Name: name, DisplayName: name, Email: email, Organisation: org, Roles: roles,
		PasswordHash: hash, TOTPSecret: th.hub.API.MasterKey.SealUserSecret(name, key.Bytes()), RecoveryCodeHashes: hashes,
		VettingExpiresAt: &later, TrainingExpiresAt: &later, TimeZone: "UTC"}
	if err := th.hub.Store.CreateUser(th.ctx, u, systemEvent("user.create", guardian.CategoryPermission)); err != nil {
		th.t.Fatal(err)
	}
	return &person{User: u, totp: key, recovery: codes}
}

// code returns a fresh TOTP code of p: the clock moves on a step first,
// since a code of a step already used is refused.
func (th *testHub) code(p *person) string {
	th.clock.Advance(30 * time.Second)
	return p.totp.Code(th.clock.Now())
}

// testFile is a file attached to a report.
type testFile struct {
	name    string
	content []byte
	viewed  bool // fileViewedByEsp
}

// gradientPNG is a benign generated image: a gradient, w by h.
func gradientPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// reportTo submits, uploads and finishes a report whose person reported
// was located (verified) in country, and waits until it is routed.
func (th *testHub) reportTo(country string, files ...testFile) int64 {
	th.t.Helper()
	ctx := th.ctx
	xml := strings.Replace(intaketest.MinimalReport, "</reporter>", `</reporter>
  <personOrUserReported>
    <espIdentifier>user-web-test</espIdentifier>
    <estimatedLocation verified="true" timestamp="`+time.Now().UTC().Add(-2*time.Hour).Format(time.RFC3339)+`">
      <countryCode>`+country+`</countryCode>
    </estimatedLocation>
  </personOrUserReported>`, 1)
	id, err := th.reporter.Submit(ctx, []byte(xml))
	if err != nil {
		th.t.Fatal(err)
	}
	for _, f := range files {
		resp, err := th.reporter.Upload(ctx, id, f.name, bytes.NewReader(f.content))
		if err != nil {
			th.t.Fatal(err)
		}
		details := strings.Replace(string(intaketest.FileDetails(id, resp.FileID)), "IMG_0001.jpg", f.name, 1)
		if !f.viewed {
			details = strings.Replace(details, "<fileViewedByEsp>true</fileViewedByEsp>", "<fileViewedByEsp>false</fileViewedByEsp>", 1)
		}
		if _, err := th.reporter.FileInfo(ctx, []byte(details)); err != nil {
			th.t.Fatal(err)
		}
	}
	if _, err := th.reporter.Finish(ctx, id); err != nil {
		th.t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-th.routed:
			if got == id {
				return id
			}
		case <-deadline:
			th.t.Fatalf("report %d was not routed", id)
		}
	}
}

// referralOf returns the referral of report to agency.
func (th *testHub) referralOf(reportID int64, agencyID string) *guardian.Referral {
	th.t.Helper()
	refs, err := th.hub.Store.FindReferrals(th.ctx, reportID)
	if err != nil {
		th.t.Fatal(err)
	}
	for _, r := range refs {
		if r.AgencyID == agencyID {
			return r
		}
	}
	th.t.Fatalf("report %d has no referral to %s (%d referrals)", reportID, agencyID, len(refs))
	return nil
}

// browser is a Go HTTP client with cookies, as a browser without
// JavaScript would post the pages' forms.
type browser struct {
	t    testing.TB
	th   *testHub
	http *http.Client
	csrf string // the session's CSRF token, read from the last page
}

func (th *testHub) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: th.t, th: th, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var (
	formTokenRE = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// page is an answer of the pages, read whole.
type page struct {
	status int
	url    string
	header http.Header
	body   string
}

func (b *browser) read(resp *http.Response, err error) *page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := &page{status: resp.StatusCode, url: resp.Request.URL.String(), header: resp.Header, body: string(body)}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

// get fetches a page (following redirects).
func (b *browser) get(path string) *page {
	b.t.Helper()
	return b.read(b.http.Get(b.th.URL() + path))
}

// post posts a form with the session's CSRF token (following redirects).
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if b.csrf != "" && form.Get(api.CSRFField) == "" {
		form.Set(api.CSRFField, b.csrf)
	}
	return b.read(b.http.PostForm(b.th.URL()+path, form))
}

// signIn signs p in with the password and a TOTP code, and fails the
// test if it does not land on a signed-in page.
func (b *browser) signIn(p *person) *page {
	b.t.Helper()
	pg := b.get("/signin")
	m := formTokenRE.FindStringSubmatch(pg.body)
	if m == nil {
		b.t.Fatalf("no form token on the sign-in page (%d): %s", pg.status, clip(pg.body))
	}
	pg = b.post("/signin", url.Values{"form_token": {m[1]}, "name": {p.Name}, "password": {password}})
	if !strings.Contains(pg.url, "/signin/factor") {
		b.t.Fatalf("after the password: %s (%d): %s", pg.url, pg.status, clip(pg.body))
	}
	m = formTokenRE.FindStringSubmatch(pg.body)
	pg = b.post("/signin/factor", url.Values{"form_token": {m[1]}, "code": {b.th.code(p)}})
	if pg.status != http.StatusOK || strings.Contains(pg.url, "/signin") {
		b.t.Fatalf("after the code: %s (%d): %s", pg.url, pg.status, clip(pg.body))
	}
	return pg
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
