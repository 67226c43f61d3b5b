package web_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/passkey"
)

// The passkey tests play the browser's script (static/passkey.js) over the
// Go client: the same JSON requests with the same headers, and a software
// authenticator for navigator.credentials, as in package passkey's tests:
// an ECDSA P-256 key with "none" attestation, the authenticator data and
// client data built byte by byte (WebAuthn §6.1, §5.8.1).

var b64 = base64.RawURLEncoding

// authenticator is a software WebAuthn authenticator with one credential.
type authenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	count  uint32 // signature counter, incremented before each signature
	origin string // the origin the browser reports
}

func newAuthenticator(t testing.TB, origin string) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &authenticator{key: key, credID: make([]byte, 32), origin: origin}
	rand.Read(a.credID)
	return a
}

func (a *authenticator) authData(t testing.TB, attested bool) []byte {
	hash := sha256.Sum256([]byte("localhost")) // the hub's RP ID on loopback
	flags := byte(0x01 | 0x04)                 // user present, verified
	if attested {
		flags |= 0x40
	}
	d := append(hash[:], flags)
	d = binary.BigEndian.AppendUint32(d, a.count)
	if attested {
		pt, err := a.key.PublicKey.Bytes() // 0x04 || x || y
		if err != nil {
			t.Fatal(err)
		}
		cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
		if err != nil {
			t.Fatal(err)
		}
		d = append(d, make([]byte, 16)...) // AAGUID: none
		d = binary.BigEndian.AppendUint16(d, uint16(len(a.credID)))
		d = append(d, a.credID...)
		d = append(d, cose...)
	}
	return d
}

func (a *authenticator) clientData(t testing.TB, typ, challenge string) []byte {
	return mustJSON(t, map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
}

// create answers navigator.credentials.create() as passkey.js posts it.
func (a *authenticator) create(t testing.TB, challenge string) json.RawMessage {
	t.Helper()
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"authenticatorAttachment": "cross-platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"usb"},
		},
	})
}

// get answers navigator.credentials.get(), signing with the next count.
func (a *authenticator) get(t testing.TB, challenge string, userHandle []byte) json.RawMessage {
	t.Helper()
	a.count++
	authData := a.authData(t, false)
	cd := a.clientData(t, "webauthn.get", challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(authData), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(userHandle),
		},
	})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hubOrigin is the origin a browser uses for the hub: localhost, which
// WebAuthn accepts over plain HTTP, on the hub's port.
func hubOrigin(th *testHub) string {
	return "http://localhost:" + mustURL(th.t, th.URL()).Port()
}

// options are the members of both ceremonies' options the tests read.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials   []struct{ ID string } `json:"allowCredentials"`
		ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// answer is a JSON answer of the passkey routes.
type answer struct {
	status   int
	Redirect string `json:"redirect"`
	Error    string `json:"error"`
	Detail   string `json:"detail"`
	Link     string `json:"link"`
	raw      []byte
}

// postJSON posts body as passkey.js does, with header (the CSRF or form
// token), and reads the JSON answer.
func (b *browser) postJSON(path string, header http.Header, body any) answer {
	b.t.Helper()
	var data []byte
	switch v := body.(type) {
	case json.RawMessage:
		data = v
	default:
		data = mustJSON(b.t, v)
	}
	req, err := http.NewRequest(http.MethodPost, b.th.URL()+path, bytes.NewReader(data))
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: raw}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		// The chain refused the request before the handler (no session,
		// no CSRF token): an HTML page, which the script does not read.
		return a
	}
	if resp.StatusCode == http.StatusOK && strings.HasSuffix(path, "/options") {
		return a
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		b.t.Fatalf("POST %s: %v: %s", path, err, raw)
	}
	return a
}

func (b *browser) csrfHeader() http.Header {
	return http.Header{api.CSRFHeader: {b.csrf}}
}

func decodeOptions(t testing.TB, a answer) options {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("options: %d %s", a.status, a.raw)
	}
	var o options
	if err := json.Unmarshal(a.raw, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", a.raw, err)
	}
	return o
}

// registerPasskey adds a's credential as name through the account page,
// as the page's script does, for a signed-in browser.
func registerPasskey(t testing.TB, b *browser, a *authenticator, name string) {
	t.Helper()
	pg := b.get("/account")
	if !strings.Contains(pg.body, `id="passkey-register"`) {
		t.Fatalf("the account page offers no passkey (%d): %s", pg.status, clip(pg.body))
	}
	o := decodeOptions(t, b.postJSON("/account/passkeys/options", b.csrfHeader(), map[string]string{"name": name}))
	if o.PublicKey.RP.ID != "localhost" {
		t.Errorf("RP ID %q, want localhost", o.PublicKey.RP.ID)
	}
	ans := b.postJSON("/account/passkeys", b.csrfHeader(), map[string]any{"name": name, "credential": a.create(t, o.PublicKey.Challenge)})
	if ans.status != http.StatusOK || ans.Redirect != "/account?notice=passkey-added" {
		t.Fatalf("adding a passkey: %d %s", ans.status, ans.raw)
	}
}

