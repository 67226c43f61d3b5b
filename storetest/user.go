package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/identity"
)

// users returns the store as a guardian.UserStore, failing the test if it
// is not.
func (e *env) users() guardian.UserStore {
	e.t.Helper()
	us, ok := e.s.(guardian.UserStore)
	if !ok {
		e.t.Fatalf("%T is not a guardian.UserStore", e.s)
	}
	return us
}

func newTestUser(name string, org guardian.Organisation, roles ...guardian.Role) *guardian.User {
	return &guardian.User{Name: name, Organisation: org, Roles: roles, PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$a2V5",
		TOTPSecret: []byte{1, 2, 3}, RecoveryCodeHashes: []string{tokenHash("r1"), tokenHash("r2")}}
}

func testCreateUser(t *testing.T, e *env) {
	us := e.users()
	vetted := e.now().Add(365 * 24 * time.Hour)
	u := newTestUser("ana@example.org", guardian.AgencyOrganisation("py-cyber"), guardian.RoleAgencyInvestigator, guardian.RoleAgencySupervisor)
	u.DisplayName, u.Email, u.Language, u.TimeZone = "Ana Example", "ana@example.org", "es", "America/Asuncion"
	u.VettingExpiresAt, u.TrainingExpiresAt = &vetted, &vetted
	ev := systemEvent("user.create")
	ev.Category = guardian.CategoryPermission
	if err := us.CreateUser(e.ctx, u, ev); err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || !u.CreatedAt.Equal(e.now()) || !u.UpdatedAt.Equal(e.now()) {
		t.Errorf("CreateUser set ID %d, CreatedAt %v, UpdatedAt %v; want an id and %v", u.ID, u.CreatedAt, u.UpdatedAt, e.now())
	}
	if ev.ID == 0 || ev.ObjectKind != "user" || ev.Outcome != guardian.OutcomeSuccess {
		t.Errorf("audit event %+v", ev)
	}
	e.wantStored(ev)

	byName, err := us.FindUserByName(e.ctx, u.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, byName); diff != "" {
		t.Errorf("FindUserByName (-created +found):\n%s", diff)
	}
	byID, err := us.FindUserByID(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, byID); diff != "" {
		t.Errorf("FindUserByID (-created +found):\n%s", diff)
	}
}

func testUserRefused(t *testing.T, e *env) {
	us := e.users()
	hub := guardian.HubOrganisation("hub")
	if err := us.CreateUser(e.ctx, newTestUser("admin@example.org", hub, guardian.RoleHubAdmin), systemEvent("user.create")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	e.refused(us.CreateUser(e.ctx, newTestUser("admin@example.org", hub, guardian.RoleHubAnalyst), systemEvent("user.create")), guardian.ECONFLICT, n)
	e.refused(us.CreateUser(e.ctx, newTestUser("", hub, guardian.RoleHubAdmin), systemEvent("user.create")), guardian.EINVALID, n)
	e.refused(us.CreateUser(e.ctx, newTestUser("no-role@example.org", hub), systemEvent("user.create")), guardian.EINVALID, n)
	if err := us.CreateUser(e.ctx, newTestUser("x@example.org", hub, guardian.RoleHubAdmin), nil); err == nil {
		t.Error("a user was created without its audit event")
	}
	if _, err := us.FindUserByName(e.ctx, "nobody@example.org"); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("FindUserByName of an unknown name: %v, want ENOTFOUND", err)
	}
	if _, err := us.FindUserByID(e.ctx, 1<<40); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("FindUserByID of an unknown id: %v, want ENOTFOUND", err)
	}
}

func testFindUsers(t *testing.T, e *env) {
	us := e.users()
	hub, py := guardian.HubOrganisation("hub"), guardian.AgencyOrganisation("py-cyber")
	var want []string
	for i, u := range []*guardian.User{
		newTestUser("a@example.org", hub, guardian.RoleHubAdmin),
		newTestUser("b@example.org", py, guardian.RoleAgencyInvestigator),
		newTestUser("c@example.org", py, guardian.RoleAgencySupervisor),
	} {
		u.Disabled = i == 2
		if err := us.CreateUser(e.ctx, u, systemEvent("user.create")); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.Name)
	}
	names := func(f guardian.UserFilter) []string {
		t.Helper()
		got, err := us.FindUsers(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, u := range got {
			ns = append(ns, u.Name)
		}
		return ns
	}
	enabled := false
	for _, tt := range []struct {
		name   string
		filter guardian.UserFilter
		want   []string
	}{
		{"All", guardian.UserFilter{}, want},
		{"Organisation", guardian.UserFilter{Organisation: &py}, want[1:]},
		{"Enabled", guardian.UserFilter{Disabled: &enabled}, want[:2]},
		{"Page", guardian.UserFilter{Limit: 2}, want[:2]},
	} {
		if diff := cmp.Diff(tt.want, names(tt.filter)); diff != "" {
			t.Errorf("%s: FindUsers (-want +got):\n%s", tt.name, diff)
		}
	}
	first, err := us.FindUsers(e.ctx, guardian.UserFilter{Limit: 1})
	if err != nil || len(first) != 1 {
		t.Fatalf("FindUsers: %v, %d users", err, len(first))
	}
	if diff := cmp.Diff(want[1:], names(guardian.UserFilter{AfterID: first[0].ID})); diff != "" {
		t.Errorf("AfterID: FindUsers (-want +got):\n%s", diff)
	}
}

