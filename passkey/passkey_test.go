package passkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/storetest"
)

// The tests play the browser and the authenticator with a software
// authenticator: an ECDSA P-256 key, "none" attestation, and the
// authenticator data and client data built here byte by byte, as WebAuthn
// §6.1 and §5.8.1 lay them out. Nothing of go-webauthn is used to build
// them, so that the tests check the package against the specification
// rather than against the library.

const (
	rpID   = "localhost"
	origin = "https://localhost:8443"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backed up
	flagAT = 0x40 // attested credential data included
)

var b64 = base64.RawURLEncoding

// authenticator is a software WebAuthn authenticator holding one
// credential.
type authenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	aaguid []byte
	count  uint32 // signature counter, incremented before each signature
	flags  byte   // flags beyond UP and UV (BE, BS)
	// Tweaks of the next answers, to play a broken or hostile client.
	origin string // the origin the browser reports; "" for origin
	rpID   string // the RP ID whose hash is signed; "" for rpID
	noUP   bool   // the user was not present
}

func newAuthenticator(t testing.TB) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &authenticator{key: key, credID: make([]byte, 32), aaguid: make([]byte, 16)}
	rand.Read(a.credID)
	rand.Read(a.aaguid)
	return a
}

// clone returns a copy of the authenticator with the same key, credential
// and counter: what an attacker who extracted the key would hold.
func (a *authenticator) clone() *authenticator {
	c := *a
	return &c
}

var ctap2 = func() cbor.EncMode {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := ctap2.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// coseKey is the credential's public key as a COSE_Key (RFC 9052 §7,
// RFC 9053 §7.1.1): EC2, ES256, P-256, x, y.
func (a *authenticator) coseKey(t testing.TB) []byte {
	pt, err := a.key.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		t.Fatal(err)
	}
	return mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
}

// authData builds authenticator data (WebAuthn §6.1): rpIdHash, flags,
// signCount and, when attested, the attested credential data (§6.5.2).
func (a *authenticator) authData(t testing.TB, attested bool) []byte {
	id := rpID
	if a.rpID != "" {
		id = a.rpID
	}
	hash := sha256.Sum256([]byte(id))
	flags := byte(flagUP|flagUV) | a.flags
	if a.noUP {
		flags &^= flagUP
	}
	if attested {
		flags |= flagAT
	}
	d := append(hash[:], flags)
	d = binary.BigEndian.AppendUint32(d, a.count)
	if attested {
		d = append(d, a.aaguid...)
		d = binary.BigEndian.AppendUint16(d, uint16(len(a.credID)))
		d = append(d, a.credID...)
		d = append(d, a.coseKey(t)...)
	}
	return d
}

// clientData is the browser's CollectedClientData (WebAuthn §5.8.1).
func (a *authenticator) clientData(t testing.TB, typ, challenge string) []byte {
	o := origin
	if a.origin != "" {
		o = a.origin
	}
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": o, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers navigator.credentials.create() for the challenge: the
// JSON of PublicKeyCredential.toJSON() that the page posts.
func (a *authenticator) create(t testing.TB, challenge string) []byte {
	t.Helper()
	authData := a.authData(t, true)
	att := mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	return mustJSON(t, map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"authenticatorAttachment": "cross-platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"usb", "nfc", "USB; DROP", "usb"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// get answers navigator.credentials.get() for the challenge, signing with
// the next counter value.
func (a *authenticator) get(t testing.TB, challenge string, userHandle []byte) []byte {
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
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(userHandle),
		},
		"clientExtensionResults": map[string]any{},
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

// creationOptions and requestOptions are what the page reads of the
// options (the members this package sets).
type descriptor struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Transports []string `json:"transports"`
}

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		Timeout                int          `json:"timeout"`
		ExcludeCredentials     []descriptor `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey *bool  `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge        string       `json:"challenge"`
		Timeout          int          `json:"timeout"`
		RPID             string       `json:"rpId"`
		AllowCredentials []descriptor `json:"allowCredentials"`
		UserVerification string       `json:"userVerification"`
	} `json:"publicKey"`
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("options %s: %v", b, err)
	}
	return v
}