// passwordStep signs p in with the password only, and returns the form
// token of the second factor's page, which must offer a passkey.
func passwordStep(t testing.TB, b *browser, p *person) string {
	t.Helper()
	pg := b.get("/signin")
	m := formTokenRE.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no form token on the sign-in page: %s", clip(pg.body))
	}
	pg = b.post("/signin", url.Values{"form_token": {m[1]}, "name": {p.Name}, "password": {password}})
	if !strings.Contains(pg.url, "/signin/factor") || !strings.Contains(pg.body, `id="passkey-signin"`) {
		t.Fatalf("after the password, no passkey offered: %s (%d): %s", pg.url, pg.status, clip(pg.body))
	}
	if !strings.Contains(pg.body, `data-options="/signin/passkey/options"`) || !strings.Contains(pg.body, `data-finish="/signin/passkey"`) ||
		!strings.Contains(pg.body, "passkey.js") {
		t.Errorf("the passkey button lacks its data or script: %s", clip(pg.body))
	}
	return formTokenRE.FindStringSubmatch(pg.body)[1]
}

// beginSignIn asks for sign-in options and returns their challenge.
func beginSignIn(t testing.TB, b *browser, token string, a *authenticator) string {
	t.Helper()
	o := decodeOptions(t, b.postJSON("/signin/passkey/options", http.Header{"Guardian-Form-Token": {token}}, nil))
	if o.PublicKey.RPID != "localhost" || len(o.PublicKey.AllowCredentials) == 0 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(a.credID) {
		t.Errorf("sign-in options %+v do not allow the passkey", o.PublicKey)
	}
	return o.PublicKey.Challenge
}

func finishSignIn(b *browser, token string, assertion json.RawMessage) answer {
	b.t.Helper()
	return b.postJSON("/signin/passkey", http.Header{"Guardian-Form-Token": {token}}, assertion)
}