func testUpdateUser(t *testing.T, e *env) {
	us := e.users()
	u := newTestUser("ana@example.org", guardian.AgencyOrganisation("py-cyber"), guardian.RoleAgencyInvestigator)
	if err := us.CreateUser(e.ctx, u, systemEvent("user.create")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	ended := e.now().Add(-time.Hour)
	roles := []guardian.Role{guardian.RoleAgencySupervisor}
	lang, disabled := "pt-BR", true
	ev := systemEvent("user.update")
	ev.Category = guardian.CategoryPermission
	got, err := us.UpdateUser(e.ctx, u.ID, guardian.UserUpdate{Roles: &roles, Language: &lang, VettingExpiresAt: &ended, Disabled: &disabled}, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := *u
	want.Roles, want.Language, want.VettingExpiresAt, want.Disabled, want.UpdatedAt = roles, lang, &ended, true, e.now()
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("UpdateUser returned (-want +got):\n%s", diff)
	}
	if ev.ID == 0 || ev.ObjectKind != "user" || ev.Outcome != guardian.OutcomeSuccess {
		t.Errorf("audit event %+v", ev)
	}
	e.wantStored(ev)
	found, err := us.FindUserByID(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, found); diff != "" {
		t.Errorf("FindUserByID after UpdateUser (-want +got):\n%s", diff)
	}

	n := e.eventCount()
	none := []guardian.Role{}
	e.refused(func() error {
		_, err := us.UpdateUser(e.ctx, u.ID, guardian.UserUpdate{Roles: &none}, systemEvent("user.update"))
		return err
	}(), guardian.EINVALID, n)
	e.refused(func() error {
		_, err := us.UpdateUser(e.ctx, 1<<40, guardian.UserUpdate{Language: &lang}, systemEvent("user.update"))
		return err
	}(), guardian.ENOTFOUND, n)
}

// The credentials, sessions and API tokens of guardian.UserStore.

// user creates a user of the agency py-cyber with the roles.
func (e *env) user(name string, roles ...guardian.Role) *guardian.User {
	e.t.Helper()
	if len(roles) == 0 {
		roles = []guardian.Role{guardian.RoleAgencyInvestigator}
	}
	u := newTestUser(name, guardian.AgencyOrganisation("py-cyber"), roles...)
	ev := systemEvent("user.create")
	ev.Category = guardian.CategoryPermission
	if err := e.users().CreateUser(e.ctx, u, ev); err != nil {
		e.t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// findUser reads the user back, failing the test on error.
func (e *env) findUser(id int64) *guardian.User {
	e.t.Helper()
	u, err := e.users().FindUserByID(e.ctx, id)
	if err != nil {
		e.t.Fatalf("FindUserByID(%d): %v", id, err)
	}
	return u
}

// authEvent is an event of the authentication category by the actor, as
// the sign-in handlers will make it.
func authEvent(actor guardian.Actor, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: actor, Category: guardian.CategoryAuthentication, Action: action,
		RequestID: "req-" + randomHex(4), ClientAddr: "198.51.100.23"}
}

// signInFailure is the event of a failed sign-in, which names the user
// only as the name given.
func signInFailure(name string) *guardian.AuditEvent {
	ev := authEvent(guardian.Actor{Kind: guardian.ActorUser, Name: name}, "user.signin")
	ev.Reason = "password"
	return ev
}

// newEvents returns the events stored after the first n, oldest first.
func (e *env) newEvents(n int) []*guardian.AuditEvent {
	e.t.Helper()
	return e.events(guardian.AuditFilter{})[n:]
}

// eventSummary is what the tests compare of an event: what happened to
// which object, how, and why.
type eventSummary struct {
	Action, Category, Object, Outcome, Reason string
}

func summarise(evs []*guardian.AuditEvent) []eventSummary {
	var out []eventSummary // nil for none, as wantEvents' want
	for _, ev := range evs {
		out = append(out, eventSummary{ev.Action, string(ev.Category), ev.ObjectKind + ":" + ev.ObjectID, ev.Outcome, ev.Reason})
	}
	return out
}

// wantEvents checks the events stored after the first n.
func (e *env) wantEvents(n int, want ...eventSummary) []*guardian.AuditEvent {
	e.t.Helper()
	got := e.newEvents(n)
	if diff := cmp.Diff(want, summarise(got)); diff != "" {
		e.t.Errorf("audit events (-want +got):\n%s", diff)
	}
	return got
}

// wantNoSecretIn fails the test if a hash (of a session or token) appears
// in any stored event.
func (e *env) wantNoSecretIn(hashes ...string) {
	e.t.Helper()
	for _, ev := range e.events(guardian.AuditFilter{}) {
		fields := []string{ev.Actor.ID, ev.Actor.Name, ev.ObjectID, ev.Reason, ev.Justification, ev.RequestID, ev.FileID}
		for _, h := range hashes {
			for _, f := range fields {
				if h != "" && strings.Contains(f, h) {
					e.t.Errorf("event %d (%s) holds a hash: %+v", ev.ID, ev.Action, ev)
				}
			}
		}
	}
}

func auth(action, object, outcome, reason string) eventSummary {
	return eventSummary{action, string(guardian.CategoryAuthentication), object, outcome, reason}
}

func testSetUserPassword(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	obj := "user:" + fmt.Sprint(u.ID)
	_, keep := identity.GenerateSessionSecret()
	_, other := identity.GenerateSessionSecret()
	for _, h := range []string{keep, other} {
		e.session(u.ID, h)
	}
	e.clock.Advance(time.Minute)
	n := e.eventCount()
	ev := authEvent(u.Actor(), "user.password")
	if err := us.SetUserPassword(e.ctx, u.ID, "$argon2id$v=19$m=1,t=1,p=1$bmV3$bmV3", keep, ev); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.password", obj, guardian.OutcomeSuccess, ""), auth("session.end", "session:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, "password"))
	got := e.findUser(u.ID)
	if got.PasswordHash != "$argon2id$v=19$m=1,t=1,p=1$bmV3$bmV3" || !got.UpdatedAt.Equal(e.now()) {
		t.Errorf("after SetUserPassword: hash %q, updated %v", got.PasswordHash, got.UpdatedAt)
	}
	if _, err := us.FindSessionByHash(e.ctx, keep); err != nil {
		t.Errorf("the session kept: %v", err)
	}
	if _, err := us.FindSessionByHash(e.ctx, other); !isCode(err, guardian.ENOTFOUND) {
		t.Errorf("the other session: %v, want ENOTFOUND", err)
	}
	// With only the kept session left, nothing else ends.
	n = e.eventCount()
	if err := us.SetUserPassword(e.ctx, u.ID, "$argon2id$v=19$m=1,t=1,p=1$YWdhaW4$YWdhaW4", keep, authEvent(u.Actor(), "user.password")); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.password", obj, guardian.OutcomeSuccess, ""))
	e.refused(us.SetUserPassword(e.ctx, 1<<40, "$argon2id$x", "", authEvent(u.Actor(), "user.password")), guardian.ENOTFOUND, n+1)
	e.wantNoSecretIn(keep, other)
}

