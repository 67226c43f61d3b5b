package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"rsc.io/qr"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/identity"
)

// Signing in takes two pages: the name and password (api.CheckPassword),
// then the second factor: a TOTP code, a recovery code or a passkey
// (api.CompleteSignIn). Between them the hub remembers, for five
// minutes, whose password was right, under a random id in a cookie of its
// own: never the password. A person whose second factor was reset by an
// administrator enrols a new TOTP key at the second step, from a QR code.
//
// The sign-in forms have no session to carry a CSRF token, so they carry
// a random token bound to a cookie of their own (double submit), which
// stops another site from signing a person in to an account of its
// choosing.

const (
	pendingCookie = "guardian-signin"
	formCookie    = "guardian-form"
	formField     = "form_token"
	// pendingFor is how long the second step may wait for the first.
	pendingFor = 5 * time.Minute
	// maxPendingSignIns bounds the remembered first steps; each needs a
	// right password, and the oldest goes first when full.
	maxPendingSignIns = 10000
	// maxFactorTries ends a pending sign-in after this many wrong second
	// factors (each also counts towards the account's lock).
	maxFactorTries = 3
)

// pendingSignIn is a person who gave the right password and not yet the
// second factor.
type pendingSignIn struct {
	user    *guardian.User
	expires time.Time
	tries   int
	// enrol is the TOTP key shown for enrolment, kept until confirmed.
	enrol *identity.TOTPKey
	// ceremony is a passkey sign-in's state (package passkey).
	ceremony any
	next     string
}

type pendingSignIns struct {
	mu    sync.Mutex
	max   int
	byID  map[string]*pendingSignIn
	order []string // ids, oldest first
}

func newPendingSignIns(n int) *pendingSignIns {
	return &pendingSignIns{max: n, byID: make(map[string]*pendingSignIn)}
}

func (p *pendingSignIns) add(ps *pendingSignIn) string {
	id := randomToken()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.byID) >= p.max && len(p.order) > 0 {
		delete(p.byID, p.order[0])
		p.order = p.order[1:]
	}
	// Compact the order list now and then: removed ids stay in it.
	if len(p.order) > 2*p.max {
		live := p.order[:0]
		for _, k := range p.order {
			if p.byID[k] != nil {
				live = append(live, k)
			}
		}
		p.order = live
	}
	p.byID[id] = ps
	p.order = append(p.order, id)
	return id
}

func (p *pendingSignIns) get(id string, now time.Time) *pendingSignIn {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := p.byID[id]
	if ps != nil && !now.Before(ps.expires) {
		delete(p.byID, id)
		return nil
	}
	return ps
}

func (p *pendingSignIns) remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byID, id)
}

// fail counts a wrong second factor and reports whether the pending
// sign-in is used up.
func (p *pendingSignIns) fail(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := p.byID[id]
	if ps == nil {
		return true
	}
	ps.tries++
	if ps.tries >= maxFactorTries {
		delete(p.byID, id)
		return true
	}
	return false
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.SecureCookies }

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// formToken returns the sign-in forms' token, setting its cookie if the
// browser has none.
func (h *Handler) formToken(w http.ResponseWriter, r *http.Request) string {
	if v := cookieValue(r, formCookie); len(v) == 43 {
		return v
	}
	v := randomToken()
	h.setCookie(w, r, formCookie, v, 12*time.Hour)
	return v
}

var errFormExpired = guardian.Errorf(guardian.EFORBIDDEN, "This form has expired; load the page again.")

// checkForm checks a sign-in form's token against its cookie.
func checkForm(r *http.Request) error {
	if err := api.ReadForm(r); err != nil {
		return err
	}
	ck := cookieValue(r, formCookie)
	if ck == "" || subtle.ConstantTimeCompare([]byte(ck), []byte(r.PostFormValue(formField))) != 1 {
		return errFormExpired
	}
	return nil
}

type signInView struct {
	Name   string
	Reason string // a message key: why the person is here
	Error  string // a message key
	Detail string
	Next   string
}

// safeNext keeps a post-sign-in destination on this site.
func safeNext(s string) string {
	if s == "" || len(s) > 512 || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return ""
	}
	return s
}

var signInReasons = map[string]string{
	"session-ended": msg("signin.reason.ended"), "session-locked": msg("signin.reason.locked"), "session-expired": msg("signin.reason.expired"),
	"organisation-removed": msg("signin.reason.removed"), "signed-out": msg("signin.reason.signedout"),
}

func (h *Handler) handleSignInPage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if c.User() != nil {
		redirect(w, r, home(c))
		return nil
	}
	v := signInView{Reason: signInReasons[r.URL.Query().Get("reason")], Next: safeNext(r.URL.Query().Get("next"))}
	return h.render(w, r, http.StatusOK, "signin", h.anonPage(w, r, c, msg("signin.title"), v))
}

