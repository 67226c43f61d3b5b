package storetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// passkeys returns the store as a guardian.PasskeyStore, failing the test
// if it is not.
func (e *env) passkeys() guardian.PasskeyStore {
	e.t.Helper()
	ps, ok := e.s.(guardian.PasskeyStore)
	if !ok {
		e.t.Fatalf("%T is not a guardian.PasskeyStore", e.s)
	}
	return ps
}

// newTestPasskey returns a passkey of the user with a random credential
// id and synthetic key bytes: the store keeps them as given and never
// parses them.
func newTestPasskey(userID int64, name string) *guardian.Passkey {
	id := make([]byte, 32)
	rand.Read(id)
	aaguid := make([]byte, 16)
	rand.Read(aaguid)
	return &guardian.Passkey{UserID: userID, Name: name, CredentialID: id,
		PublicKey: append([]byte{0xa5, 0x01, 0x02, 0x03, 0x26}, bytes.Repeat([]byte{7}, 72)...),
		AAGUID:    aaguid, Transports: []string{"usb", "nfc"}, AttestationType: "none"}
}

// addPasskey adds p for its user, failing the test on error.
func (e *env) addPasskey(p *guardian.Passkey) *guardian.Passkey {
	e.t.Helper()
	if err := e.passkeys().AddPasskey(e.ctx, p, authEvent(guardian.Actor{Kind: guardian.ActorUser, ID: fmt.Sprint(p.UserID)}, "passkey.add")); err != nil {
		e.t.Fatalf("AddPasskey(%q): %v", p.Name, err)
	}
	return p
}

// findPasskeys returns the user's passkeys, failing the test on error.
func (e *env) findPasskeys(userID int64) []*guardian.Passkey {
	e.t.Helper()
	keys, err := e.passkeys().FindPasskeys(e.ctx, userID)
	if err != nil {
		e.t.Fatalf("FindPasskeys(%d): %v", userID, err)
	}
	return keys
}