func testSetUserMFA(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	if err := us.RecordSignIn(e.ctx, u.ID, 1000, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Fatal(err)
	}
	_, h := identity.GenerateSessionSecret()
	e.session(u.ID, h)

	n := e.eventCount()
	_, hashes := identity.GenerateRecoveryCodes()
	admin := guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian user reset-mfa"}
	if err := us.SetUserMFA(e.ctx, u.ID, []byte("new-sealed-secret"), hashes, authEvent(admin, "user.mfa")); err != nil {
		t.Fatal(err)
	}
	uid := fmt.Sprint(u.ID)
	e.wantEvents(n, auth("user.mfa", "user:"+uid, guardian.OutcomeSuccess, ""), auth("session.end", "session:"+uid, guardian.OutcomeSuccess, "mfa"))
	got := e.findUser(u.ID)
	if string(got.TOTPSecret) != "new-sealed-secret" || got.TOTPLastStep != 0 || !cmp.Equal(got.RecoveryCodeHashes, hashes) {
		t.Errorf("after SetUserMFA: secret %q, last step %d, recovery %v", got.TOTPSecret, got.TOTPLastStep, got.RecoveryCodeHashes)
	}
	if _, err := us.FindSessionByHash(e.ctx, h); !isCode(err, guardian.ENOTFOUND) {
		t.Errorf("session after SetUserMFA: %v, want ENOTFOUND", err)
	}
	// The step went back to 0 with the new secret: an early code of it is
	// accepted.
	if err := us.RecordSignIn(e.ctx, u.ID, 10, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Errorf("sign-in with the new secret: %v", err)
	}

	// A reset leaves no second factor: no sessions, so no session.end.
	n = e.eventCount()
	if err := us.SetUserMFA(e.ctx, u.ID, nil, nil, authEvent(admin, "user.mfa")); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.mfa", "user:"+uid, guardian.OutcomeSuccess, ""))
	if got := e.findUser(u.ID); got.TOTPSecret != nil || got.RecoveryCodeHashes != nil || got.TOTPLastStep != 0 {
		t.Errorf("after a reset: secret %v, recovery %v, step %d", got.TOTPSecret, got.RecoveryCodeHashes, got.TOTPLastStep)
	}
	n++
	if err := us.SetUserMFA(e.ctx, u.ID, nil, hashes, authEvent(admin, "user.mfa")); err == nil {
		t.Error("recovery codes without a secret were stored")
	}
	if err := us.SetUserMFA(e.ctx, u.ID, []byte("s"), []string{"a,b"}, authEvent(admin, "user.mfa")); err == nil {
		t.Error("a hash with a comma was stored")
	}
	e.refused(us.SetUserMFA(e.ctx, 1<<40, []byte("s"), nil, authEvent(admin, "user.mfa")), guardian.ENOTFOUND, n)
}

