package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/passkey"
)

// Passkeys in the pages. Both ceremonies (package passkey) take two
// requests, with the browser's navigator.credentials call between them:
// static/passkey.js posts for the options, hands them to the browser, and
// posts the browser's answer back, as JSON both ways. The ceremony's state
// stays on the hub, in memory: a sign-in's in its pending sign-in
// (signin.go), a registration's in a bounded map keyed by the person.
//
//	POST /signin/passkey/options     the second factor: options to sign
//	POST /signin/passkey             the browser's assertion → the session
//	POST /account/passkeys/options   a signed-in person: options to create
//	POST /account/passkeys           the new credential → passkey.add
//	POST /account/passkeys/{id}/delete  a plain form → passkey.remove
//
// The sign-in requests come before any session, so the API's CSRF check
// does not apply to them: they carry the sign-in forms' token (signin.go)
// in the Guardian-Form-Token header instead, compared with its cookie.
// The account's requests carry the session's CSRF token like any other.
//
// Every JSON answer is a passkeyAnswer: where to go next, or an error in
// the person's language that the script shows.

const (
	// formHeader carries the sign-in forms' token in passkey.js's
	// requests, which have no form fields.
	formHeader = "Guardian-Form-Token"
	// maxOptionsRequest bounds the body asking for options: at most a
	// passkey's name.
	maxOptionsRequest = 4 << 10
	// maxRegistrations bounds the registrations waiting for the browser's
	// answer; each needs a signed-in person, one each.
	maxRegistrations = 10000
)

// passkeysOn reports whether passkeys can be used: a store and a relying
// party are set.
func (h *Handler) passkeysOn() bool { return h.Passkeys != nil && h.RelyingParty() != nil }

// passkeyRoutes are the passkeys' routes, and the account page's, where a
// person manages their passkeys.
func (h *Handler) passkeyRoutes() []route {
	return append([]route(nil),
		route{"POST", "/signin/passkey/options", api.AuthNone, h.handlePasskeySignInOptions},
		route{"POST", "/signin/passkey", api.AuthNone, h.handlePasskeySignIn},
		route{"POST", "/account/passkeys/options", api.AuthPerson, h.handlePasskeyOptions},
		route{"POST", "/account/passkeys", api.AuthPerson, h.handlePasskeyAdd},
		route{"POST", "/account/passkeys/{id}/delete", api.AuthPerson, h.handlePasskeyDelete},
	)
}