func testAddPasskey(t *testing.T, e *env) {
	ps := e.passkeys()
	u := e.user("ana@example.org")
	n := e.eventCount()
	p := newTestPasskey(u.ID, "YubiKey 5")
	p.SignCount, p.BackupEligible, p.BackupState = 7, true, true
	ev := authEvent(u.Actor(), "passkey.add")
	ev.Category = "" // the store gives the category of the table
	if err := ps.AddPasskey(e.ctx, p, ev); err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || !p.CreatedAt.Equal(e.now()) || p.LastUsedAt != nil {
		t.Errorf("AddPasskey set ID %d, CreatedAt %v, LastUsedAt %v; want an id, %v and nil", p.ID, p.CreatedAt, p.LastUsedAt, e.now())
	}
	// The event names the user (the passkey's row may be deleted later)
	// and the passkey's id.
	e.wantEvents(n, auth("passkey.add", "passkey:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, fmt.Sprint(p.ID)))
	e.wantStored(ev)

	e.clock.Advance(time.Second)
	phone := newTestPasskey(u.ID, "Phone")
	phone.AAGUID, phone.Transports, phone.AttestationType = nil, nil, ""
	e.addPasskey(phone)
	other := e.user("bea@example.org")
	e.addPasskey(newTestPasskey(other.ID, "Other's key"))

	got := e.findPasskeys(u.ID)
	if diff := cmp.Diff([]*guardian.Passkey{p, phone}, got); diff != "" {
		t.Errorf("FindPasskeys (-added +found):\n%s", diff)
	}
	if got := e.findPasskeys(1 << 40); len(got) != 0 {
		t.Errorf("FindPasskeys of an unknown user: %d passkeys", len(got))
	}
	// Nothing secret is in a passkey, but its keys have no business in
	// the record either.
	for _, ev := range e.events(guardian.AuditFilter{}) {
		if strings.Contains(fmt.Sprintf("%+v", ev), fmt.Sprintf("%x", p.CredentialID)) {
			t.Errorf("event %d holds a credential id", ev.ID)
		}
	}
}

func testAddPasskeyRefused(t *testing.T, e *env) {
	ps := e.passkeys()
	u := e.user("ana@example.org")
	other := e.user("bea@example.org")
	first := e.addPasskey(newTestPasskey(u.ID, "YubiKey 5"))
	n := e.eventCount()
	add := func(p *guardian.Passkey) error {
		return ps.AddPasskey(e.ctx, p, authEvent(u.Actor(), "passkey.add"))
	}

	// A credential id is stored once, whoever registers it again.
	for _, uid := range []int64{u.ID, other.ID} {
		dup := newTestPasskey(uid, "Again")
		dup.CredentialID = bytes.Clone(first.CredentialID)
		e.refused(add(dup), guardian.ECONFLICT, n)
	}
	e.refused(add(newTestPasskey(1<<40, "Nobody's")), guardian.ENOTFOUND, n)

	for name, change := range map[string]func(p *guardian.Passkey){
		"no user":               func(p *guardian.Passkey) { p.UserID = 0 },
		"no name":               func(p *guardian.Passkey) { p.Name = "" },
		"blank name":            func(p *guardian.Passkey) { p.Name = " \t " },
		"long name":             func(p *guardian.Passkey) { p.Name = strings.Repeat("é", guardian.MaxPasskeyName+1) },
		"control in name":       func(p *guardian.Passkey) { p.Name = "Key\n2" },
		"invalid UTF-8 name":    func(p *guardian.Passkey) { p.Name = "Key \xff" },
		"no credential id":      func(p *guardian.Passkey) { p.CredentialID = nil },
		"long credential id":    func(p *guardian.Passkey) { p.CredentialID = make([]byte, 1024) },
		"no public key":         func(p *guardian.Passkey) { p.PublicKey = nil },
		"huge public key":       func(p *guardian.Passkey) { p.PublicKey = make([]byte, 8<<10+1) },
		"short AAGUID":          func(p *guardian.Passkey) { p.AAGUID = []byte{1, 2, 3} },
		"transport with comma":  func(p *guardian.Passkey) { p.Transports = []string{"usb,nfc"} },
		"upper-case transport":  func(p *guardian.Passkey) { p.Transports = []string{"USB"} },
		"empty transport":       func(p *guardian.Passkey) { p.Transports = []string{""} },
		"too many transports":   func(p *guardian.Passkey) { p.Transports = strings.Split("a,b,c,d,e,f,g,h,i", ",") },
		"backed up, ineligible": func(p *guardian.Passkey) { p.BackupState, p.BackupEligible = true, false },
	} {
		p := newTestPasskey(u.ID, "Key 2")
		change(p)
		if err := add(p); guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if got := e.eventCount(); got != n {
		t.Errorf("refused passkeys stored %d events", got-n)
	}
	if err := ps.AddPasskey(e.ctx, newTestPasskey(u.ID, "No event"), nil); err == nil {
		t.Error("a passkey was added without its audit event")
	}

	// At most MaxPasskeysPerUser per person; others are not counted.
	for i := 2; i <= guardian.MaxPasskeysPerUser; i++ {
		e.addPasskey(newTestPasskey(u.ID, fmt.Sprintf("Key %d", i)))
	}
	n = e.eventCount()
	err := add(newTestPasskey(u.ID, "One too many"))
	e.refused(err, guardian.ECONFLICT, n)
	if msg := guardian.ErrorMessage(err); !strings.Contains(msg, "remove one") {
		t.Errorf("the limit's message %q does not say what to do", msg)
	}
	e.addPasskey(newTestPasskey(other.ID, "Bea's key"))
	if got := len(e.findPasskeys(u.ID)); got != guardian.MaxPasskeysPerUser {
		t.Errorf("%d passkeys stored, want %d", got, guardian.MaxPasskeysPerUser)
	}

	// A disabled account gets no new credential.
	disabled := true
	if _, err := e.users().UpdateUser(e.ctx, other.ID, guardian.UserUpdate{Disabled: &disabled}, systemEvent("user.update")); err != nil {
		t.Fatal(err)
	}
	n = e.eventCount()
	e.refused(ps.AddPasskey(e.ctx, newTestPasskey(other.ID, "Key 2"), authEvent(other.Actor(), "passkey.add")), guardian.EUNAUTHORIZED, n)
}

// testAddPasskeyRace: a person adds passkeys from several tabs at once;
// the limit holds.
func testAddPasskeyRace(t *testing.T, e *env) {
	u := e.user("ana@example.org")
	errs := concurrently(guardian.MaxPasskeysPerUser+6, func(i int) error {
		return e.passkeys().AddPasskey(e.ctx, newTestPasskey(u.ID, fmt.Sprintf("Key %d", i)), authEvent(u.Actor(), "passkey.add"))
	})
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !isCode(err, guardian.ECONFLICT):
			t.Errorf("error %v, want ECONFLICT", err)
		}
	}
	if ok != guardian.MaxPasskeysPerUser {
		t.Errorf("%d passkeys added, want %d", ok, guardian.MaxPasskeysPerUser)
	}
	if got := len(e.findPasskeys(u.ID)); got != guardian.MaxPasskeysPerUser {
		t.Errorf("%d passkeys stored, want %d", got, guardian.MaxPasskeysPerUser)
	}
}

func testRecordPasskeyUse(t *testing.T, e *env) {
	ps := e.passkeys()
	u := e.user("ana@example.org")
	counting := newTestPasskey(u.ID, "YubiKey 5")
	counting.SignCount = 3
	e.addPasskey(counting)
	synced := e.addPasskey(newTestPasskey(u.ID, "Phone")) // keeps no counter
	n := e.eventCount()

	use := func(p *guardian.Passkey, count uint32) error {
		e.clock.Advance(time.Minute)
		return ps.RecordPasskeyUse(e.ctx, p.ID, count, e.now())
	}
	want := func(p *guardian.Passkey, count uint32, used time.Time) {
		t.Helper()
		for _, got := range e.findPasskeys(u.ID) {
			if got.ID != p.ID {
				continue
			}
			if got.SignCount != count || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
				t.Errorf("passkey %q: count %d, last used %v; want %d, %v", p.Name, got.SignCount, got.LastUsedAt, count, used)
			}
			return
		}
		t.Errorf("passkey %q not found", p.Name)
	}

	if err := use(counting, 5); err != nil {
		t.Fatal(err)
	}
	used := e.now()
	want(counting, 5, used)
	// The same count again, a lower one, or 0 after counting began: a
	// copy of the authenticator, or one assertion used twice. Refused,
	// and nothing changes.
	for _, count := range []uint32{5, 4, 0} {
		if err := use(counting, count); guardian.ErrorCode(err) != guardian.ECONFLICT {
			t.Errorf("sign count 5 then %d: %v, want ECONFLICT", count, err)
		}
	}
	want(counting, 5, used)
	if err := use(counting, 1<<32-1); err != nil {
		t.Fatal(err)
	}
	want(counting, 1<<32-1, e.now())

	// An authenticator that keeps no counter says 0 every time.
	for range 2 {
		if err := use(synced, 0); err != nil {
			t.Fatal(err)
		}
		want(synced, 0, e.now())
	}
	// ... until it starts counting.
	if err := use(synced, 1); err != nil {
		t.Fatal(err)
	}
	want(synced, 1, e.now())

	if err := use(&guardian.Passkey{ID: 1 << 40}, 9); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("RecordPasskeyUse of an unknown passkey: %v, want ENOTFOUND", err)
	}
	// The sign-in's own event records the use.
	if got := e.eventCount(); got != n {
		t.Errorf("RecordPasskeyUse stored %d events, want none", got-n)
	}
}