// testLockout drives the hub's lockout policy through the store with the
// test clock: five failures lock, a failure while locked changes nothing,
// the lock expires with its unlock event, and a sign-in clears an expired
// lock too.
func testLockout(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	obj := "user:" + fmt.Sprint(u.ID)
	policy := identity.DefaultLockout
	fail := func() *guardian.User {
		t.Helper()
		got, err := us.RecordSignInFailure(e.ctx, u.ID, policy.Fail, signInFailure(u.Name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e.findUser(u.ID), got); diff != "" {
			t.Errorf("RecordSignInFailure returned (-stored +returned):\n%s", diff)
		}
		return got
	}
	failure := auth("user.signin", obj, guardian.OutcomeFailure, "password")

	n := e.eventCount()
	for i := 1; i < policy.MaxFailures; i++ {
		e.clock.Advance(10 * time.Second)
		if got := fail(); got.FailedSignIns != i || got.LockedUntil != nil {
			t.Fatalf("after %d failures: %d counted, locked until %v", i, got.FailedSignIns, got.LockedUntil)
		}
	}
	e.clock.Advance(10 * time.Second)
	lockedAt := e.now()
	got := fail()
	if got.FailedSignIns != policy.MaxFailures || got.LockedUntil == nil || !got.LockedUntil.Equal(lockedAt.Add(policy.LockFor)) {
		t.Fatalf("after %d failures: %d counted, locked until %v; want locked until %v", policy.MaxFailures, got.FailedSignIns, got.LockedUntil, lockedAt.Add(policy.LockFor))
	}
	want := []eventSummary{failure, failure, failure, failure, failure, auth("user.lock", obj, guardian.OutcomeSuccess, "failures")}
	e.wantEvents(n, want...)

	// Locked: a failure is recorded but neither counted nor extends the
	// lock, and a sign-in that passed both factors is refused.
	e.clock.Advance(time.Minute)
	n = e.eventCount()
	if again := fail(); again.FailedSignIns != policy.MaxFailures || !again.LockedUntil.Equal(*got.LockedUntil) {
		t.Errorf("a failure while locked: %d counted, locked until %v", again.FailedSignIns, again.LockedUntil)
	}
	e.wantEvents(n, failure)
	e.refused(us.RecordSignIn(e.ctx, u.ID, 5, authEvent(u.Actor(), "user.signin")), guardian.EUNAUTHORIZED, n+1)

	// The lock expires: the next failure clears it first, and counts one.
	e.clock.Advance(policy.LockFor)
	n = e.eventCount()
	if got := fail(); got.FailedSignIns != 1 || got.LockedUntil != nil {
		t.Errorf("a failure after the lock expired: %d counted, locked until %v", got.FailedSignIns, got.LockedUntil)
	}
	evs := e.wantEvents(n, auth("user.unlock", obj, guardian.OutcomeSuccess, "expired"), failure)
	if len(evs) == 2 && (evs[0].RequestID != evs[1].RequestID || evs[0].Actor != evs[1].Actor) {
		t.Errorf("the unlock event does not carry the failure's actor and request: %+v, %+v", evs[0], evs[1])
	}

	// Locked again and expired: a sign-in clears the lock, with its event.
	for range policy.MaxFailures - 1 {
		fail()
	}
	if !e.findUser(u.ID).LockedUntil.After(e.now()) {
		t.Fatal("not locked again")
	}
	e.clock.Advance(policy.LockFor)
	n = e.eventCount()
	if err := us.RecordSignIn(e.ctx, u.ID, 7, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.unlock", obj, guardian.OutcomeSuccess, "expired"), auth("user.signin", obj, guardian.OutcomeSuccess, ""))
	if got := e.findUser(u.ID); got.FailedSignIns != 0 || got.LockedUntil != nil || got.TOTPLastStep != 7 {
		t.Errorf("after the sign-in: %d failures, locked until %v, last step %d", got.FailedSignIns, got.LockedUntil, got.TOTPLastStep)
	}

	n = e.eventCount()
	_, err := us.RecordSignInFailure(e.ctx, 1<<40, policy.Fail, signInFailure("nobody"))
	e.refused(err, guardian.ENOTFOUND, n)
}

func testRecordSignIn(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	obj := "user:" + fmt.Sprint(u.ID)
	for range 2 {
		if _, err := us.RecordSignInFailure(e.ctx, u.ID, identity.DefaultLockout.Fail, signInFailure(u.Name)); err != nil {
			t.Fatal(err)
		}
	}
	step := identity.TOTPStep(e.now())
	n := e.eventCount()
	ev := authEvent(u.Actor(), "user.signin")
	if err := us.RecordSignIn(e.ctx, u.ID, step, ev); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.signin", obj, guardian.OutcomeSuccess, ""))
	e.wantStored(ev)
	if got := e.findUser(u.ID); got.TOTPLastStep != step || got.FailedSignIns != 0 {
		t.Errorf("after a sign-in: last step %d (want %d), %d failures", got.TOTPLastStep, step, got.FailedSignIns)
	}

	// The same code again, or one of an earlier step, is a replay.
	n = e.eventCount()
	for _, s := range []int64{step, step - 1} {
		e.refused(us.RecordSignIn(e.ctx, u.ID, s, authEvent(u.Actor(), "user.signin")), guardian.ECONFLICT, n)
	}
	if got := e.findUser(u.ID); got.TOTPLastStep != step {
		t.Errorf("a replay moved the last step to %d", got.TOTPLastStep)
	}
	// A recovery code's sign-in (step 0) keeps the last step.
	if err := us.RecordSignIn(e.ctx, u.ID, 0, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Fatal(err)
	}
	if err := us.RecordSignIn(e.ctx, u.ID, step+1, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Fatal(err)
	}
	if got := e.findUser(u.ID); got.TOTPLastStep != step+1 {
		t.Errorf("last step %d, want %d", got.TOTPLastStep, step+1)
	}

	disabled := true
	if _, err := us.UpdateUser(e.ctx, u.ID, guardian.UserUpdate{Disabled: &disabled}, systemEvent("user.update")); err != nil {
		t.Fatal(err)
	}
	n = e.eventCount()
	e.refused(us.RecordSignIn(e.ctx, u.ID, step+2, authEvent(u.Actor(), "user.signin")), guardian.EUNAUTHORIZED, n)
	e.refused(us.RecordSignIn(e.ctx, 1<<40, step+2, authEvent(u.Actor(), "user.signin")), guardian.ENOTFOUND, n)
}

// concurrently runs fn n times at once and returns the errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// wantOneSuccess checks that exactly one of errs is nil and every other
// has the code.
func wantOneSuccess(t *testing.T, errs []error, code string) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !isCode(err, code):
			t.Errorf("error %v, want %s", err, code)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent calls succeeded, want 1", ok, len(errs))
	}
}

