// Package passkey runs the WebAuthn ceremonies that register a person's
// passkeys and check them at sign-in, where a passkey is the second factor
// after the password. It is the only package that knows go-webauthn; the
// passkeys themselves are [guardian.Passkey] values kept by a
// [guardian.PasskeyStore].
//
// A hub makes one [RelyingParty] with [New] and uses it from every request.
// Each ceremony has two steps, with a trip to the browser between them:
//
//	// Registering a passkey (a signed-in person):
//	keys, _ := store.FindPasskeys(ctx, u.ID)
//	options, c, err := rp.BeginRegistration(u, keys)
//	// ... keep c server-side, send options; the browser posts its answer ...
//	p, err := rp.FinishRegistration(u, keys, c, body, name)
//	err = store.AddPasskey(ctx, p, ev) // passkey.add
//
//	// Signing in, once the password was right:
//	keys, _ := store.FindPasskeys(ctx, u.ID)
//	options, c, err := rp.BeginLogin(u, keys)
//	// ... as above ...
//	used, count, err := rp.FinishLogin(u, keys, c, body)
//	err = store.RecordPasskeyUse(ctx, used.ID, count, now) // ECONFLICT: refuse the sign-in
//	err = store.RecordSignIn(ctx, u.ID, 0, ev)
//
// The options are the JSON argument of navigator.credentials.create() or
// .get(), with its "publicKey" member; its binary members are base64url
// strings, as PublicKeyCredential.parseCreationOptionsFromJSON and
// parseRequestOptionsFromJSON read them. The answer the browser posts is
// the JSON of PublicKeyCredential.toJSON().
//
// # Ceremonies
//
// A [Ceremony] holds a ceremony's challenge between the two steps. It is
// opaque and small (its data encodes in some 150 bytes for a person with
// one passkey, 460 with ten), meant to be kept in server memory, keyed by
// something random bound to the person's session, and never sent to the
// browser. It is good
// for one Finish call, whatever that call's outcome, and for
// [CeremonyLifetime]: a second answer to the same challenge, or a late one,
// is refused.
//
// # Errors
//
// Every byte of the browser's answer is treated as hostile: an answer
// larger than [MaxResponse] is refused before it is parsed. An answer that
// cannot be read is [guardian.EINVALID]; one that is read but does not
// verify (another origin, another challenge, a bad signature, a passkey
// the person does not have, a signature counter that went back) is
// [guardian.EUNAUTHORIZED]. The messages are fit to show; the errors they
// wrap say what go-webauthn found, for the log.
//
// # User handles
//
// WebAuthn asks for a user handle, stored on the authenticator with a
// discoverable credential and given back at every sign-in, that carries no
// personal information. This package uses the 8 bytes of the user's ID,
// big-endian ([UserHandle]). The handle must be stable, so that registering
// a second passkey on the same authenticator replaces the first rather than
// adding a stray one, and the same for every passkey of a person; the
// user's ID is stable, says nothing about the person (not their name or
// e-mail address, which the sign-in name often is), and needs no column of
// its own. A random handle per person would also hide how many accounts
// the hub has from someone holding the authenticator, but would need a new
// secret or column kept for ever; a row number was judged not worth that.
//
// User verification (a PIN or a fingerprint) and discoverable credentials
// are asked for as "preferred", and attestation as "none": the hub trusts
// whatever authenticator the person chooses, since the passkey is a second
// factor after the password, and asks for nothing that identifies the
// authenticator's maker.
package passkey

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/guardian-network/guardian"
)

// CeremonyLifetime is how long a ceremony may take, from Begin to Finish:
// enough to find a security key and touch it; it is also the timeout the
// browser is given.
const CeremonyLifetime = 5 * time.Minute

// MaxResponse bounds the browser's answer. An honest one is a few
// kilobytes: client data, authenticator data, a public key of at most a
// few hundred bytes (a post-quantum one of some 2.6 KiB) and a signature,
// in base64.
const MaxResponse = 64 << 10

// RelyingParty runs ceremonies for one hub: its host name (the WebAuthn
// RP ID) and the origins its pages are served from. It is safe for
// concurrent use.
type RelyingParty struct {
	w   *webauthn.WebAuthn
	now func() time.Time // the clock of ceremony expiry; tests move it
}

