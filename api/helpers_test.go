package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// backends are the stores every test runs on; PostgreSQL skips without
// $GUARDIAN_TEST_POSTGRES.
var backends = []storetest.Backend{storetest.SQLite, storetest.Postgres}

func forEachBackend(t *testing.T, fn func(t *testing.T, f *fixture), opts ...func(*api.Handler)) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, b, opts...))
		})
	}
}

// start is where the fixtures' clocks begin.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// password is every test person's password.
const password = "correct horse battery staple"

// fixture is a hub's API on a real store, evidence store and loopback
// HTTP server, on the demo network, with de-bka-cac's recipients replaced
// by a key the test holds.
type fixture struct {
	t        *testing.T
	store    *sqlstore.Store
	clock    *storetest.Clock
	mk       *crypto.MasterKey
	evidence *evidence.Store
	net      *guardian.Network
	netNow   *atomic.Pointer[guardian.Network] // the network in force
	router   *routing.Service
	h        *api.Handler
	srv      *httptest.Server
	contract *contract
	reporter *guardian.Reporter
	ageKey   *age.X25519Identity
	ctx      context.Context
}

func newFixture(t *testing.T, b storetest.Backend, opts ...func(*api.Handler)) *fixture {
	t.Helper()
	ctx := context.Background()
	mk, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(start)
	s, _ := storetest.MustOpen(t, b, sqlstore.Options{Now: clock.Now, Sealer: crypto.NewDocumentSealer(mk)})
	ev := evidence.NewStore(t.TempDir())
	if err := ev.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	n, err := network.Load("../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	de, _ := n.Agency("de-bka-cac")
	de.Recipients = []string{id.Recipient().String()}
	netNow := new(atomic.Pointer[guardian.Network])
	netNow.Store(n)
	router := &routing.Service{Store: s, Network: netNow.Load, Geo: geo.Embedded(), Now: clock.Now}
	h := &api.Handler{
		Store: s, Routing: s, Delivery: s, Users: s, Access: s, Evidence: ev, MasterKey: mk,
		Network: netNow.Load, Now: clock.Now, Reroute: router.RouteReport,
		// Tests sign in often from one address.
		SignInAddrInterval: time.Millisecond, SignInAddrBurst: 1000,
	}
	for _, o := range opts {
		o(h)
	}
	if err := h.Open(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close(context.Background())
	})
	rep := &guardian.Reporter{Name: "example-service", PasswordHash: "x"}
	if err := s.CreateReporter(ctx, rep, systemEvent("reporter.create", guardian.CategoryPermission)); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, store: s, clock: clock, mk: mk, evidence: ev, net: n, netNow: netNow, router: router, h: h, srv: srv,
		contract: mustContract(t), reporter: rep, ageKey: id, ctx: ctx}
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

// addUser creates a vetted and trained person of org with roles.
func (f *fixture) addUser(name string, org guardian.Organisation, roles ...guardian.Role) *person {
	f.t.Helper()
	hash, err := identity.HashPassword(password)
	if err != nil {
		f.t.Fatal(err)
	}
	key := identity.GenerateTOTPKey()
	codes, hashes := identity.GenerateRecoveryCodes()
	later := start.Add(365 * 24 * time.Hour)
	u := &guardian.User{Name: name, DisplayName: name, Email: name + "@example.org", Organisation: org, Roles: roles,
		PasswordHash: hash, TOTPSecret: f.mk.SealUserSecret(name, key.Bytes()), RecoveryCodeHashes: hashes,
		VettingExpiresAt: &later, TrainingExpiresAt: &later, Language: "en", TimeZone: "UTC"}
	if err := f.store.CreateUser(f.ctx, u, systemEvent("user.create", guardian.CategoryPermission)); err != nil {
		f.t.Fatal(err)
	}
	return &person{User: u, totp: key, recovery: codes}
}