// testSignInRace: two hub processes verify the same TOTP code at once;
// the store's compare-and-set lets one of them in.
func testSignInRace(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	step := identity.TOTPStep(e.now())
	n := e.eventCount()
	// Several rounds, each with a new step, so that the race's window is
	// hit however the goroutines are scheduled.
	const rounds = 20
	var want []eventSummary
	for i := range int64(rounds) {
		errs := concurrently(8, func(int) error {
			return us.RecordSignIn(e.ctx, u.ID, step+i, authEvent(u.Actor(), "user.signin"))
		})
		wantOneSuccess(t, errs, guardian.ECONFLICT)
		want = append(want, auth("user.signin", "user:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, ""))
	}
	e.wantEvents(n, want...)
	if got := e.findUser(u.ID).TOTPLastStep; got != step+rounds-1 {
		t.Errorf("last step %d, want %d", got, step+rounds-1)
	}
}

func testUseRecoveryCode(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	r1, r2 := u.RecoveryCodeHashes[0], u.RecoveryCodeHashes[1]
	n := e.eventCount()
	ev := authEvent(u.Actor(), "user.recovery")
	if err := us.UseRecoveryCode(e.ctx, u.ID, r1, ev); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.recovery", "user:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, ""))
	e.wantStored(ev)
	if got := e.findUser(u.ID).RecoveryCodeHashes; !cmp.Equal(got, []string{r2}) {
		t.Errorf("recovery codes after one was used: %v, want [%s]", got, r2)
	}
	n++
	e.refused(us.UseRecoveryCode(e.ctx, u.ID, r1, authEvent(u.Actor(), "user.recovery")), guardian.ENOTFOUND, n)
	e.refused(us.UseRecoveryCode(e.ctx, u.ID, "", authEvent(u.Actor(), "user.recovery")), guardian.ENOTFOUND, n)
	e.refused(us.UseRecoveryCode(e.ctx, 1<<40, r2, authEvent(u.Actor(), "user.recovery")), guardian.ENOTFOUND, n)

	// Each code, presented by several requests at once, is used once.
	codes := []string{r2}
	for range 19 {
		_, hashes := identity.GenerateRecoveryCodes()
		codes = append(codes, hashes[0])
	}
	if err := us.SetUserMFA(e.ctx, u.ID, []byte("sealed"), codes, authEvent(u.Actor(), "user.mfa")); err != nil {
		t.Fatal(err)
	}
	n = e.eventCount()
	for _, code := range codes {
		errs := concurrently(8, func(int) error {
			return us.UseRecoveryCode(e.ctx, u.ID, code, authEvent(u.Actor(), "user.recovery"))
		})
		wantOneSuccess(t, errs, guardian.ENOTFOUND)
	}
	if got := e.eventCount(); got != n+len(codes) {
		t.Errorf("%d recovery events for %d codes", got-n, len(codes))
	}
	if got := e.findUser(u.ID).RecoveryCodeHashes; got != nil {
		t.Errorf("recovery codes after all were used: %v", got)
	}
}