func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := checkForm(r); err != nil {
		return err
	}
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	v := signInView{Name: guardian.Clip(name, 320), Next: safeNext(r.PostFormValue("next"))}
	u, err := h.API.CheckPassword(r.Context(), c, name, password)
	if err != nil {
		p, ok := h.refusal(r, c, err)
		if !ok {
			return err
		}
		v.Error, v.Detail = signInErrorKey(p), p.Message
		return h.render(w, r, http.StatusUnauthorized, "signin", h.anonPage(w, r, c, msg("signin.title"), v))
	}
	if h.API.SkipSecondFactor {
		// A demo hub's people sign in with the password alone.
		if _, err := h.API.CompleteSignIn(r.Context(), w, r, c, u, api.SecondFactor{Demo: true}); err != nil {
			return err
		}
		redirect(w, r, afterSignIn(c, v.Next))
		return nil
	}
	id := h.pending.add(&pendingSignIn{user: u, expires: c.Now().Add(pendingFor), next: v.Next})
	h.setCookie(w, r, pendingCookie, id, pendingFor)
	if len(u.TOTPSecret) == 0 && !h.hasPasskeys(r.Context(), u) {
		redirect(w, r, "/signin/enrol")
		return nil
	}
	redirect(w, r, "/signin/factor")
	return nil
}

// signInErrorKey names a sign-in refusal in the catalogue.
func signInErrorKey(p api.Problem) string {
	switch p.Reason {
	case "locked":
		return msg("signin.error.locked")
	case "disabled":
		return msg("signin.error.disabled")
	case "code-used":
		return msg("signin.error.used")
	case "mfa-reset":
		return msg("signin.error.reset")
	}
	if p.Code == guardian.EINVALID {
		return msg("signin.error.missing")
	}
	return msg("signin.error.wrong")
}

// refusal describes a failed sign-in step for its page; faults and an
// overloaded hub are not refusals, and go to the error page.
func (h *Handler) refusal(r *http.Request, c *api.Call, err error) (api.Problem, bool) {
	p := h.API.Problem(r, c, err)
	if p.Status >= 500 || p.Reason == "throttled" || p.Reason == "busy" {
		return p, false
	}
	return p, true
}

// pendingOf returns the request's pending sign-in, or sends the person
// back to the first step.
func (h *Handler) pendingOf(w http.ResponseWriter, r *http.Request, c *api.Call) (string, *pendingSignIn) {
	id := cookieValue(r, pendingCookie)
	if id == "" {
		redirect(w, r, "/signin?reason=session-ended")
		return "", nil
	}
	ps := h.pending.get(id, c.Now())
	if ps == nil {
		redirect(w, r, "/signin?reason=session-ended")
		return "", nil
	}
	return id, ps
}

type factorView struct {
	Passkeys bool
	Recovery bool // show the recovery code field rather than TOTP
	Error    string
	Detail   string
}

func (h *Handler) handleFactorPage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	_, ps := h.pendingOf(w, r, c)
	if ps == nil {
		return nil
	}
	v := factorView{Passkeys: h.hasPasskeys(r.Context(), ps.user), Recovery: r.URL.Query().Get("recovery") == "1"}
	return h.render(w, r, http.StatusOK, "factor", h.anonPage(w, r, c, msg("factor.title"), v))
}

func (h *Handler) handleFactor(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := checkForm(r); err != nil {
		return err
	}
	id, ps := h.pendingOf(w, r, c)
	if ps == nil {
		return nil
	}
	f := api.SecondFactor{TOTP: strings.TrimSpace(r.PostFormValue("code")), RecoveryCode: strings.TrimSpace(r.PostFormValue("recovery"))}
	if len(f.TOTP) > 16 || len(f.RecoveryCode) > 64 {
		f = api.SecondFactor{TOTP: "0"}
	}
	if _, err := h.API.CompleteSignIn(r.Context(), w, r, c, ps.user, f); err != nil {
		p, ok := h.refusal(r, c, err)
		if !ok {
			return err
		}
		used := h.pending.fail(id)
		v := factorView{Passkeys: h.hasPasskeys(r.Context(), ps.user), Recovery: f.RecoveryCode != "",
			Error: signInErrorKey(p), Detail: p.Message}
		if used || v.Error == msg("signin.error.locked") || v.Error == msg("signin.error.disabled") {
			h.pending.remove(id)
			sv := signInView{Name: ps.user.Name, Error: v.Error, Detail: v.Detail}
			return h.render(w, r, http.StatusUnauthorized, "signin", h.anonPage(w, r, c, msg("signin.title"), sv))
		}
		return h.render(w, r, http.StatusUnauthorized, "factor", h.anonPage(w, r, c, msg("factor.title"), v))
	}
	h.pending.remove(id)
	h.setCookie(w, r, pendingCookie, "", -time.Second)
	redirect(w, r, afterSignIn(c, ps.next))
	return nil
}