// passkeyAnswer is every JSON answer of the passkey routes but the
// options themselves.
type passkeyAnswer struct {
	// Redirect is where the browser goes next: after success, or, with
	// Error, to start again (then Link is the link's text).
	Redirect string `json:"redirect,omitempty"`
	// Error is the headline in the person's language, Detail the
	// services' own sentence (English).
	Error  string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
	Link   string `json:"link,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (h *Handler) answer(w http.ResponseWriter, status int, a passkeyAnswer) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	writeJSON(w, status, b)
	return nil
}

// passkeyRefusal answers err as JSON: headline key (translated), the
// error's own message as detail, and the status of its code. Faults are
// logged by Problem and shown as such.
func (h *Handler) passkeyRefusal(w http.ResponseWriter, r *http.Request, c *api.Call, key string, err error, restart string) error {
	p := h.API.Problem(r, c, err)
	if p.Status >= 500 || key == "" {
		key = problemKey(p)
	}
	l := h.localizerOf(r, c)
	a := passkeyAnswer{Error: l.T(key), Detail: p.Message}
	if restart != "" {
		a.Redirect, a.Link = restart, l.T(msg("passkey.restart"))
	}
	return h.answer(w, p.Status, a)
}

// localizerOf speaks the language the request's page is in.
func (h *Handler) localizerOf(r *http.Request, c *api.Call) *localizer {
	var lang string
	if u := c.User(); u != nil {
		lang = u.Language
	}
	return h.catalog.localizer(h.catalog.pick(r, lang))
}

var errPasskeysOff = guardian.Errorf(guardian.ENOTFOUND, "Passkeys are not available on this hub.")

// readBody reads a request body of at most n bytes; a longer one is
// EINVALID, unread beyond n.
func readBody(r *http.Request, n int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, n+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || int64(len(b)) > n:
		return nil, guardian.Errorf(guardian.EINVALID, "The request body is larger than %d bytes.", n)
	case err != nil:
		return nil, guardian.Errorf(guardian.EINVALID, "The request body could not be read.")
	}
	return b, nil
}

// checkFormHeader is checkForm for passkey.js's requests: the sign-in
// forms' token in a header, against its cookie.
func checkFormHeader(r *http.Request) error {
	ck := cookieValue(r, formCookie)
	if ck == "" || subtle.ConstantTimeCompare([]byte(ck), []byte(r.Header.Get(formHeader))) != 1 {
		return errFormExpired
	}
	return nil
}

// pendingForPasskey is the request's pending sign-in, or nil.
func (h *Handler) pendingForPasskey(r *http.Request, c *api.Call) (string, *pendingSignIn) {
	id := cookieValue(r, pendingCookie)
	if id == "" {
		return "", nil
	}
	return id, h.pending.get(id, c.Now())
}

const restartSignIn = "/signin?reason=session-ended"

// handlePasskeySignInOptions begins a passkey sign-in for the person
// whose password was right: the options list their passkeys, and the
// ceremony is kept in the pending sign-in, replacing an earlier one.
func (h *Handler) handlePasskeySignInOptions(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := checkFormHeader(r); err != nil {
		return h.passkeyRefusal(w, r, c, msg("problem.reason.csrf"), err, "")
	}
	if !h.passkeysOn() {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.off"), errPasskeysOff, "")
	}
	_, ps := h.pendingForPasskey(r, c)
	if ps == nil {
		return h.passkeyRefusal(w, r, c, msg("signin.reason.ended"), errSignInEnded, restartSignIn)
	}
	keys, err := h.Passkeys.FindPasskeys(r.Context(), ps.user.ID)
	if err != nil {
		return h.passkeyRefusal(w, r, c, "", err, "")
	}
	options, cer, err := h.RelyingParty().BeginLogin(ps.user, keys)
	if err != nil {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.none"), err, "")
	}
	h.pending.mu.Lock()
	ps.ceremony = cer
	h.pending.mu.Unlock()
	writeJSON(w, http.StatusOK, options)
	return nil
}

var errSignInEnded = guardian.Errorf(guardian.EUNAUTHORIZED, "The sign-in has ended; sign in again.")

// handlePasskeySignIn checks the browser's assertion and, if a passkey of
// the person signed it with a counter that moved on, signs them in. A
// refusal counts as a failed sign-in (user.signin, reason passkey) and
// against the pending sign-in's tries, as a wrong code does.
func (h *Handler) handlePasskeySignIn(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := checkFormHeader(r); err != nil {
		return h.passkeyRefusal(w, r, c, msg("problem.reason.csrf"), err, "")
	}
	if !h.passkeysOn() {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.off"), errPasskeysOff, "")
	}
	id, ps := h.pendingForPasskey(r, c)
	if ps == nil {
		return h.passkeyRefusal(w, r, c, msg("signin.reason.ended"), errSignInEnded, restartSignIn)
	}
	body, err := readBody(r, passkey.MaxResponse)
	if err != nil {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.refused"), err, "")
	}
	// The ceremony is taken out whatever happens: it answers once.
	h.pending.mu.Lock()
	cer, _ := ps.ceremony.(*passkey.Ceremony)
	ps.ceremony = nil
	h.pending.mu.Unlock()

	ctx := r.Context()
	keys, err := h.Passkeys.FindPasskeys(ctx, ps.user.ID)
	if err != nil {
		return h.passkeyRefusal(w, r, c, "", err, "")
	}
	used, count, err := h.RelyingParty().FinishLogin(ps.user, keys, cer, body)
	if err == nil {
		err = h.Passkeys.RecordPasskeyUse(ctx, used.ID, count, c.Now())
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			// Another sign-in used this count first: a copied key, or the
			// same answer twice, on another hub process.
			err = guardian.Errorf(guardian.EUNAUTHORIZED,
				"Passkey %q signed with a counter it had used before: it may have been copied. Sign in with another passkey and remove this one.", used.Name)
		}
	}
	if err != nil {
		if code := guardian.ErrorCode(err); code != guardian.EUNAUTHORIZED && code != guardian.EINVALID {
			return h.passkeyRefusal(w, r, c, "", err, "")
		}
		failed := h.API.FailSignIn(ctx, c, ps.user, "passkey")
		if p := h.API.Problem(r, c, failed); p.Reason == "locked" {
			h.endPending(w, r, id)
			return h.passkeyRefusal(w, r, c, msg("signin.error.locked"), failed, restartSignIn)
		} else if p.Status >= 500 {
			return h.passkeyRefusal(w, r, c, "", failed, "")
		}
		if h.pending.fail(id) {
			h.endPending(w, r, id)
			return h.passkeyRefusal(w, r, c, msg("passkey.error.refused"), err, restartSignIn)
		}
		return h.passkeyRefusal(w, r, c, msg("passkey.error.refused"), err, "")
	}
	if _, err := h.API.CompleteSignIn(ctx, w, r, c, ps.user, api.SecondFactor{Passkey: true}); err != nil {
		p, ok := h.refusal(r, c, err)
		if !ok {
			return h.passkeyRefusal(w, r, c, "", err, "")
		}
		h.endPending(w, r, id)
		return h.passkeyRefusal(w, r, c, signInErrorKey(p), err, restartSignIn)
	}
	h.endPending(w, r, id)
	return h.answer(w, http.StatusOK, passkeyAnswer{Redirect: afterSignIn(c, ps.next)})
}

// endPending forgets a pending sign-in and its cookie.
func (h *Handler) endPending(w http.ResponseWriter, r *http.Request, id string) {
	h.pending.remove(id)
	h.setCookie(w, r, pendingCookie, "", -time.Second)
}

// passkeyName is the body of a registration's requests: the name the
// person gave, and with the second request the browser's new credential
// (PublicKeyCredential.toJSON()).
type passkeyName struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func readPasskeyName(r *http.Request, n int64) (passkeyName, error) {
	var v passkeyName
	b, err := readBody(r, n)
	if err != nil {
		return v, err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			return v, guardian.Errorf(guardian.EINVALID, "The request is not the JSON expected.")
		}
	}
	v.Name = strings.TrimSpace(v.Name)
	return v, nil
}

// handlePasskeyOptions begins registering a passkey for the signed-in
// person. The name is checked now, so that a person does not touch their
// key only to be told it was wrong.
func (h *Handler) handlePasskeyOptions(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if !h.passkeysOn() {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.off"), errPasskeysOff, "")
	}
	v, err := readPasskeyName(r, maxOptionsRequest)
	if err == nil {
		err = guardian.CheckPasskeyName(v.Name)
	}
	if err != nil {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.name"), err, "")
	}
	u := c.User()
	keys, err := h.Passkeys.FindPasskeys(r.Context(), u.ID)
	if err != nil {
		return h.passkeyRefusal(w, r, c, "", err, "")
	}
	options, cer, err := h.RelyingParty().BeginRegistration(u, keys)
	if err != nil {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.add"), err, "")
	}
	h.registrations().put(cer)
	writeJSON(w, http.StatusOK, options)
	return nil
}

// handlePasskeyAdd checks the browser's new credential against the
// person's registration and stores the passkey (passkey.add).
func (h *Handler) handlePasskeyAdd(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if !h.passkeysOn() {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.off"), errPasskeysOff, "")
	}
	v, err := readPasskeyName(r, passkey.MaxResponse+maxOptionsRequest)
	if err == nil {
		err = guardian.CheckPasskeyName(v.Name)
	}
	if err != nil {
		// The registration stays: the person may correct the name.
		return h.passkeyRefusal(w, r, c, msg("passkey.error.name"), err, "")
	}
	u := c.User()
	cer := h.registrations().take(u.ID)
	ctx := r.Context()
	keys, err := h.Passkeys.FindPasskeys(ctx, u.ID)
	if err != nil {
		return h.passkeyRefusal(w, r, c, "", err, "")
	}
	p, err := h.RelyingParty().FinishRegistration(u, keys, cer, v.Credential, v.Name)
	if err == nil {
		err = h.Passkeys.AddPasskey(ctx, p, c.Event(guardian.CategoryAuthentication, "passkey.add"))
	}
	if err != nil {
		return h.passkeyRefusal(w, r, c, msg("passkey.error.add"), err, "")
	}
	return h.answer(w, http.StatusOK, passkeyAnswer{Redirect: "/account?notice=passkey-added"})
}

// handlePasskeyDelete removes one of the person's passkeys
// (passkey.remove): a plain form, which works without the script.
func (h *Handler) handlePasskeyDelete(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if h.Passkeys == nil {
		return errPasskeysOff
	}
	id := api.PathID(r, "id")
	if id == 0 {
		return guardian.Errorf(guardian.ENOTFOUND, "No such passkey.")
	}
	ev := c.Event(guardian.CategoryAuthentication, "passkey.remove")
	if err := h.Passkeys.DeletePasskey(r.Context(), c.User().ID, id, ev); err != nil {
		return err
	}
	redirect(w, r, "/account?notice=passkey-removed")
	return nil
}

// registrations are the passkey registrations begun by signed-in people
// and not yet answered: at most one per person (a new one replaces it),
// each until its ceremony expires, and at most max in all.
type registrations struct {
	mu     sync.Mutex
	max    int
	byUser map[int64]*passkey.Ceremony
}

// put keeps c as its person's registration. When full, expired ones go
// first, then the one closest to expiring: the bound holds whatever
// happens, and a person who loses theirs starts again.
func (s *registrations) put(c *passkey.Ceremony) {
	// Ceremonies expire by the relying party's clock, the wall clock.
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byUser, c.UserID())
	if len(s.byUser) >= s.max {
		var first int64
		var firstAt time.Time
		for id, o := range s.byUser {
			if !now.Before(o.Expires()) {
				delete(s.byUser, id)
				continue
			}
			if firstAt.IsZero() || o.Expires().Before(firstAt) {
				first, firstAt = id, o.Expires()
			}
		}
		if len(s.byUser) >= s.max {
			delete(s.byUser, first)
		}
	}
	s.byUser[c.UserID()] = c
}

// take removes and returns the person's registration, or nil.
func (s *registrations) take(userID int64) *passkey.Ceremony {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byUser[userID]
	delete(s.byUser, userID)
	if c != nil && !time.Now().Before(c.Expires()) {
		return nil
	}
	return c
}

func (h *Handler) registrations() *registrations { return h.pendingRegistrations }
