package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// userStore is the part of guardian.UserStore the store implements so far:
// people are created and found; credentials, sessions and API tokens come
// with the HTTP step of issue 10.
type userStore interface {
	CreateUser(ctx context.Context, u *guardian.User, ev *guardian.AuditEvent) error
	FindUserByID(ctx context.Context, id int64) (*guardian.User, error)
	FindUserByName(ctx context.Context, name string) (*guardian.User, error)
	FindUsers(ctx context.Context, filter guardian.UserFilter) ([]*guardian.User, error)
	UpdateUser(ctx context.Context, id int64, upd guardian.UserUpdate, ev *guardian.AuditEvent) (*guardian.User, error)
}

// users returns the store as a userStore, failing the test if it is not.
func (e *env) users() userStore {
	e.t.Helper()
	us, ok := e.s.(userStore)
	if !ok {
		e.t.Fatalf("%T does not keep users", e.s)
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