// addToken creates an API token of org and role and returns its secret.
func (f *fixture) addToken(name string, org guardian.Organisation, role guardian.Role) (string, *guardian.APIToken) {
	f.t.Helper()
	secret, hash := identity.GenerateAPIToken()
	tok := &guardian.APIToken{Name: name, Hash: hash, Organisation: org, Role: role, ExpiresAt: start.Add(30 * 24 * time.Hour)}
	if err := f.store.CreateAPIToken(f.ctx, tok, systemEvent("token.create", guardian.CategoryPermission)); err != nil {
		f.t.Fatal(err)
	}
	return secret, tok
}

// testFile is a file to attach to a report.
type testFile struct {
	name    string
	content []byte
	viewed  *bool // fileViewedByEsp; nil for no details
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// incident is when the test reports' incidents happened.
var incident = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// report submits, finishes and routes a report located in the countries,
// with files, and returns its id and referrals.
func (f *fixture) report(countries []string, files ...testFile) (int64, []*guardian.Referral) {
	f.t.Helper()
	doc := docIn(f.t, countries...)
	doc.Reporter = guardian.ReporterDetails{}
	return f.reportDoc(doc, files...)
}

// reportDoc submits, finishes and routes a report of the document, with
// files, and returns its id and referrals.
func (f *fixture) reportDoc(doc *guardian.ReportDocument, files ...testFile) (int64, []*guardian.Referral) {
	f.t.Helper()
	ctx := f.ctx
	js, err := json.Marshal(doc)
	if err != nil {
		f.t.Fatal(err)
	}
	dk, err := crypto.GenerateDataKey()
	if err != nil {
		f.t.Fatal(err)
	}
	rep := &guardian.Report{ReporterID: f.reporter.ID, XML: []byte("<report/>"), Document: js, WrappedKey: f.mk.WrapDataKey(dk, f.reporter.ID)}
	if err := f.store.CreateReport(ctx, rep, reporterEvent("report.submit")); err != nil {
		f.t.Fatal(err)
	}
	for _, tf := range files {
		blob, err := f.evidence.Put(ctx, bytes.NewReader(tf.content), 1<<20)
		if err != nil {
			f.t.Fatal(err)
		}
		var idb [16]byte
		_, _ = rand.Read(idb[:])
		file := &guardian.File{ID: hex.EncodeToString(idb[:]), ReportID: rep.ID, Name: tf.name, Size: blob.Size,
			MD5: blob.MD5, SHA1: blob.SHA1, SHA256: blob.SHA256, BlobKey: blob.Key, WrappedKey: dk.WrapFileKey(blob.FileKey, blob.Key)}
		if err := f.store.AddFile(ctx, f.reporter.ID, file, reporterEvent("file.upload")); err != nil {
			f.t.Fatal(err)
		}
		if tf.viewed != nil {
			d := guardian.FileDetails{ReportID: rep.ID, FileID: file.ID, FileViewedByESP: tf.viewed}
			dj, _ := json.Marshal(d)
			if _, err := f.store.SetFileDetails(ctx, f.reporter.ID, rep.ID, file.ID, []byte("<fileDetails/>"), dj, reporterEvent("file.details")); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if _, err := f.store.FinishReport(ctx, f.reporter.ID, rep.ID, reporterEvent("report.finish")); err != nil {
		f.t.Fatal(err)
	}
	if err := f.router.RouteReport(ctx, rep.ID, guardian.Actor{Kind: guardian.ActorSystem, Name: "routing"}, ""); err != nil {
		f.t.Fatal(err)
	}
	refs, err := f.store.FindReferrals(ctx, rep.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep.ID, refs
}

// referralTo returns the report's referral to the agency.
func (f *fixture) referralTo(refs []*guardian.Referral, agency string) *guardian.Referral {
	f.t.Helper()
	for _, r := range refs {
		if r.AgencyID == agency {
			return r
		}
	}
	f.t.Fatalf("no referral to %s among %d", agency, len(refs))
	return nil
}

func reporterEvent(action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorReporter, ID: "1"}, Category: guardian.CategoryCollection, Action: action}
}

// docIn returns a report whose reported user was seen at an address in
// each country, with a verified estimated location there.
func docIn(tb testing.TB, countries ...string) *guardian.ReportDocument {
	doc := &guardian.ReportDocument{
		IncidentSummary: guardian.IncidentSummary{
			IncidentType:     "Child Pornography (possession, manufacture, and distribution)",
			IncidentDateTime: guardian.DateTime{Lexical: incident.Format(time.RFC3339), Time: incident, Zoned: true},
		},
	}
	v := true
	for _, c := range countries {
		at := &guardian.DateTime{Lexical: incident.Format(time.RFC3339), Time: incident, Zoned: true}
		doc.PersonOrUserReported = append(doc.PersonOrUserReported, guardian.PersonOrUserReported{
			IPCaptureEvent:    []guardian.IPCaptureEvent{{IPAddress: mustAddrIn(tb, c), EventName: "Upload", DateTime: at}},
			EstimatedLocation: &guardian.EstimatedLocation{Verified: &v, Timestamp: at, CountryCode: c},
		})
	}
	return doc
}

func mustAddrIn(tb testing.TB, country string) string {
	tb.Helper()
	for r := range geo.Embedded().Ranges() {
		if r.Country != country || r.From.Is6() {
			continue
		}
		a := r.From.Next()
		if !r.To.Less(a) && geo.Classify(a) == geo.Public {
			return a.String()
		}
	}
	tb.Fatalf("no public range for %s", country)
	return ""
}

// client is one caller of the API: a token, a session, or nobody.
type client struct {
	f      *fixture
	token  string
	cookie string
	csrf   string
	// noCSRF leaves the CSRF header out, to test its refusal.
	noCSRF bool
	header http.Header
}

func (f *fixture) anonymous() *client           { return &client{f: f} }
func (f *fixture) tokenClient(s string) *client { return &client{f: f, token: s} }

// signIn signs p in with a TOTP code and returns their session's client.
// It moves the clock on a TOTP step first, since a code is single-use.
func (f *fixture) signIn(p *person) *client {
	f.t.Helper()
	f.clock.Advance(30 * time.Second)
	c := f.anonymous()
	res := c.do("POST", "/session", map[string]string{"name": p.Name, "password": password, "totp": p.totp.Code(f.clock.Now())})
	if res.status != http.StatusCreated {
		f.t.Fatalf("sign in %s: %d %s", p.Name, res.status, res.body)
	}
	var s struct {
		CSRFToken string `json:"csrfToken"`
	}
	res.decode(f.t, &s)
	for _, ck := range res.resp.Cookies() {
		if ck.Name == "guardian-session" {
			return &client{f: f, cookie: ck.Value, csrf: s.CSRFToken}
		}
	}
	f.t.Fatalf("sign in %s: no session cookie in %v", p.Name, res.resp.Header["Set-Cookie"])
	return nil
}

// with returns a copy of c that sends the header too.
func (c *client) with(name, value string) *client {
	d := *c
	d.header = c.header.Clone()
	if d.header == nil {
		d.header = http.Header{}
	}
	d.header.Set(name, value)
	return &d
}

// justified returns a copy of c that sends a justification.
func (c *client) justified() *client {
	return c.with(api.HeaderJustificationCase, "2026-DE-0042")
}

type result struct {
	status int
	body   []byte
	resp   *http.Response
}

func (r *result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errReason returns the error answer's code and reason.
func (r *result) errReason(t *testing.T) (string, string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Reason, Message string }
	}
	r.decode(t, &e)
	return e.Error.Code, e.Error.Reason
}

// do sends a request under /api/v1 and checks the answer against the
// OpenAPI document, whatever it is.
func (c *client) do(method, path string, body any) *result {
	t := c.f.t
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.f.srv.URL+api.Prefix+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "guardian-session", Value: c.cookie})
		if c.csrf != "" && !c.noCSRF {
			req.Header.Set(api.CSRFHeader, c.csrf)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	c.f.contract.check(t, method, strings.SplitN(path, "?", 2)[0], resp, b)
	return &result{status: resp.StatusCode, body: b, resp: resp}
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// want fails t unless the answer has the status.
func (r *result) want(t *testing.T, status int) *result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}