// New returns a RelyingParty for the host id ("hub.example.org", or
// "localhost"), whose pages are served from origins
// ("https://hub.example.org", "https://hub.example.org:8443"), shown to
// people as displayName ("Guardian hub"). Every origin must be https (or
// http on localhost, which browsers treat as secure) on id or one of its
// subdomains, as WebAuthn requires.
func New(id string, origins []string, displayName string) (*RelyingParty, error) {
	if id == "" || strings.ContainsAny(id, ":/ ") {
		return nil, fmt.Errorf("passkey: relying party id %q is not a host name", id)
	}
	if strings.TrimSpace(displayName) == "" {
		return nil, errors.New("passkey: a display name is required")
	}
	if len(origins) == 0 {
		return nil, errors.New("passkey: at least one origin is required")
	}
	for _, o := range origins {
		if err := checkOrigin(id, o); err != nil {
			return nil, err
		}
	}
	no := false
	w, err := webauthn.New(&webauthn.Config{
		RPID:                  id,
		RPDisplayName:         displayName,
		RPOrigins:             append([]string(nil), origins...),
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: &no,
			UserVerification:   protocol.VerificationPreferred,
		},
		// The browser's timeouts; expiry itself is checked here, against
		// the RelyingParty's clock (see finish).
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: CeremonyLifetime, TimeoutUVD: CeremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: CeremonyLifetime, TimeoutUVD: CeremonyLifetime},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{w: w, now: time.Now}, nil
}

// checkOrigin checks that origin is a secure origin of the host id.
func checkOrigin(id, origin string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("passkey: origin %q is not scheme://host[:port]", origin)
	}
	host := u.Hostname()
	switch {
	case host != id && !strings.HasSuffix(host, "."+id):
		return fmt.Errorf("passkey: origin %q is not on %s or a subdomain of it", origin, id)
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
	default:
		return fmt.Errorf("passkey: origin %q is not https", origin)
	}
	return nil
}

// UserHandle returns the WebAuthn user handle of the user with the id: its
// 8 bytes, big-endian (see the package doc, "User handles").
func UserHandle(userID int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(userID))
}

// ceremonyKind tells a registration's ceremony from a sign-in's.
type ceremonyKind uint8

const (
	registration ceremonyKind = iota + 1
	login
)

func (k ceremonyKind) String() string {
	if k == registration {
		return "registration"
	}
	return "sign-in"
}

// Ceremony is the state of one ceremony between Begin and Finish: see the
// package doc. Use it by pointer; it must not be copied.
type Ceremony struct {
	kind    ceremonyKind
	userID  int64
	expires time.Time
	session webauthn.SessionData
	used    atomic.Bool // set by the first Finish call
}

// UserID returns the user the ceremony was begun for.
func (c *Ceremony) UserID() int64 { return c.userID }

// Expires returns when the ceremony stops being accepted, so that the
// caller can drop it from memory then.
func (c *Ceremony) Expires() time.Time { return c.expires }

// user presents a guardian.User and their passkeys as go-webauthn's User.
type user struct {
	u     *guardian.User
	creds []webauthn.Credential
}

func (x user) WebAuthnID() []byte   { return UserHandle(x.u.ID) }
func (x user) WebAuthnName() string { return x.u.Name }
func (x user) WebAuthnDisplayName() string {
	if x.u.DisplayName != "" {
		return x.u.DisplayName
	}
	return x.u.Name
}
func (x user) WebAuthnCredentials() []webauthn.Credential { return x.creds }

// newUser checks u and converts its passkeys.
func newUser(u *guardian.User, keys []*guardian.Passkey) (user, error) {
	if u == nil || u.ID <= 0 {
		return user{}, errors.New("passkey: a stored user is required")
	}
	creds := make([]webauthn.Credential, 0, len(keys))
	for _, p := range keys {
		if p == nil {
			return user{}, errors.New("passkey: a nil passkey was given")
		}
		if p.UserID != u.ID {
			return user{}, fmt.Errorf("passkey: a passkey of user %d was given for user %d", p.UserID, u.ID)
		}
		creds = append(creds, credential(p))
	}
	return user{u: u, creds: creds}, nil
}