func testUnlockUser(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	for range identity.DefaultLockout.MaxFailures {
		if _, err := us.RecordSignInFailure(e.ctx, u.ID, identity.DefaultLockout.Fail, signInFailure(u.Name)); err != nil {
			t.Fatal(err)
		}
	}
	if e.findUser(u.ID).LockedUntil == nil {
		t.Fatal("not locked")
	}
	e.clock.Advance(time.Minute)
	n := e.eventCount()
	admin := guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian user unlock"}
	if err := us.UnlockUser(e.ctx, u.ID, authEvent(admin, "user.unlock")); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(n, auth("user.unlock", "user:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, ""))
	if got := e.findUser(u.ID); got.LockedUntil != nil || got.FailedSignIns != 0 || !got.UpdatedAt.Equal(e.now()) {
		t.Errorf("after UnlockUser: locked until %v, %d failures, updated %v", got.LockedUntil, got.FailedSignIns, got.UpdatedAt)
	}
	if err := us.RecordSignIn(e.ctx, u.ID, 1, authEvent(u.Actor(), "user.signin")); err != nil {
		t.Errorf("sign-in after unlock: %v", err)
	}
	e.refused(us.UnlockUser(e.ctx, 1<<40, authEvent(admin, "user.unlock")), guardian.ENOTFOUND, n+2)
}

// session creates a session of the user with the hash, at the clock's now.
func (e *env) session(userID int64, hash string) *guardian.Session {
	e.t.Helper()
	s := &guardian.Session{Hash: hash, UserID: userID, CreatedAt: e.clock.Now(), LastSeenAt: e.clock.Now(), ClientAddr: "2001:db8::7"}
	if err := e.users().CreateSession(e.ctx, s, authEvent(guardian.Actor{Kind: guardian.ActorUser, ID: fmt.Sprint(userID)}, "session.create")); err != nil {
		e.t.Fatalf("CreateSession: %v", err)
	}
	return s
}

func testSessionLifecycle(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	obj := "session:" + fmt.Sprint(u.ID)
	_, hash := identity.GenerateSessionSecret()
	n := e.eventCount()
	s := e.session(u.ID, hash)
	e.wantEvents(n, auth("session.create", obj, guardian.OutcomeSuccess, ""))
	found, err := us.FindSessionByHash(e.ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, found); diff != "" {
		t.Errorf("FindSessionByHash (-created +found):\n%s", diff)
	}
	if !found.CreatedAt.Equal(e.now()) {
		t.Errorf("CreatedAt %v, want %v to the microsecond", found.CreatedAt, e.now())
	}

	// Touching records no event, and moves LastSeenAt only forward.
	n = e.eventCount()
	later := e.now().Add(2 * time.Minute)
	if err := us.TouchSession(e.ctx, hash, later); err != nil {
		t.Fatal(err)
	}
	if err := us.TouchSession(e.ctx, hash, later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := us.FindSessionByHash(e.ctx, hash); got == nil || !got.LastSeenAt.Equal(later) {
		t.Errorf("LastSeenAt after touches: %+v, want %v", got, later)
	}
	e.wantEvents(n)

	// Idle: locked once (a second lock records nothing), unlocked with the
	// password, which counts as activity.
	e.clock.Advance(31 * time.Minute)
	if identity.DefaultSessionPolicy.Status(found, e.now()) != identity.SessionLocked {
		t.Fatal("the policy does not lock the idle session")
	}
	for range 2 {
		if err := us.LockSession(e.ctx, hash, authEvent(u.Actor(), "session.lock")); err != nil {
			t.Fatal(err)
		}
	}
	e.wantEvents(n, auth("session.lock", obj, guardian.OutcomeSuccess, ""))
	if got, _ := us.FindSessionByHash(e.ctx, hash); got == nil || !got.Locked {
		t.Errorf("after LockSession: %+v", got)
	}
	e.clock.Advance(time.Minute)
	if err := us.UnlockSession(e.ctx, hash, authEvent(u.Actor(), "session.unlock")); err != nil {
		t.Fatal(err)
	}
	got, err := us.FindSessionByHash(e.ctx, hash)
	if err != nil || got.Locked || !got.LastSeenAt.Equal(e.now()) {
		t.Errorf("after UnlockSession: %+v, %v; want unlocked, last seen %v", got, err, e.now())
	}
	if identity.DefaultSessionPolicy.Status(got, e.now()) != identity.SessionActive {
		t.Error("the unlocked session is not active")
	}

	// Signed out: gone, and a second sign-out finds nothing.
	ev := authEvent(u.Actor(), "session.end")
	ev.Reason = "signout"
	if err := us.DeleteSession(e.ctx, hash, ev); err != nil {
		t.Fatal(err)
	}
	e.wantStored(ev)
	e.wantEvents(n, auth("session.lock", obj, guardian.OutcomeSuccess, ""), auth("session.unlock", obj, guardian.OutcomeSuccess, ""),
		auth("session.end", obj, guardian.OutcomeSuccess, "signout"))
	n = e.eventCount()
	if _, err := us.FindSessionByHash(e.ctx, hash); !isCode(err, guardian.ENOTFOUND) {
		t.Errorf("FindSessionByHash after sign-out: %v", err)
	}
	e.refused(us.DeleteSession(e.ctx, hash, authEvent(u.Actor(), "session.end")), guardian.ENOTFOUND, n)
	e.refused(us.LockSession(e.ctx, hash, authEvent(u.Actor(), "session.lock")), guardian.ENOTFOUND, n)
	e.refused(us.UnlockSession(e.ctx, hash, authEvent(u.Actor(), "session.unlock")), guardian.ENOTFOUND, n)
	e.refused(us.TouchSession(e.ctx, hash, e.now()), guardian.ENOTFOUND, n)
	e.wantNoSecretIn(hash)
}

func testSessionRefused(t *testing.T, e *env) {
	us := e.users()
	u := e.user("ana@example.org")
	_, hash := identity.GenerateSessionSecret()
	e.session(u.ID, hash)
	n := e.eventCount()
	now := e.clock.Now()
	ev := func() *guardian.AuditEvent { return authEvent(u.Actor(), "session.create") }
	e.refused(us.CreateSession(e.ctx, &guardian.Session{Hash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now}, ev()), guardian.ECONFLICT, n)
	e.refused(us.CreateSession(e.ctx, &guardian.Session{Hash: tokenHash("x"), UserID: 1 << 40, CreatedAt: now, LastSeenAt: now}, ev()), guardian.ENOTFOUND, n)
	for _, s := range []*guardian.Session{
		{Hash: strings.ToUpper(tokenHash("y")), UserID: u.ID, CreatedAt: now, LastSeenAt: now},
		{Hash: tokenHash("z"), UserID: u.ID},
		{Hash: tokenHash("w"), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ClientAddr: strings.Repeat("1", 200)},
	} {
		if err := us.CreateSession(e.ctx, s, ev()); err == nil {
			t.Errorf("CreateSession(%+v) succeeded", s)
		}
	}
	if err := us.CreateSession(e.ctx, &guardian.Session{Hash: tokenHash("v"), UserID: u.ID, CreatedAt: now, LastSeenAt: now}, nil); err == nil {
		t.Error("a session was created without its audit event")
	}
	if got := e.eventCount(); got != n {
		t.Errorf("refused sessions stored %d events", got-n)
	}
}

// testDisableEndsSessions: disabling a user ends their sessions with one
// event, and no session can be created for them afterwards.
func testDisableEndsSessions(t *testing.T, e *env) {
	us := e.users()
	u, other := e.user("ana@example.org"), e.user("bea@example.org")
	var hashes []string
	for range 3 {
		_, h := identity.GenerateSessionSecret()
		e.session(u.ID, h)
		hashes = append(hashes, h)
	}
	_, otherHash := identity.GenerateSessionSecret()
	e.session(other.ID, otherHash)

	n := e.eventCount()
	disabled := true
	ev := systemEvent("user.update")
	if _, err := us.UpdateUser(e.ctx, u.ID, guardian.UserUpdate{Disabled: &disabled}, ev); err != nil {
		t.Fatal(err)
	}
	uid := fmt.Sprint(u.ID)
	e.wantEvents(n, eventSummary{"user.update", string(guardian.CategoryPrivileged), "user:" + uid, guardian.OutcomeSuccess, ""},
		auth("session.end", "session:"+uid, guardian.OutcomeSuccess, "disabled"))
	for _, h := range hashes {
		if _, err := us.FindSessionByHash(e.ctx, h); !isCode(err, guardian.ENOTFOUND) {
			t.Errorf("a session of the disabled user: %v", err)
		}
	}
	if _, err := us.FindSessionByHash(e.ctx, otherHash); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	_, h := identity.GenerateSessionSecret()
	now := e.clock.Now()
	e.refused(us.CreateSession(e.ctx, &guardian.Session{Hash: h, UserID: u.ID, CreatedAt: now, LastSeenAt: now},
		authEvent(u.Actor(), "session.create")), guardian.EUNAUTHORIZED, n+2)
	e.wantNoSecretIn(append(hashes, otherHash, h)...)
}

func testDeleteSessions(t *testing.T, e *env) {
	us := e.users()
	u, other := e.user("ana@example.org"), e.user("bea@example.org")
	_, old := identity.GenerateSessionSecret()
	e.session(u.ID, old)
	e.clock.Advance(13 * time.Hour)
	_, recent := identity.GenerateSessionSecret()
	e.session(u.ID, recent)
	_, others := identity.GenerateSessionSecret()
	e.session(other.ID, others)

	// Housekeeping ends the sessions past their maximum age.
	n := e.eventCount()
	// The event's category and reason default to those of the audit table.
	housekeeping := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "sessions"}, Action: "session.end"}
	ended, err := us.DeleteExpiredSessions(e.ctx, e.clock.Now().Add(-identity.DefaultSessionPolicy.MaxAge), housekeeping)
	if err != nil || ended != 1 {
		t.Fatalf("DeleteExpiredSessions: %d, %v; want 1", ended, err)
	}
	e.wantEvents(n, auth("session.end", "session:", guardian.OutcomeSuccess, "expired"))
	if _, err := us.FindSessionByHash(e.ctx, old); !isCode(err, guardian.ENOTFOUND) {
		t.Errorf("the expired session: %v", err)
	}
	n = e.eventCount()
	if ended, err := us.DeleteExpiredSessions(e.ctx, e.clock.Now().Add(-identity.DefaultSessionPolicy.MaxAge), systemEvent("session.end")); err != nil || ended != 0 {
		t.Errorf("DeleteExpiredSessions again: %d, %v", ended, err)
	}
	e.wantEvents(n)

	// An administrator ends all of a user's sessions.
	ev := authEvent(guardian.Actor{Kind: guardian.ActorSystem, Name: "cli"}, "session.end")
	ev.Reason = "administrator"
	if ended, err := us.DeleteUserSessions(e.ctx, u.ID, ev); err != nil || ended != 1 {
		t.Fatalf("DeleteUserSessions: %d, %v; want 1", ended, err)
	}
	e.wantEvents(n, auth("session.end", "session:"+fmt.Sprint(u.ID), guardian.OutcomeSuccess, "administrator"))
	if _, err := us.FindSessionByHash(e.ctx, others); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	n++
	if ended, err := us.DeleteUserSessions(e.ctx, u.ID, authEvent(u.Actor(), "session.end")); err != nil || ended != 0 {
		t.Errorf("DeleteUserSessions without sessions: %d, %v", ended, err)
	}
	_, err = us.DeleteUserSessions(e.ctx, 1<<40, authEvent(u.Actor(), "session.end"))
	e.refused(err, guardian.ENOTFOUND, n)
}

// apiToken is a token of the agency py-cyber for an investigator's system,
// expiring in 90 days.
func (e *env) apiToken(name string) (*guardian.APIToken, string) {
	e.t.Helper()
	secret, hash := identity.GenerateAPIToken()
	t := &guardian.APIToken{Name: name, Hash: hash, Organisation: guardian.AgencyOrganisation("py-cyber"),
		Role: guardian.RoleAgencyInvestigator, ExpiresAt: e.clock.Now().Add(90 * 24 * time.Hour)}
	ev := systemEvent("token.create")
	ev.Category = guardian.CategoryPermission
	if err := e.users().CreateAPIToken(e.ctx, t, ev); err != nil {
		e.t.Fatalf("CreateAPIToken(%q): %v", name, err)
	}
	return t, secret
}

func testCreateAPIToken(t *testing.T, e *env) {
	us := e.users()
	n := e.eventCount()
	tok, secret := e.apiToken("py-case-system")
	if tok.ID == 0 || !tok.CreatedAt.Equal(e.now()) || !tok.ExpiresAt.Equal(e.now().Add(90*24*time.Hour)) {
		t.Errorf("CreateAPIToken set %+v", tok)
	}
	e.wantEvents(n, eventSummary{"token.create", string(guardian.CategoryPermission), "token:" + fmt.Sprint(tok.ID), guardian.OutcomeSuccess, ""})
	hash, ok := identity.APITokenHash(secret)
	if !ok {
		t.Fatalf("APITokenHash(%q) refused the generated token", secret)
	}
	got, err := us.FindAPITokenByHash(e.ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("FindAPITokenByHash (-created +found):\n%s", diff)
	}
	if err := identity.CheckAPIToken(got, e.now()); err != nil {
		t.Errorf("CheckAPIToken of a new token: %v", err)
	}
	if _, err := us.FindAPITokenByHash(e.ctx, tokenHash("unknown")); !isCode(err, guardian.ENOTFOUND) {
		t.Errorf("FindAPITokenByHash of an unknown hash: %v", err)
	}

	n = e.eventCount()
	valid := func() *guardian.APIToken {
		_, h := identity.GenerateAPIToken()
		return &guardian.APIToken{Name: "other", Hash: h, Organisation: guardian.HubOrganisation("hub"), Role: guardian.RoleHubAnalyst,
			ExpiresAt: e.clock.Now().Add(time.Hour)}
	}
	ev := func() *guardian.AuditEvent { return systemEvent("token.create") }
	dup := valid()
	dup.Name = tok.Name
	e.refused(us.CreateAPIToken(e.ctx, dup, ev()), guardian.ECONFLICT, n)
	sameHash := valid()
	sameHash.Hash = tok.Hash
	e.refused(us.CreateAPIToken(e.ctx, sameHash, ev()), guardian.ECONFLICT, n)
	for name, change := range map[string]func(*guardian.APIToken){
		"NoName":     func(t *guardian.APIToken) { t.Name = "" },
		"NoOrg":      func(t *guardian.APIToken) { t.Organisation = guardian.Organisation{} },
		"BadRole":    func(t *guardian.APIToken) { t.Role = "king" },
		"NoExpiry":   func(t *guardian.APIToken) { t.ExpiresAt = time.Time{} },
		"PastExpiry": func(t *guardian.APIToken) { t.ExpiresAt = e.clock.Now() },
	} {
		bad := valid()
		change(bad)
		if err := us.CreateAPIToken(e.ctx, bad, ev()); !isCode(err, guardian.EINVALID) {
			t.Errorf("%s: CreateAPIToken: %v, want EINVALID", name, err)
		}
	}
	bad := valid()
	bad.Hash = "not-a-hash"
	if err := us.CreateAPIToken(e.ctx, bad, ev()); err == nil {
		t.Error("a token with a malformed hash was created")
	}
	if err := us.CreateAPIToken(e.ctx, valid(), nil); err == nil {
		t.Error("a token was created without its audit event")
	}
	if got := e.eventCount(); got != n {
		t.Errorf("refused tokens stored %d events", got-n)
	}
	e.wantNoSecretIn(tok.Hash, secret)
}

func testRevokeAPIToken(t *testing.T, e *env) {
	us := e.users()
	tok, _ := e.apiToken("py-case-system")
	other, _ := e.apiToken("py-archive")
	hubTok := &guardian.APIToken{Name: "hub-monitor", Hash: tokenHash("hub-monitor"), Organisation: guardian.HubOrganisation("hub"),
		Role: guardian.RoleHubAnalyst, ExpiresAt: e.clock.Now().Add(time.Hour)}
	if err := us.CreateAPIToken(e.ctx, hubTok, systemEvent("token.create")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	n := e.eventCount()
	ev := systemEvent("token.revoke")
	ev.Category = guardian.CategoryPermission
	if err := us.RevokeAPIToken(e.ctx, tok.ID, ev); err != nil {
		t.Fatal(err)
	}
	e.wantStored(ev)
	// Revoking again changes nothing and records nothing.
	if err := us.RevokeAPIToken(e.ctx, tok.ID, systemEvent("token.revoke")); err != nil {
		t.Errorf("revoking a revoked token: %v", err)
	}
	e.wantEvents(n, eventSummary{"token.revoke", string(guardian.CategoryPermission), "token:" + fmt.Sprint(tok.ID), guardian.OutcomeSuccess, ""})
	got, err := us.FindAPITokenByHash(e.ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(e.now()) {
		t.Errorf("RevokedAt %v, want %v", got.RevokedAt, e.now())
	}
	if err := identity.CheckAPIToken(got, e.now()); !isCode(err, guardian.EUNAUTHORIZED) {
		t.Errorf("CheckAPIToken of a revoked token: %v", err)
	}

	// An expired token is still found; the caller refuses it.
	e.clock.Advance(2 * time.Hour)
	expired, err := us.FindAPITokenByHash(e.ctx, hubTok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.CheckAPIToken(expired, e.now()); !isCode(err, guardian.EUNAUTHORIZED) {
		t.Errorf("CheckAPIToken of an expired token: %v", err)
	}

	names := func(f guardian.APITokenFilter) []string {
		t.Helper()
		toks, err := us.FindAPITokens(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, t := range toks {
			ns = append(ns, t.Name)
		}
		return ns
	}
	py := guardian.AgencyOrganisation("py-cyber")
	for _, tt := range []struct {
		name   string
		filter guardian.APITokenFilter
		want   []string
	}{
		{"Unrevoked", guardian.APITokenFilter{}, []string{other.Name, hubTok.Name}},
		{"All", guardian.APITokenFilter{IncludeRevoked: true}, []string{tok.Name, other.Name, hubTok.Name}},
		{"Organisation", guardian.APITokenFilter{Organisation: &py, IncludeRevoked: true}, []string{tok.Name, other.Name}},
	} {
		if diff := cmp.Diff(tt.want, names(tt.filter)); diff != "" {
			t.Errorf("%s: FindAPITokens (-want +got):\n%s", tt.name, diff)
		}
	}
	e.refused(us.RevokeAPIToken(e.ctx, 1<<40, systemEvent("token.revoke")), guardian.ENOTFOUND, n+1)
}

func testTouchAPIToken(t *testing.T, e *env) {
	us := e.users()
	tok, _ := e.apiToken("py-case-system")
	e.clock.Advance(time.Hour)
	n := e.eventCount()
	ev := authEvent(tok.Actor(), "token.use")
	if err := us.TouchAPIToken(e.ctx, tok.ID, e.clock.Now(), ev); err != nil {
		t.Fatal(err)
	}
	e.wantStored(ev)
	e.wantEvents(n, auth("token.use", "token:"+fmt.Sprint(tok.ID), guardian.OutcomeSuccess, ""))
	got, err := us.FindAPITokenByHash(e.ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(e.now()) {
		t.Errorf("LastUsedAt %v, want %v", got.LastUsedAt, e.now())
	}
	e.refused(us.TouchAPIToken(e.ctx, 1<<40, e.clock.Now(), authEvent(tok.Actor(), "token.use")), guardian.ENOTFOUND, n+1)
	e.wantNoSecretIn(tok.Hash)
}

// testLockoutRace: failures racing each other are counted one after the
// other, so exactly one of them locks the account.
func testLockoutRace(t *testing.T, e *env) {
	us := e.users()
	policy := identity.DefaultLockout
	// Several users, so that the race's window is hit however the
	// goroutines are scheduled.
	for i := range 10 {
		u := e.user(fmt.Sprintf("user-%d@example.org", i))
		n := e.eventCount()
		errs := concurrently(2*policy.MaxFailures, func(int) error {
			_, err := us.RecordSignInFailure(e.ctx, u.ID, policy.Fail, signInFailure(u.Name))
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := e.findUser(u.ID)
		if got.FailedSignIns != policy.MaxFailures || got.LockedUntil == nil {
			t.Errorf("after %d concurrent failures: %d counted, locked until %v", len(errs), got.FailedSignIns, got.LockedUntil)
		}
		counts := map[string]int{}
		for _, ev := range e.newEvents(n) {
			counts[ev.Action+"/"+ev.Outcome]++
		}
		if want := map[string]int{"user.signin/failure": len(errs), "user.lock/success": 1}; !cmp.Equal(counts, want) {
			t.Errorf("events %v, want %v", counts, want)
		}
	}
}