// testClock is the RelyingParty's clock, moved by hand.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newRP(t testing.TB) (*RelyingParty, *testClock) {
	t.Helper()
	rp, err := New(rpID, []string{origin}, "Guardian hub (test)")
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	rp.now = clock.Now
	return rp, clock
}

func testUser(id int64) *guardian.User {
	return &guardian.User{ID: id, Name: "ana@example.org", DisplayName: "Ana Example",
		Organisation: guardian.AgencyOrganisation("py-cyber"), Roles: []guardian.Role{guardian.RoleAgencyInvestigator}}
}

// register runs a whole registration of a's credential for u, failing the
// test if it does not succeed, and returns the passkey as a store would
// keep it (with an ID).
func register(t testing.TB, rp *RelyingParty, u *guardian.User, existing []*guardian.Passkey, a *authenticator, name string) *guardian.Passkey {
	t.Helper()
	options, c, err := rp.BeginRegistration(u, existing)
	if err != nil {
		t.Fatal(err)
	}
	o := decode[creationOptions](t, options)
	p, err := rp.FinishRegistration(u, existing, c, a.create(t, o.PublicKey.Challenge), name)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	p.ID = int64(len(existing) + 1)
	return p
}

// beginLogin starts a sign-in and returns the challenge with the state.
func beginLogin(t testing.TB, rp *RelyingParty, u *guardian.User, keys []*guardian.Passkey) (string, *Ceremony) {
	t.Helper()
	options, c, err := rp.BeginLogin(u, keys)
	if err != nil {
		t.Fatal(err)
	}
	return decode[requestOptions](t, options).PublicKey.Challenge, c
}

func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := guardian.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want %s", what, err, got, code)
	}
	if err != nil && guardian.ErrorMessage(err) == "Internal error." {
		t.Errorf("%s: no message for the person: %v", what, err)
	}
}

// TestRegisterAndSignIn: a person registers a security key and signs in
// with it, twice; the options say what the hub asks for.
func TestRegisterAndSignIn(t *testing.T) {
	rp, _ := newRP(t)
	u := testUser(42)
	key := newAuthenticator(t)

	options, c, err := rp.BeginRegistration(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := decode[creationOptions](t, options)
	pk := o.PublicKey
	switch {
	case pk.RP.ID != rpID || pk.RP.Name != "Guardian hub (test)":
		t.Errorf("rp %+v", pk.RP)
	case pk.User.ID != b64.EncodeToString([]byte{0, 0, 0, 0, 0, 0, 0, 42}):
		t.Errorf("user handle %q, want the 8 bytes of id 42", pk.User.ID)
	case pk.User.Name != u.Name || pk.User.DisplayName != u.DisplayName:
		t.Errorf("user %+v", pk.User)
	case pk.AuthenticatorSelection.ResidentKey != "preferred" || pk.AuthenticatorSelection.UserVerification != "preferred":
		t.Errorf("authenticator selection %+v, want residentKey and userVerification preferred", pk.AuthenticatorSelection)
	case pk.AuthenticatorSelection.RequireResidentKey == nil || *pk.AuthenticatorSelection.RequireResidentKey:
		t.Errorf("requireResidentKey %v, want false", pk.AuthenticatorSelection.RequireResidentKey)
	case pk.Attestation != "none":
		t.Errorf("attestation %q, want none", pk.Attestation)
	case pk.Timeout != int(CeremonyLifetime/time.Millisecond):
		t.Errorf("timeout %d ms, want %d", pk.Timeout, CeremonyLifetime/time.Millisecond)
	case len(pk.ExcludeCredentials) != 0:
		t.Errorf("exclude %v, want none", pk.ExcludeCredentials)
	case len(pk.PubKeyCredParams) == 0 || pk.PubKeyCredParams[0].Alg != -7:
		t.Errorf("pubKeyCredParams %+v, want ES256 first", pk.PubKeyCredParams)
	}
	if raw, _ := b64.DecodeString(pk.Challenge); len(raw) < 16 {
		t.Errorf("challenge %q: %d bytes, want at least 16", pk.Challenge, len(raw))
	}
	if !c.Expires().Equal(rp.now().Add(CeremonyLifetime)) || c.UserID() != u.ID {
		t.Errorf("ceremony expires %v for user %d", c.Expires(), c.UserID())
	}

	p, err := rp.FinishRegistration(u, nil, c, key.create(t, pk.Challenge), "  YubiKey 5 ")
	if err != nil {
		t.Fatal(err)
	}
	want := &guardian.Passkey{UserID: u.ID, Name: "YubiKey 5", CredentialID: key.credID, PublicKey: key.coseKey(t),
		AAGUID: key.aaguid, SignCount: 0, Transports: []string{"usb", "nfc"}, AttestationType: "none"}
	if got := *p; !equalPasskeys(&got, want) {
		t.Errorf("FinishRegistration returned\n%+v\nwant\n%+v", got, want)
	}
	p.ID = 1

	keys := []*guardian.Passkey{p}
	for i := range 2 {
		options, c, err := rp.BeginLogin(u, keys)
		if err != nil {
			t.Fatal(err)
		}
		ro := decode[requestOptions](t, options).PublicKey
		if ro.RPID != rpID || ro.UserVerification != "preferred" || len(ro.AllowCredentials) != 1 ||
			ro.AllowCredentials[0].ID != b64.EncodeToString(key.credID) || strings.Join(ro.AllowCredentials[0].Transports, ",") != "usb,nfc" {
			t.Errorf("request options %+v", ro)
		}
		used, count, err := rp.FinishLogin(u, keys, c, key.get(t, ro.Challenge, UserHandle(u.ID)))
		if err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		if used != p || count != uint32(i+1) {
			t.Errorf("sign-in %d: passkey %v, count %d; want %v, %d", i+1, used, count, p, i+1)
		}
		p.SignCount = count // as RecordPasskeyUse stores it
	}
}

// equalPasskeys compares what FinishRegistration fills in.
func equalPasskeys(a, b *guardian.Passkey) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Name == b.Name && bytes.Equal(a.CredentialID, b.CredentialID) &&
		bytes.Equal(a.PublicKey, b.PublicKey) && bytes.Equal(a.AAGUID, b.AAGUID) && a.SignCount == b.SignCount &&
		strings.Join(a.Transports, ",") == strings.Join(b.Transports, ",") && a.BackupEligible == b.BackupEligible &&
		a.BackupState == b.BackupState && a.AttestationType == b.AttestationType
}