// testPasskeyUseRace: the same assertion (or two copies of one
// authenticator) presented to two hub processes at once; one sign-in wins.
func testPasskeyUseRace(t *testing.T, e *env) {
	u := e.user("ana@example.org")
	p := e.addPasskey(newTestPasskey(u.ID, "YubiKey 5"))
	for count := uint32(1); count <= 20; count++ {
		errs := concurrently(8, func(int) error {
			return e.passkeys().RecordPasskeyUse(e.ctx, p.ID, count, e.now())
		})
		wantOneSuccess(t, errs, guardian.ECONFLICT)
	}
	if got := e.findPasskeys(u.ID)[0].SignCount; got != 20 {
		t.Errorf("sign count %d, want 20", got)
	}
}

func testDeletePasskey(t *testing.T, e *env) {
	ps := e.passkeys()
	u := e.user("ana@example.org")
	other := e.user("bea@example.org")
	keep := e.addPasskey(newTestPasskey(u.ID, "YubiKey 5"))
	gone := e.addPasskey(newTestPasskey(u.ID, "Old phone"))
	theirs := e.addPasskey(newTestPasskey(other.ID, "Bea's key"))
	n := e.eventCount()

	// Another person's passkey, or none, is not found, and its owner
	// keeps it.
	e.refused(ps.DeletePasskey(e.ctx, u.ID, theirs.ID, authEvent(u.Actor(), "passkey.remove")), guardian.ENOTFOUND, n)
	e.refused(ps.DeletePasskey(e.ctx, u.ID, 1<<40, authEvent(u.Actor(), "passkey.remove")), guardian.ENOTFOUND, n)
	if got := e.findPasskeys(other.ID); len(got) != 1 {
		t.Errorf("the other person has %d passkeys, want 1", len(got))
	}
	if err := ps.DeletePasskey(e.ctx, u.ID, gone.ID, nil); err == nil {
		t.Error("a passkey was removed without its audit event")
	}

	ev := authEvent(u.Actor(), "passkey.remove")
	ev.Category = ""
	if err := ps.DeletePasskey(e.ctx, u.ID, gone.ID, ev); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("passkey.remove", "passkey:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, fmt.Sprint(gone.ID)))
	e.wantStored(ev)
	if diff := cmp.Diff([]*guardian.Passkey{keep}, e.findPasskeys(u.ID)); diff != "" {
		t.Errorf("FindPasskeys after removal (-want +got):\n%s", diff)
	}
	e.refused(ps.DeletePasskey(e.ctx, u.ID, gone.ID, authEvent(u.Actor(), "passkey.remove")), guardian.ENOTFOUND, n+1)
	if err := ps.RecordPasskeyUse(e.ctx, gone.ID, 1, e.now()); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("RecordPasskeyUse of a removed passkey: %v, want ENOTFOUND", err)
	}

	// The authenticator may be registered again, as a new passkey.
	again := newTestPasskey(u.ID, "Old phone")
	again.CredentialID = gone.CredentialID
	e.addPasskey(again)
	if again.ID == gone.ID {
		t.Errorf("a passkey registered again has its old id %d", gone.ID)
	}
}