// credential converts a stored passkey into go-webauthn's record of it.
func credential(p *guardian.Passkey) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:              p.CredentialID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       ts,
		Flags:           webauthn.CredentialFlags{UserPresent: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator:   webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// descriptors lists the credentials for the browser: the passkeys to
// exclude from a registration, or to allow at a sign-in.
func descriptors(creds []webauthn.Credential) []protocol.CredentialDescriptor {
	ds := make([]protocol.CredentialDescriptor, len(creds))
	for i, c := range creds {
		ds[i] = c.Descriptor()
	}
	return ds
}

// BeginRegistration starts registering a new passkey for u, who has the
// passkeys existing: the browser is told to refuse an authenticator that
// holds one of them already. A person who has [guardian.MaxPasskeysPerUser]
// passkeys is refused with ECONFLICT.
func (rp *RelyingParty) BeginRegistration(u *guardian.User, existing []*guardian.Passkey) (options []byte, state *Ceremony, err error) {
	wu, err := newUser(u, existing)
	if err != nil {
		return nil, nil, err
	}
	if len(existing) >= guardian.MaxPasskeysPerUser {
		return nil, nil, guardian.Errorf(guardian.ECONFLICT, "You have %d passkeys, the most one person may have: remove one before adding another.", len(existing))
	}
	creation, session, err := rp.w.BeginRegistration(wu, webauthn.WithExclusions(descriptors(wu.creds)))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return rp.begin(creation, session, registration, u.ID)
}

// begin encodes the options and keeps the session as a Ceremony.
func (rp *RelyingParty) begin(options any, session *webauthn.SessionData, kind ceremonyKind, userID int64) ([]byte, *Ceremony, error) {
	b, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode %s options: %w", kind, err)
	}
	return b, &Ceremony{kind: kind, userID: userID, expires: rp.now().Add(CeremonyLifetime), session: *session}, nil
}

// finish uses up the ceremony state for u, and checks the answer's size.
// Whatever it finds, the ceremony cannot be finished again.
func (rp *RelyingParty) finish(u *guardian.User, state *Ceremony, kind ceremonyKind, response []byte) error {
	switch {
	case u == nil:
		return errors.New("passkey: a stored user is required")
	case state == nil:
		return guardian.Errorf(guardian.EINVALID, "No passkey %s was started; start again.", kind)
	case state.used.Swap(true):
		return guardian.Errorf(guardian.EUNAUTHORIZED, "This passkey %s has been answered already; start again.", kind)
	case state.kind != kind:
		return guardian.Errorf(guardian.EINVALID, "This is not a passkey %s; start again.", kind)
	case state.userID != u.ID:
		return guardian.Errorf(guardian.EUNAUTHORIZED, "This passkey %s was started for another account; start again.", kind)
	case !rp.now().Before(state.expires):
		return guardian.Errorf(guardian.EUNAUTHORIZED, "This passkey %s took too long (more than %v); start again.", kind, CeremonyLifetime)
	case len(response) == 0:
		return guardian.Errorf(guardian.EINVALID, "The browser sent no passkey answer.")
	case len(response) > MaxResponse:
		return guardian.Errorf(guardian.EINVALID, "The browser's passkey answer is larger than %d KiB.", MaxResponse>>10)
	}
	return nil
}

// refused wraps err, from go-webauthn, in a guardian error with the code
// and message, keeping what go-webauthn found for the log.
func refused(code, message string, err error) error {
	g := guardian.Errorf(code, "%s", message)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %w (%s)", g, err, guardian.Clip(pe.DevInfo, 300))
	}
	return fmt.Errorf("%w: %w", g, err)
}