// TestWithStore: the whole path through a real store. The passkey is kept
// and read back, signs in, and a copy of the authenticator that signs with
// the same counter value gets past the ceremony (it cannot know) but not
// past RecordPasskeyUse.
func TestWithStore(t *testing.T) {
	ctx := t.Context()
	s := storetest.MustOpenSQLite(t, nil)
	rp, _ := newRP(t)
	u := &guardian.User{Name: "ana@example.org", Organisation: guardian.AgencyOrganisation("py-cyber"),
		Roles: []guardian.Role{guardian.RoleAgencyInvestigator}, PasswordHash: "$argon2id$v=19$synthetic"}
	if err := s.CreateUser(ctx, u, &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "test"},
		Category: guardian.CategoryPermission, Action: "user.create"}); err != nil {
		t.Fatal(err)
	}
	event := func(action string) *guardian.AuditEvent {
		return &guardian.AuditEvent{Actor: u.Actor(), Category: guardian.CategoryAuthentication, Action: action}
	}
	key := newAuthenticator(t)
	key.flags = flagBE | flagBS // a synced passkey
	p := register(t, rp, u, nil, key, "Phone")
	p.ID = 0
	if err := s.AddPasskey(ctx, p, event("passkey.add")); err != nil {
		t.Fatal(err)
	}
	keys, err := s.FindPasskeys(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !equalPasskeys(keys[0], p) || !keys[0].BackupEligible || !keys[0].BackupState {
		t.Fatalf("stored %+v, want %+v", keys, p)
	}

	signIn := func(a *authenticator, keys []*guardian.Passkey) (*guardian.Passkey, uint32, error) {
		challenge, c := beginLogin(t, rp, u, keys)
		return rp.FinishLogin(u, keys, c, a.get(t, challenge, UserHandle(u.ID)))
	}
	used, count, err := signIn(key, keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPasskeyUse(ctx, used.ID, count, time.Now()); err != nil {
		t.Fatal(err)
	}

	// The key is copied; both copies sign with the next count, each in
	// a ceremony of its own, against the passkeys as read before either
	// sign-in was recorded.
	if keys, err = s.FindPasskeys(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	copied := key.clone()
	used1, count1, err1 := signIn(key, keys)
	used2, count2, err2 := signIn(copied, keys)
	if err1 != nil || err2 != nil {
		t.Fatalf("sign-ins: %v, %v", err1, err2)
	}
	if err := s.RecordPasskeyUse(ctx, used1.ID, count1, time.Now()); err != nil {
		t.Fatal(err)
	}
	err = s.RecordPasskeyUse(ctx, used2.ID, count2, time.Now())
	wantCode(t, "the second use of one count", err, guardian.ECONFLICT)

	// Read again, the copy's next lower count is refused by the ceremony
	// itself.
	if keys, err = s.FindPasskeys(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	copied.count = 0
	_, _, err = signIn(copied, keys)
	wantCode(t, "a count lower than the stored one", err, guardian.EUNAUTHORIZED)
}

// TestRefused: answers that must not register a passkey or sign anyone in.
func TestRefused(t *testing.T) {
	rp, clock := newRP(t)
	u := testUser(42)
	key := newAuthenticator(t)
	p := register(t, rp, u, nil, key, "YubiKey 5")
	keys := []*guardian.Passkey{p}

	registerWith := func(a *authenticator, challenge func(real string) string) error {
		options, c, err := rp.BeginRegistration(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rp.FinishRegistration(u, nil, c, a.create(t, challenge(decode[creationOptions](t, options).PublicKey.Challenge)), "Key")
		return err
	}
	signInWith := func(a *authenticator, challenge func(real string) string) error {
		real, c := beginLogin(t, rp, u, keys)
		_, _, err := rp.FinishLogin(u, keys, c, a.get(t, challenge(real), UserHandle(u.ID)))
		return err
	}
	same := func(c string) string { return c }
	other := func(string) string { return b64.EncodeToString(bytes.Repeat([]byte{9}, 32)) }

	t.Run("WrongOrigin", func(t *testing.T) {
		a := newAuthenticator(t)
		a.origin = "https://phish.example.com"
		wantCode(t, "registration", registerWith(a, same), guardian.EUNAUTHORIZED)
		k := key.clone()
		k.origin = "https://phish.example.com"
		wantCode(t, "sign-in", signInWith(k, same), guardian.EUNAUTHORIZED)
		k.origin = "http://localhost:8443" // the right host, without TLS
		wantCode(t, "sign-in over http", signInWith(k, same), guardian.EUNAUTHORIZED)
	})
	t.Run("WrongRPID", func(t *testing.T) {
		a := newAuthenticator(t)
		a.rpID = "example.com"
		wantCode(t, "registration", registerWith(a, same), guardian.EUNAUTHORIZED)
		k := key.clone()
		k.rpID = "example.com"
		wantCode(t, "sign-in", signInWith(k, same), guardian.EUNAUTHORIZED)
	})
	t.Run("WrongChallenge", func(t *testing.T) {
		wantCode(t, "registration", registerWith(newAuthenticator(t), other), guardian.EUNAUTHORIZED)
		wantCode(t, "sign-in", signInWith(key.clone(), other), guardian.EUNAUTHORIZED)
	})
	t.Run("UserNotPresent", func(t *testing.T) {
		k := key.clone()
		k.noUP = true
		wantCode(t, "sign-in", signInWith(k, same), guardian.EUNAUTHORIZED)
	})
	t.Run("BadSignature", func(t *testing.T) {
		challenge, c := beginLogin(t, rp, u, keys)
		answer := decode[map[string]any](t, key.clone().get(t, challenge, UserHandle(u.ID)))
		resp := answer["response"].(map[string]any)
		sig, _ := b64.DecodeString(resp["signature"].(string))
		sig[len(sig)-1] ^= 1
		resp["signature"] = b64.EncodeToString(sig)
		_, _, err := rp.FinishLogin(u, keys, c, mustJSON(t, answer))
		wantCode(t, "a changed signature", err, guardian.EUNAUTHORIZED)
	})
	t.Run("ReplayedCeremony", func(t *testing.T) {
		options, c, err := rp.BeginRegistration(u, keys)
		if err != nil {
			t.Fatal(err)
		}
		answer := newAuthenticator(t).create(t, decode[creationOptions](t, options).PublicKey.Challenge)
		if _, err := rp.FinishRegistration(u, keys, c, answer, "Spare"); err != nil {
			t.Fatal(err)
		}
		_, err = rp.FinishRegistration(u, keys, c, answer, "Spare")
		wantCode(t, "a registration finished twice", err, guardian.EUNAUTHORIZED)

		k := key.clone()
		challenge, c := beginLogin(t, rp, u, keys)
		answer = k.get(t, challenge, UserHandle(u.ID))
		if _, _, err := rp.FinishLogin(u, keys, c, answer); err != nil {
			t.Fatal(err)
		}
		_, _, err = rp.FinishLogin(u, keys, c, answer)
		wantCode(t, "a sign-in finished twice", err, guardian.EUNAUTHORIZED)
		// The same answer to a new ceremony answers another challenge.
		_, c = beginLogin(t, rp, u, keys)
		_, _, err = rp.FinishLogin(u, keys, c, answer)
		wantCode(t, "an old answer to a new sign-in", err, guardian.EUNAUTHORIZED)

		// A failed attempt uses the ceremony up too.
		challenge, c = beginLogin(t, rp, u, keys)
		if _, _, err := rp.FinishLogin(u, keys, c, []byte("{")); err == nil {
			t.Fatal("a broken answer was accepted")
		}
		_, _, err = rp.FinishLogin(u, keys, c, k.get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "a good answer after a bad one", err, guardian.EUNAUTHORIZED)
	})
	t.Run("ExpiredCeremony", func(t *testing.T) {
		options, c, err := rp.BeginRegistration(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		answer := newAuthenticator(t).create(t, decode[creationOptions](t, options).PublicKey.Challenge)
		challenge, lc := beginLogin(t, rp, u, keys)
		clock.now = clock.now.Add(CeremonyLifetime)
		defer func() { clock.now = clock.now.Add(-CeremonyLifetime) }()
		_, err = rp.FinishRegistration(u, nil, c, answer, "Late")
		wantCode(t, "a late registration", err, guardian.EUNAUTHORIZED)
		_, _, err = rp.FinishLogin(u, keys, lc, key.clone().get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "a late sign-in", err, guardian.EUNAUTHORIZED)
	})
	t.Run("LoweredSignCount", func(t *testing.T) {
		stored := *p
		stored.SignCount = 10
		k := key.clone()
		k.count = 9 // signs with 10: not greater than the stored 10
		challenge, c := beginLogin(t, rp, u, []*guardian.Passkey{&stored})
		_, _, err := rp.FinishLogin(u, []*guardian.Passkey{&stored}, c, k.get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "sign count 10 after 10", err, guardian.EUNAUTHORIZED)
		k.count = 3
		challenge, c = beginLogin(t, rp, u, []*guardian.Passkey{&stored})
		_, _, err = rp.FinishLogin(u, []*guardian.Passkey{&stored}, c, k.get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "sign count 4 after 10", err, guardian.EUNAUTHORIZED)
	})
	t.Run("UnknownCredential", func(t *testing.T) {
		wantCode(t, "a key never registered", signInWith(newAuthenticator(t), same), guardian.EUNAUTHORIZED)
		// Another person's passkey, answering this person's sign-in.
		bea := testUser(43)
		beaKey := newAuthenticator(t)
		beaPasskey := register(t, rp, bea, nil, beaKey, "Bea's key")
		challenge, c := beginLogin(t, rp, u, keys)
		_, _, err := rp.FinishLogin(u, keys, c, beaKey.get(t, challenge, UserHandle(bea.ID)))
		wantCode(t, "another person's key", err, guardian.EUNAUTHORIZED)
		// ... even when the caller wrongly passes it along.
		challenge, c = beginLogin(t, rp, u, keys)
		beaPasskey.UserID = u.ID
		_, _, err = rp.FinishLogin(u, append(keys, beaPasskey), c, beaKey.get(t, challenge, UserHandle(bea.ID)))
		wantCode(t, "another person's key, passed along", err, guardian.EUNAUTHORIZED)
	})
	t.Run("RemovedSinceBegin", func(t *testing.T) {
		spareKey := newAuthenticator(t)
		spare := register(t, rp, u, keys, spareKey, "Spare")
		both := []*guardian.Passkey{p, spare}
		// The spare is removed while the sign-in is under way: it no
		// longer signs in, and the ceremony that offered it is over.
		challenge, c := beginLogin(t, rp, u, both)
		_, _, err := rp.FinishLogin(u, keys, c, spareKey.get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "a passkey removed since Begin", err, guardian.EUNAUTHORIZED)
		challenge, c = beginLogin(t, rp, u, both)
		_, _, err = rp.FinishLogin(u, keys, c, key.clone().get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "another passkey, after one was removed since Begin", err, guardian.EUNAUTHORIZED)
	})
	t.Run("OtherUsersCeremony", func(t *testing.T) {
		bea := testUser(43)
		challenge, c := beginLogin(t, rp, u, keys)
		_, _, err := rp.FinishLogin(bea, keys, c, key.clone().get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "Ana's ceremony finished for Bea", err, guardian.EUNAUTHORIZED)
	})
	t.Run("WrongKindOfCeremony", func(t *testing.T) {
		options, c, err := rp.BeginRegistration(u, keys)
		if err != nil {
			t.Fatal(err)
		}
		challenge := decode[creationOptions](t, options).PublicKey.Challenge
		_, _, err = rp.FinishLogin(u, keys, c, key.clone().get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "a registration's ceremony finishing a sign-in", err, guardian.EINVALID)
		_, _, err = rp.FinishLogin(u, keys, nil, key.clone().get(t, challenge, UserHandle(u.ID)))
		wantCode(t, "no ceremony", err, guardian.EINVALID)
	})
	t.Run("MalformedAnswer", func(t *testing.T) {
		k := key.clone()
		for name, answer := range map[string][]byte{
			"empty":      nil,
			"not JSON":   []byte("{"),
			"JSON null":  []byte("null"),
			"no id":      []byte(`{"type":"public-key","response":{}}`),
			"too large":  append(k.get(t, "x", nil), bytes.Repeat([]byte(" "), MaxResponse)...),
			"trailing":   append(k.get(t, "x", nil), []byte(`{}`)...),
			"bad base64": []byte(`{"id":"!!","rawId":"!!","type":"public-key","response":{}}`),
		} {
			_, c := beginLogin(t, rp, u, keys)
			_, _, err := rp.FinishLogin(u, keys, c, answer)
			wantCode(t, "sign-in, "+name, err, guardian.EINVALID)
			options, rc, err := rp.BeginRegistration(u, keys)
			if err != nil || len(options) == 0 {
				t.Fatal(err)
			}
			_, err = rp.FinishRegistration(u, keys, rc, answer, "Key")
			wantCode(t, "registration, "+name, err, guardian.EINVALID)
		}
	})
	t.Run("RegisteredAlready", func(t *testing.T) {
		options, c, err := rp.BeginRegistration(u, keys)
		if err != nil {
			t.Fatal(err)
		}
		o := decode[creationOptions](t, options).PublicKey
		if len(o.ExcludeCredentials) != 1 || o.ExcludeCredentials[0].ID != b64.EncodeToString(key.credID) {
			t.Errorf("excludeCredentials %+v, want the registered key", o.ExcludeCredentials)
		}
		// An authenticator that ignores the exclusion.
		_, err = rp.FinishRegistration(u, keys, c, key.clone().create(t, o.Challenge), "Again")
		wantCode(t, "the same key again", err, guardian.ECONFLICT)
	})
	t.Run("TooMany", func(t *testing.T) {
		var many []*guardian.Passkey
		for range guardian.MaxPasskeysPerUser {
			many = append(many, register(t, rp, u, many, newAuthenticator(t), "Key"))
		}
		_, _, err := rp.BeginRegistration(u, many)
		wantCode(t, "one passkey too many", err, guardian.ECONFLICT)
	})
	t.Run("NoPasskeys", func(t *testing.T) {
		_, _, err := rp.BeginLogin(u, nil)
		wantCode(t, "a sign-in without passkeys", err, guardian.ENOTFOUND)
	})
	t.Run("BadName", func(t *testing.T) {
		options, c, err := rp.BeginRegistration(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		answer := newAuthenticator(t).create(t, decode[creationOptions](t, options).PublicKey.Challenge)
		for _, name := range []string{"", "   ", "Key\x00", strings.Repeat("k", guardian.MaxPasskeyName+1)} {
			_, err := rp.FinishRegistration(u, nil, c, answer, name)
			wantCode(t, "name "+name, err, guardian.EINVALID)
		}
		// The ceremony was not used up: the person corrects the name.
		if _, err := rp.FinishRegistration(u, nil, c, answer, "Spare key"); err != nil {
			t.Errorf("after a refused name: %v", err)
		}
	})
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		id      string
		origins []string
		ok      bool
	}{
		{"localhost", []string{"https://localhost:8443", "http://localhost:8080"}, true},
		{"hub.example.org", []string{"https://hub.example.org", "https://admin.hub.example.org:8443"}, true},
		{"hub.example.org", []string{"http://hub.example.org"}, false},
		{"hub.example.org", []string{"https://example.org"}, false},
		{"hub.example.org", []string{"https://evilhub.example.org"}, false},
		{"hub.example.org", []string{"https://hub.example.org/path"}, false},
		{"hub.example.org", nil, false},
		{"", []string{"https://hub.example.org"}, false},
		{"https://hub.example.org", []string{"https://hub.example.org"}, false},
	} {
		_, err := New(tt.id, tt.origins, "Guardian hub")
		if (err == nil) != tt.ok {
			t.Errorf("New(%q, %q): %v, want ok %v", tt.id, tt.origins, err, tt.ok)
		}
	}
	if _, err := New("localhost", []string{origin}, " "); err == nil {
		t.Error("New accepted a blank display name")
	}
}

// FuzzFinishLogin: whatever the browser posts, FinishLogin neither panics
// nor fails in a way the person cannot be told about, and only the
// authenticator's own answer signs in.
func FuzzFinishLogin(f *testing.F) {
	rp, _ := newRP(f)
	u := testUser(42)
	key := newAuthenticator(f)
	p := register(f, rp, u, nil, key, "YubiKey 5")
	keys := []*guardian.Passkey{p}
	_, c := beginLogin(f, rp, u, keys)
	session := c.session // every input answers this same challenge
	f.Add(key.get(f, session.Challenge, UserHandle(u.ID)))
	f.Add(key.get(f, session.Challenge, nil))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		c := &Ceremony{kind: login, userID: u.ID, expires: rp.now().Add(time.Minute), session: session}
		used, _, err := rp.FinishLogin(u, keys, c, answer)
		if err == nil {
			if used != p {
				t.Fatalf("signed in with %v", used)
			}
			return
		}
		if code := guardian.ErrorCode(err); code != guardian.EINVALID && code != guardian.EUNAUTHORIZED {
			t.Fatalf("error %v: code %q", err, code)
		}
	})
}

// FuzzFinishRegistration: the same for registrations.
func FuzzFinishRegistration(f *testing.F) {
	rp, _ := newRP(f)
	u := testUser(42)
	options, c, err := rp.BeginRegistration(u, nil)
	if err != nil {
		f.Fatal(err)
	}
	session := c.session
	f.Add(newAuthenticator(f).create(f, decode[creationOptions](f, options).PublicKey.Challenge))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		c := &Ceremony{kind: registration, userID: u.ID, expires: rp.now().Add(time.Minute), session: session}
		p, err := rp.FinishRegistration(u, nil, c, answer, "Key")
		if err == nil {
			if p.UserID != u.ID || len(p.CredentialID) == 0 || len(p.PublicKey) == 0 {
				t.Fatalf("registered %+v", p)
			}
			return
		}
		if code := guardian.ErrorCode(err); code != guardian.EINVALID && code != guardian.EUNAUTHORIZED {
			t.Fatalf("error %v: code %q", err, code)
		}
	})
}