// auditEvents returns the events of an action.
func auditEvents(t testing.TB, th *testHub, action string) []*guardian.AuditEvent {
	t.Helper()
	evs, err := th.hub.Store.FindAuditEvents(th.ctx, guardian.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestPasskeys(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			p := th.addPerson("pia@example.org", guardian.AgencyOrganisation("py-fiscalia-cyber"), guardian.RoleAgencyInvestigator)
			uid := strconv.FormatInt(p.ID, 10)
			a := newAuthenticator(t, hubOrigin(th))
			b := th.browser()
			b.signIn(p)

			// Registration: refused without the CSRF token or with a bad
			// name; then added, and listed.
			if ans := b.postJSON("/account/passkeys/options", nil, map[string]string{"name": "x"}); ans.status != http.StatusForbidden {
				t.Errorf("options without the CSRF token: %d %s", ans.status, ans.raw)
			}
			if ans := b.postJSON("/account/passkeys/options", b.csrfHeader(), map[string]string{"name": " "}); ans.status != http.StatusBadRequest || ans.Error == "" {
				t.Errorf("options for a blank name: %d %s", ans.status, ans.raw)
			}
			registerPasskey(t, b, a, "YubiKey <test>")
			pg := b.get("/account?notice=passkey-added")
			if !strings.Contains(pg.body, "YubiKey &lt;test&gt;") || !strings.Contains(pg.body, "Your passkey was added") {
				t.Errorf("the account page does not list the new passkey: %s", clip(pg.body))
			}
			// The same authenticator cannot be registered twice.
			o := decodeOptions(t, b.postJSON("/account/passkeys/options", b.csrfHeader(), map[string]string{"name": "again"}))
			if len(o.PublicKey.ExcludeCredentials) != 1 {
				t.Errorf("registration options exclude %d credentials, want 1", len(o.PublicKey.ExcludeCredentials))
			}
			if ans := b.postJSON("/account/passkeys", b.csrfHeader(), map[string]any{"name": "again", "credential": a.create(t, o.PublicKey.Challenge)}); ans.status != http.StatusConflict {
				t.Errorf("the same passkey again: %d %s", ans.status, ans.raw)
			}
			if evs := auditEvents(t, th, "passkey.add"); len(evs) != 1 || evs[0].ObjectID != uid || evs[0].Actor.ID != uid {
				t.Errorf("passkey.add events: %+v", evs)
			}

			// Sign out, and in with the password and the passkey.
			b.post("/signout", nil)
			token := passwordStep(t, b, p)
			challenge := beginSignIn(t, b, token, a)
			assertion := a.get(t, challenge, passkey.UserHandle(p.ID))
			ans := finishSignIn(b, token, assertion)
			if ans.status != http.StatusOK || ans.Redirect != "/referrals" {
				t.Fatalf("passkey sign-in: %d %s", ans.status, ans.raw)
			}
			pg = b.get("/account")
			if strings.Contains(pg.url, "/signin") || strings.Contains(pg.body, `>Never<`) {
				t.Errorf("after the passkey sign-in, /account is %s, last use not shown: %s", pg.url, clip(pg.body))
			}
			signins := auditEvents(t, th, "user.signin")
			if last := signins[len(signins)-1]; last.Outcome != guardian.OutcomeSuccess || last.Reason != "passkey" || last.ObjectID != uid {
				t.Errorf("the last user.signin is %+v, want a success by passkey", last)
			}

			// Replays: the same assertion at a new sign-in (another
			// challenge), twice, then one signed by a copy of the key with
			// a count already used: each refused and counted, and the
			// third ends the pending sign-in.
			b2 := th.browser()
			token2 := passwordStep(t, b2, p)
			beginSignIn(t, b2, token2, a)
			if ans := finishSignIn(b2, token2, assertion); ans.status != http.StatusUnauthorized || ans.Error != "The passkey was not accepted." || ans.Redirect != "" {
				t.Errorf("a replayed assertion: %d %s", ans.status, ans.raw)
			}
			if ans := finishSignIn(b2, token2, assertion); ans.status == http.StatusOK {
				t.Errorf("a replay without a ceremony: %d %s", ans.status, ans.raw)
			}
			copied := *a
			copied.count--
			ans = finishSignIn(b2, token2, copied.get(t, beginSignIn(t, b2, token2, a), passkey.UserHandle(p.ID)))
			if ans.status != http.StatusUnauthorized || ans.Redirect != "/signin?reason=session-ended" || ans.Link == "" {
				t.Errorf("a copied key's count, third failure: %d %s", ans.status, ans.raw)
			}
			if ans := b2.postJSON("/signin/passkey/options", http.Header{"Guardian-Form-Token": {token2}}, nil); ans.status != http.StatusUnauthorized {
				t.Errorf("options after the pending sign-in ended: %d %s", ans.status, ans.raw)
			}

			// Another origin (a phishing site): refused, counted.
			b3 := th.browser()
			token3 := passwordStep(t, b3, p)
			if ans := b3.postJSON("/signin/passkey/options", http.Header{"Guardian-Form-Token": {"wrong"}}, nil); ans.status != http.StatusForbidden {
				t.Errorf("options without the form token: %d %s", ans.status, ans.raw)
			}
			phish := *a
			phish.origin = "https://guardian-hub.example.com"
			if ans := finishSignIn(b3, token3, phish.get(t, beginSignIn(t, b3, token3, a), passkey.UserHandle(p.ID))); ans.status != http.StatusUnauthorized {
				t.Errorf("another origin's assertion: %d %s", ans.status, ans.raw)
			}
			var failures int
			for _, ev := range auditEvents(t, th, "user.signin") {
				if ev.Outcome == guardian.OutcomeFailure && ev.Reason == "passkey" && ev.ObjectID == uid {
					failures++
				}
			}
			if failures != 4 {
				t.Errorf("%d failed passkey sign-ins recorded, want 4", failures)
			}
			if u, err := th.hub.Store.FindUserByID(th.ctx, p.ID); err != nil || u.FailedSignIns != 4 {
				t.Errorf("the account counts %d failures (%v), want 4", u.FailedSignIns, err)
			}

			// Remove the passkey (a plain form from the account page).
			pg = b.get("/account")
			m := regexp.MustCompile(`action="(/account/passkeys/\d+/delete)"`).FindStringSubmatch(pg.body)
			if m == nil {
				t.Fatalf("no remove form: %s", clip(pg.body))
			}
			pg = b.post(m[1], nil)
			if !strings.Contains(pg.url, "/account?notice=passkey-removed") || !strings.Contains(pg.body, "The passkey was removed.") ||
				strings.Contains(pg.body, "YubiKey &lt;test&gt;") {
				t.Errorf("after removing: %s: %s", pg.url, clip(pg.body))
			}
			if pg := b.post(m[1], nil); pg.status != http.StatusNotFound {
				t.Errorf("removing it again: %d", pg.status)
			}
			if evs := auditEvents(t, th, "passkey.remove"); len(evs) != 1 || evs[0].ObjectID != uid {
				t.Errorf("passkey.remove events: %+v", evs)
			}
		})
	}
}