// FinishRegistration checks the browser's answer to state, begun by
// BeginRegistration for u with existing, and returns the new passkey, named
// name (trimmed; see [guardian.CheckPasskeyName]), for the caller to store
// with AddPasskey. A name that is refused leaves the ceremony unused, so
// that the person may correct it and send the same answer again. An
// authenticator that already holds one of existing is ECONFLICT.
func (rp *RelyingParty) FinishRegistration(u *guardian.User, existing []*guardian.Passkey, state *Ceremony, response []byte, name string) (*guardian.Passkey, error) {
	name = strings.TrimSpace(name)
	if err := guardian.CheckPasskeyName(name); err != nil {
		return nil, err
	}
	if err := rp.finish(u, state, registration, response); err != nil {
		return nil, err
	}
	wu, err := newUser(u, existing)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, refused(guardian.EINVALID, "The browser's passkey answer could not be read.", err)
	}
	cred, err := rp.w.CreateCredential(wu, state.session, parsed)
	if err != nil {
		return nil, refused(guardian.EUNAUTHORIZED, "The new passkey could not be verified; start again.", err)
	}
	for _, p := range existing {
		if string(p.CredentialID) == string(cred.ID) {
			return nil, guardian.Errorf(guardian.ECONFLICT, "This passkey is registered already, as %q.", p.Name)
		}
	}
	p := &guardian.Passkey{
		UserID:          u.ID,
		Name:            name,
		CredentialID:    cred.ID,
		PublicKey:       cred.PublicKey,
		SignCount:       cred.Authenticator.SignCount,
		Transports:      transports(cred.Transport),
		BackupEligible:  cred.Flags.BackupEligible,
		BackupState:     cred.Flags.BackupState,
		AttestationType: guardian.Clip(cred.AttestationType, 32),
	}
	// With attestation "none" browsers may zero the AAGUID: that is no
	// model at all.
	if len(cred.Authenticator.AAGUID) == 16 && strings.Trim(string(cred.Authenticator.AAGUID), "\x00") != "" {
		p.AAGUID = cred.Authenticator.AAGUID
	}
	return p, nil
}

// transports keeps the transports the browser reported that look like
// WebAuthn's names, once each and at most 8: they come from the browser
// unchecked, are only hints for later sign-ins, and a strange one is
// better dropped than a registration refused.
func transports(ts []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range ts {
		s := string(t)
		if len(out) == 8 || s == "" || len(s) > 32 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// BeginLogin starts checking one of u's passkeys at sign-in: the browser is
// told which of them it may use. A person without passkeys is ENOTFOUND:
// a sign-in ceremony that allowed any credential would not say whose it
// was.
func (rp *RelyingParty) BeginLogin(u *guardian.User, passkeys []*guardian.Passkey) (options []byte, state *Ceremony, err error) {
	wu, err := newUser(u, passkeys)
	if err != nil {
		return nil, nil, err
	}
	if len(passkeys) == 0 {
		return nil, nil, guardian.Errorf(guardian.ENOTFOUND, "This account has no passkey.")
	}
	assertion, session, err := rp.w.BeginLogin(wu)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin sign-in: %w", err)
	}
	return rp.begin(assertion, session, login, u.ID)
}

// FinishLogin checks the browser's answer to state, begun by BeginLogin for
// u with passkeys. It returns the passkey that signed (an element of
// passkeys) and its new signature count, which the caller records with
// RecordPasskeyUse before letting the person in: that compare-and-set is
// what stops the same count being used twice across hub processes. A count
// that is not greater than the one in passkeys (and not 0 on both sides)
// is refused here already.
//
// passkeys are best read again for Finish: a passkey removed since
// BeginLogin no longer signs in. If one of those offered at BeginLogin is
// missing, the sign-in is refused (EUNAUTHORIZED) and must start again.
func (rp *RelyingParty) FinishLogin(u *guardian.User, passkeys []*guardian.Passkey, state *Ceremony, response []byte) (used *guardian.Passkey, newSignCount uint32, err error) {
	if err := rp.finish(u, state, login, response); err != nil {
		return nil, 0, err
	}
	wu, err := newUser(u, passkeys)
	if err != nil {
		return nil, 0, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, 0, refused(guardian.EINVALID, "The browser's passkey answer could not be read.", err)
	}
	for _, p := range passkeys {
		if string(p.CredentialID) == string(parsed.RawID) {
			used = p
			break
		}
	}
	if used == nil {
		return nil, 0, guardian.Errorf(guardian.EUNAUTHORIZED, "This passkey is not registered to your account.")
	}
	cred, err := rp.w.ValidateLogin(wu, state.session, parsed)
	if err != nil {
		return nil, 0, refused(guardian.EUNAUTHORIZED, "The passkey could not be verified.", err)
	}
	if cred.Authenticator.CloneWarning {
		return nil, 0, guardian.Errorf(guardian.EUNAUTHORIZED,
			"Passkey %q counted %d signatures, not more than the %d it had counted before: it may have been copied. Sign in with another passkey and remove this one.",
			used.Name, parsed.Response.AuthenticatorData.Counter, used.SignCount)
	}
	return used, parsed.Response.AuthenticatorData.Counter, nil
}