// afterSignIn is where a person goes once signed in.
func afterSignIn(c *api.Call, next string) string {
	if next != "" {
		return next
	}
	return home(c)
}

type enrolView struct {
	Secret string
	QR     string // a data: URI of the QR code's PNG
	URI    string
	Error  string
	Codes  []string // the recovery codes, shown once after enrolment
}

func (h *Handler) handleEnrolPage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	_, ps := h.pendingOf(w, r, c)
	if ps == nil {
		return nil
	}
	if len(ps.user.TOTPSecret) > 0 {
		redirect(w, r, "/signin/factor")
		return nil
	}
	h.pending.mu.Lock()
	if ps.enrol == nil {
		ps.enrol = identity.GenerateTOTPKey()
	}
	key := ps.enrol
	h.pending.mu.Unlock()
	v, err := enrolViewOf(key, ps.user)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "enrol", h.anonPage(w, r, c, msg("enrol.title"), v))
}

func enrolViewOf(key *identity.TOTPKey, u *guardian.User) (enrolView, error) {
	uri := key.URI("Guardian", u.Name)
	code, err := qr.Encode(uri, qr.M)
	if err != nil {
		return enrolView{}, err
	}
	code.Scale = 6
	png := code.PNG()
	return enrolView{Secret: groupsOf4(key.Base32()), URI: uri,
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)}, nil
}

func groupsOf4(s string) string {
	var b bytes.Buffer
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// handleEnrol confirms a new TOTP key with a code from it: the key and
// ten recovery codes are stored (user.mfa), the person is signed in, and
// the codes are shown once.
func (h *Handler) handleEnrol(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := checkForm(r); err != nil {
		return err
	}
	id, ps := h.pendingOf(w, r, c)
	if ps == nil {
		return nil
	}
	h.pending.mu.Lock()
	key := ps.enrol
	h.pending.mu.Unlock()
	if key == nil || len(ps.user.TOTPSecret) > 0 {
		redirect(w, r, "/signin/enrol")
		return nil
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if _, ok := key.Verify(code, c.Now(), 0); !ok || len(code) > 16 {
		v, err := enrolViewOf(key, ps.user)
		if err != nil {
			return err
		}
		v.Error = msg("enrol.error.code")
		if h.pending.fail(id) {
			redirect(w, r, "/signin?reason=session-ended")
			return nil
		}
		return h.render(w, r, http.StatusUnauthorized, "enrol", h.anonPage(w, r, c, msg("enrol.title"), v))
	}
	codes, hashes := identity.GenerateRecoveryCodes()
	ev := c.Event(guardian.CategoryAuthentication, "user.mfa")
	ev.Actor, ev.Reason = ps.user.Actor(), "enrolled at sign-in"
	if err := h.Users.SetUserMFA(r.Context(), ps.user.ID, h.API.MasterKey.SealUserSecret(ps.user.Name, key.Bytes()), hashes, ev); err != nil {
		return err
	}
	if _, err := h.API.CompleteSignIn(r.Context(), w, r, c, ps.user, api.SecondFactor{TOTP: code}); err != nil {
		return err
	}
	h.pending.remove(id)
	h.setCookie(w, r, pendingCookie, "", -time.Second)
	v := enrolView{Codes: codes}
	return h.render(w, r, http.StatusOK, "enrolled", h.anonPage(w, r, c, msg("enrol.title"), v))
}

// hasPasskeys reports whether the person can use a passkey here.
func (h *Handler) hasPasskeys(ctx context.Context, u *guardian.User) bool {
	if !h.passkeysOn() {
		return false
	}
	pks, err := h.Passkeys.FindPasskeys(ctx, u.ID)
	return err == nil && len(pks) > 0
}

func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := h.API.SignOut(r.Context(), w, r, c); err != nil {
		return err
	}
	redirect(w, r, "/signin?reason=signed-out")
	return nil
}

// handleLanguage sets the language: the person's own setting when signed
// in (an alteration event), and the cookie either way.
func (h *Handler) handleLanguage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	lang := r.PostFormValue("lang")
	if !supported(lang) {
		return guardian.Errorf(guardian.EINVALID, "Unknown language.")
	}
	if c.User() == nil {
		if err := checkForm(r); err != nil {
			return err
		}
	} else {
		ev := c.Event(guardian.CategoryAlteration, "user.update")
		ev.Reason = "language"
		if _, err := h.Users.UpdateUser(r.Context(), c.User().ID, guardian.UserUpdate{Language: &lang}, ev); err != nil {
			return err
		}
	}
	h.setCookie(w, r, langCookie, lang, 365*24*time.Hour)
	back := safeNext(r.PostFormValue("back"))
	if back == "" {
		back = "/"
	}
	redirect(w, r, back)
	return nil
}
