package access_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

func TestForUser(t *testing.T) {
	n := MustNetwork(t)
	tests := []struct {
		name      string
		user      *guardian.User
		network   *guardian.Network
		wantErr   bool
		wantRoles []guardian.Role
	}{
		{"agency person", agencyUser(1, partnerPY, guardian.RoleAgencyInvestigator), n, false, []guardian.Role{guardian.RoleAgencyInvestigator}},
		{"hub person with two roles", hubUser(1, guardian.RoleHubAnalyst, guardian.RoleAuditor), n, false, []guardian.Role{guardian.RoleHubAnalyst, guardian.RoleAuditor}},
		{"disabled", func() *guardian.User {
			u := agencyUser(1, partnerPY, guardian.RoleAgencyInvestigator)
			u.Disabled = true
			return u
		}(), n, true, nil},
		{"agency removed at a reload", agencyUser(1, partnerPY, guardian.RoleAgencyInvestigator), MustNetwork(t, partnerPY), true, nil},
		{"unknown hub", &guardian.User{ID: 1, Organisation: guardian.HubOrganisation("other-hub"), Roles: []guardian.Role{guardian.RoleHubAnalyst}}, n, true, nil},
		{"an agency id is not the hub", &guardian.User{ID: 1, Organisation: guardian.HubOrganisation(partnerPY), Roles: []guardian.Role{guardian.RoleHubAnalyst}}, n, true, nil},
		{"hub role in an agency", agencyUser(1, partnerPY, guardian.RoleHubAnalyst), n, true, nil},
		{"liaison officer at a partner", agencyUser(1, partnerPY, guardian.RoleLiaisonOfficer), n, true, nil},
		{"investigator at a liaison office", agencyUser(1, liaisonS, guardian.RoleAgencyInvestigator), n, true, nil},
		{"one role of two no longer allowed", agencyUser(1, partnerPY, guardian.RoleLiaisonOfficer, guardian.RoleAgencySupervisor), n, false, []guardian.Role{guardian.RoleAgencySupervisor}},
		{"unknown role", agencyUser(1, partnerPY, "chief"), n, true, nil},
		{"no role", agencyUser(1, partnerPY), n, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := access.ForUser(tt.user, tt.network, now)
			if tt.wantErr {
				if guardian.ErrorCode(err) != guardian.EUNAUTHORIZED {
					t.Fatalf("ForUser = %v, %v; want 401", c, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantRoles, c.Roles); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			if !c.IsPerson() || c.UserID != tt.user.ID {
				t.Errorf("caller %+v is not the person", c)
			}
		})
	}
}

func TestForToken(t *testing.T) {
	n := MustNetwork(t)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	tok := func(org guardian.Organisation, r guardian.Role, expires time.Time, revoked *time.Time) *guardian.APIToken {
		return &guardian.APIToken{ID: 9, Organisation: org, Role: r, ExpiresAt: expires, RevokedAt: revoked}
	}
	py := guardian.AgencyOrganisation(partnerPY)
	tests := []struct {
		name    string
		tok     *guardian.APIToken
		network *guardian.Network
		ok      bool
	}{
		{"valid", tok(py, guardian.RoleAgencyInvestigator, future, nil), n, true},
		{"expired", tok(py, guardian.RoleAgencyInvestigator, past, nil), n, false},
		{"revoked", tok(py, guardian.RoleAgencyInvestigator, future, &past), n, false},
		{"agency removed at a reload", tok(py, guardian.RoleAgencyInvestigator, future, nil), MustNetwork(t, partnerPY), false},
		{"role not allowed there", tok(py, guardian.RoleLiaisonOfficer, future, nil), n, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := access.ForToken(tt.tok, tt.network, now)
			if tt.ok != (err == nil) {
				t.Fatalf("ForToken = %v; want ok %v", err, tt.ok)
			}
			if err != nil {
				if guardian.ErrorCode(err) != guardian.EUNAUTHORIZED {
					t.Errorf("code %s, want 401", guardian.ErrorCode(err))
				}
				return
			}
			if c.IsPerson() || c.TokenID != 9 {
				t.Errorf("caller %+v is not the token", c)
			}
		})
	}
}

func TestUnauthenticated(t *testing.T) {
	var c *access.Caller
	_, err := c.Authorize(access.Request{Action: access.ListReferrals})
	if outcome(err) != "unauthorized unauthenticated" {
		t.Errorf("nil caller: %v", err)
	}
}

func TestClearance(t *testing.T) {
	expired := now.Add(-24 * time.Hour)
	tests := []struct {
		name         string
		vet, train   *time.Time
		wantReason   access.Reason
		wantMentions []string
	}{
		{"no vetting", nil, ptr(now.AddDate(1, 0, 0)), access.ReasonVetting, []string{"no security vetting"}},
		{"vetting expired", &expired, ptr(now.AddDate(1, 0, 0)), access.ReasonVetting, []string{"security vetting expired on 2026-03-01"}},
		{"vetting ends now", ptr(now), ptr(now.AddDate(1, 0, 0)), access.ReasonVetting, []string{"security vetting expired"}},
		{"no training", ptr(now.AddDate(1, 0, 0)), nil, access.ReasonTraining, []string{"no training certificate"}},
		{"training expired", ptr(now.AddDate(1, 0, 0)), &expired, access.ReasonTraining, []string{"training certificate expired on 2026-03-01"}},
		{"neither", nil, &expired, access.ReasonVettingAndTraining, []string{"no security vetting", "training certificate expired"}},
		{"both valid", ptr(now.Add(time.Second)), ptr(now.Add(time.Second)), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator)
			u.VettingExpiresAt, u.TrainingExpiresAt = tt.vet, tt.train
			c := MustUserCaller(t, u)
			for _, a := range []access.Action{access.OpenContent, access.ViewFile, access.DownloadPackage} {
				_, err := c.Authorize(access.Request{
					Action: a, Referral: referral(partnerPY, "PY"), File: &access.File{ViewedByReporter: true},
					Justification: guardian.Justification{CaseNumber: "1"},
				})
				if tt.wantReason == "" {
					if err != nil {
						t.Errorf("%s: %v", a, err)
					}
					continue
				}
				var r *access.Refusal
				if !errors.As(err, &r) || r.Reason != tt.wantReason || r.Code != guardian.EFORBIDDEN {
					t.Fatalf("%s: %v; want 403 %s", a, err, tt.wantReason)
				}
				for _, m := range tt.wantMentions {
					if !strings.Contains(r.Message, m) {
						t.Errorf("%s: message %q does not say %q", a, r.Message, m)
					}
				}
			}
			// What is not content needs no clearance.
			for _, a := range []access.Action{access.ViewReferral, access.Acknowledge, access.ReadMessages} {
				if _, err := c.Authorize(access.Request{Action: a, Referral: referral(partnerPY, "PY")}); err != nil {
					t.Errorf("%s without clearance: %v", a, err)
				}
			}
		})
	}
}

func TestJustification(t *testing.T) {
	c := MustUserCaller(t, agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	r := referral(partnerPY, "PY")
	tests := []struct {
		name       string
		j          guardian.Justification
		consulted  bool
		want       string
		wantRecord bool
	}{
		{"case number", guardian.Justification{CaseNumber: "PY-2026-117"}, false, ok, true},
		{"reason", guardian.Justification{Reason: "preparing a preservation request"}, false, ok, true},
		{"none", guardian.Justification{}, false, "invalid justification", false},
		{"blank", guardian.Justification{CaseNumber: "  ", Reason: "\t"}, false, "invalid justification", false},
		{"two lines", guardian.Justification{Reason: "a\nb"}, false, "invalid justification", false},
		{"too long", guardian.Justification{Reason: strings.Repeat("x", guardian.MaxJustificationLen+1)}, false, "invalid justification", false},
		{"consulted earlier today", guardian.Justification{}, true, ok, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, a := range []access.Action{access.OpenContent, access.ViewFile, access.DownloadPackage} {
				g, err := c.Authorize(access.Request{Action: a, Referral: r, File: &access.File{ViewedByReporter: true}, Justification: tt.j, Consulted: tt.consulted})
				if got := outcome(err); got != tt.want {
					t.Errorf("%s: %s, want %s", a, got, tt.want)
				}
				if g.RecordConsultation != tt.wantRecord {
					t.Errorf("%s: RecordConsultation %v, want %v", a, g.RecordConsultation, tt.wantRecord)
				}
			}
		})
	}
	// A token's sealed package goes to the agency's system: no person's
	// clearance or justification.
	tc, err := access.ForToken(&guardian.APIToken{ID: 1, Organisation: guardian.AgencyOrganisation(partnerPY), Role: guardian.RoleAgencyInvestigator, ExpiresAt: now.Add(time.Hour)}, MustNetwork(t), now)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := tc.Authorize(access.Request{Action: access.DownloadPackage, Referral: r}); err != nil || g.RecordConsultation {
		t.Errorf("token package: %+v, %v", g, err)
	}
}

func TestFiles(t *testing.T) {
	n := MustNetworkWith(t, map[string]guardian.DataScope{liaisonS: fullScope})
	caller := func(u *guardian.User) *access.Caller {
		c, err := access.ForUser(u, n, now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	py := caller(agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	ar := caller(agencyUser(30, partnerAR, guardian.RoleAgencyInvestigator)) // files, no file content
	lo := caller(agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer))      // full scope in this network
	hub := caller(hubUser(2, guardian.RoleHubAnalyst))

	viewed := &access.File{ViewedByReporter: true}
	unviewed := &access.File{}
	authorised := &access.File{LegalAuthority: true}
	pyRef := referral(partnerPY, "PY")
	noFiles := referral(partnerPY, "PY")
	noFiles.DataScope = guardian.ScopeSuspectDetails // made under an agreement without files
	tests := []struct {
		name      string
		c         *access.Caller
		r         *guardian.Referral
		escalated bool
		f         *access.File
		want      string
	}{
		{"viewed by the reporter", py, pyRef, false, viewed, ok},
		{"not viewed, no legal authority", py, pyRef, false, unviewed, "forbidden file-locked"},
		{"not viewed, legal authority recorded", py, pyRef, false, authorised, ok},
		{"no such file", py, pyRef, false, nil, notFound},
		{"referral without files", py, noFiles, false, viewed, notFound},
		{"files but no file content", ar, referral(partnerAR, "AR"), false, viewed, noScope},
		{"hub, viewed", hub, pyRef, false, viewed, ok},
		{"hub, not viewed", hub, pyRef, false, unviewed, "forbidden file-locked"},
		{"hub, the agency's legal authority", hub, pyRef, false, authorised, "forbidden file-locked"},
		{"liaison, escalated, viewed", lo, pyRef, true, viewed, ok},
		{"liaison, escalated, the agency's legal authority", lo, pyRef, true, authorised, "forbidden file-locked"},
		{"liaison, not escalated", lo, pyRef, false, viewed, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Authorize(access.Request{Action: access.ViewFile, Referral: tt.r, Escalated: tt.escalated, File: tt.f, Consulted: true})
			if got := outcome(err); got != tt.want {
				t.Errorf("%s, want %s", got, tt.want)
			}
			if tt.want == notFound && err.Error() != access.NotFound(access.KindFile).Error() && err.Error() != access.NotFound(access.KindReferral).Error() {
				t.Errorf("not found as %v", err)
			}
		})
	}
	// The locked refusal tells the agency what to do.
	_, err := py.Authorize(access.Request{Action: access.ViewFile, Referral: pyRef, File: unviewed, Consulted: true})
	if !strings.Contains(guardian.ErrorMessage(err), "warrant or order") {
		t.Errorf("locked file message %q", guardian.ErrorMessage(err))
	}
}

func TestFileFacts(t *testing.T) {
	las := []*guardian.LegalAuthority{{FileIDs: []string{"a"}}, {FileIDs: []string{"b", "c"}}}
	tests := []struct {
		name    string
		details *guardian.FileDetails
		id      string
		want    access.File
	}{
		{"no details", nil, "x", access.File{}},
		{"viewed absent", &guardian.FileDetails{}, "x", access.File{}},
		{"viewed false", &guardian.FileDetails{FileViewedByESP: ptr(false)}, "x", access.File{}},
		{"viewed true", &guardian.FileDetails{FileViewedByESP: ptr(true)}, "x", access.File{ViewedByReporter: true}},
		{"covered", &guardian.FileDetails{FileViewedByESP: ptr(false)}, "c", access.File{LegalAuthority: true}},
	}
	for _, tt := range tests {
		if got := access.FileFacts(tt.details, tt.id, las); *got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, *got, tt.want)
		}
	}
}

func TestMessageThreads(t *testing.T) {
	py := MustUserCaller(t, agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	lo := MustUserCaller(t, agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer))
	hub := MustUserCaller(t, hubUser(2, guardian.RoleHubAnalyst))
	r := referral(partnerPY, "PY")
	tests := []struct {
		name      string
		c         *access.Caller
		escalated bool
		thread    string
		want      string
	}{
		{"own thread by default", py, false, "", ok},
		{"own thread by name", py, false, partnerPY, ok},
		{"another agency's thread", py, false, liaisonS, notFound},
		{"liaison's own thread on an escalated referral", lo, true, liaisonS, ok},
		{"liaison reading the agency's thread", lo, true, partnerPY, notFound},
		{"hub, the agency's thread", hub, false, partnerPY, ok},
		{"hub, the liaison's thread", hub, false, liaisonS, ok},
		{"hub, the referral's thread by default", hub, false, "", ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, a := range []access.Action{access.ReadMessages, access.SendMessage} {
				_, err := tt.c.Authorize(access.Request{Action: a, Referral: r, Escalated: tt.escalated, Thread: tt.thread})
				if got := outcome(err); got != tt.want {
					t.Errorf("%s: %s, want %s", a, got, tt.want)
				}
				if tt.want == notFound && err.Error() != access.NotFound(access.KindMessage).Error() {
					t.Errorf("%s: %v, want %v", a, err, access.NotFound(access.KindMessage))
				}
			}
		})
	}
}

func TestAssign(t *testing.T) {
	inv := agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator)
	colleague := agencyUser(12, partnerPY, guardian.RoleAgencyInvestigator)
	sup := agencyUser(11, partnerPY, guardian.RoleAgencySupervisor)
	disabled := agencyUser(13, partnerPY, guardian.RoleAgencyInvestigator)
	disabled.Disabled = true
	foreign := agencyUser(30, partnerAR, guardian.RoleAgencyInvestigator)
	hubPerson := hubUser(2, guardian.RoleHubAnalyst)
	r := referral(partnerPY, "PY")
	tests := []struct {
		name     string
		by       *guardian.User
		assignee *guardian.User
		want     string
	}{
		{"investigator takes it", inv, inv, ok},
		{"investigator gives it to a colleague", inv, colleague, role},
		{"supervisor gives it to an investigator", sup, colleague, ok},
		{"supervisor takes it", sup, sup, ok},
		{"to a disabled colleague", sup, disabled, "invalid assignee"},
		{"to another agency's person", sup, foreign, notFound},
		{"to a hub person", sup, hubPerson, notFound},
		{"to nobody", sup, nil, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MustUserCaller(t, tt.by).Authorize(access.Request{Action: access.Assign, Referral: r, Assignee: tt.assignee})
			if got := outcome(err); got != tt.want {
				t.Errorf("%s, want %s", got, tt.want)
			}
			if tt.want == notFound && err.Error() != access.NotFound(access.KindUser).Error() {
				t.Errorf("%v, want %v", err, access.NotFound(access.KindUser))
			}
		})
	}
}

func TestScope(t *testing.T) {
	// py-police's agreement was narrowed at a reload to suspect details and
	// files; referrals made under the full scope narrow with it.
	n := MustNetworkWith(t, map[string]guardian.DataScope{partnerPY: guardian.ScopeSuspectDetails | guardian.ScopeFiles})
	c := func(u *guardian.User) *access.Caller {
		cc, err := access.ForUser(u, n, now)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	py := c(agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	lo := c(agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer))
	hub := c(hubUser(2, guardian.RoleHubSupervisor))
	ar := c(agencyUser(30, partnerAR, guardian.RoleAgencyInvestigator))

	old := referral(partnerPY, "PY") // made under the full scope
	narrow := referral(partnerPY, "PY")
	narrow.DataScope = guardian.ScopeSuspectDetails // made under a narrower one than today's
	tests := []struct {
		name      string
		c         *access.Caller
		r         *guardian.Referral
		escalated bool
		want      guardian.DataScope
		hub       bool
	}{
		{"own, agreement narrowed since", py, old, false, guardian.ScopeSuspectDetails | guardian.ScopeFiles, false},
		{"own, agreement widened since", py, narrow, false, guardian.ScopeSuspectDetails, false},
		{"liaison through escalation: its own scope", lo, old, true, liaisonScope, false},
		{"hub: everything", hub, narrow, false, fullScope, true},
		{"another agency: nothing", ar, old, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Scope(tt.r, tt.escalated); got != tt.want {
				t.Errorf("Scope = %q, want %q", got, tt.want)
			}
			g, err := tt.c.Authorize(access.Request{Action: access.ViewReferral, Referral: tt.r, Escalated: tt.escalated})
			if tt.want == 0 {
				if err == nil {
					t.Error("invisible referral authorised")
				}
				return
			}
			if err != nil || g.Scope != tt.want || g.Hub != tt.hub || g.ViaEscalation != tt.escalated {
				t.Errorf("grant %+v, %v", g, err)
			}
		})
	}
}

func TestReferralQuery(t *testing.T) {
	delivered := []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged, guardian.ReferralClosed, guardian.ReferralRerouted}
	tests := []struct {
		name string
		u    *guardian.User
		want access.Query
		err  string
	}{
		{"partner", agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator), access.Query{AgencyID: partnerPY, States: delivered}, ""},
		{"liaison", agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer), access.Query{AgencyID: liaisonS, States: delivered, EscalatedCountries: []string{"PY", "BO"}}, ""},
		{"hub analyst", hubUser(2, guardian.RoleHubAnalyst), access.Query{All: true}, ""},
		{"hub administrator", hubUser(1, guardian.RoleHubAdmin), access.Query{}, role},
		{"auditor", hubUser(4, guardian.RoleAuditor), access.Query{}, role},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := MustUserCaller(t, tt.u).ReferralQuery()
			if tt.err != "" {
				if outcome(err) != tt.err {
					t.Errorf("err %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCanSeeMatchesAuthorize checks that a list never shows a referral that
// its page would answer 404 for, and the reverse.
func TestCanSeeMatchesAuthorize(t *testing.T) {
	for _, mc := range matrixCallers() {
		if mc.user == nil {
			continue
		}
		c := MustUserCaller(t, mc.user)
		for _, s := range situations {
			r, esc := situation(s, mc.home, mc.homeCountry)
			_, err := c.Authorize(access.Request{Action: access.ViewReferral, Referral: r, Escalated: esc})
			if got, want := c.CanSee(r, esc), err == nil; got != want {
				t.Errorf("%s, %s: CanSee %v, ViewReferral %v", mc.name, s, got, err)
			}
		}
	}
}

func TestContext(t *testing.T) {
	c := MustUserCaller(t, hubUser(2, guardian.RoleHubAnalyst))
	ctx := access.NewContext(context.Background(), c)
	if got, ok := access.FromContext(ctx); !ok || got != c {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
	if _, ok := access.FromContext(context.Background()); ok {
		t.Error("FromContext found a caller in an empty context")
	}
}

func TestRefusalIsGuardianError(t *testing.T) {
	c := MustUserCaller(t, hubUser(4, guardian.RoleAuditor))
	_, err := c.Authorize(access.Request{Action: access.OpenContent})
	var ge *guardian.Error
	if !errors.As(err, &ge) || ge.Code != guardian.EFORBIDDEN || ge.Message != "Your role does not allow this." {
		t.Errorf("refusal as guardian.Error: %#v", ge)
	}
	if guardian.ErrorMessage(err) == "Internal error." {
		t.Error("a refusal's message is hidden as internal")
	}
	if !slices.Contains(access.Actions(), access.ReadAuditLog) {
		t.Error("Actions lacks ReadAuditLog")
	}
}

func TestGrantOpens(t *testing.T) {
	viewed := &access.File{ViewedByReporter: true}
	unviewed := &access.File{}
	authorised := &access.File{LegalAuthority: true}
	noContent := fullScope &^ guardian.ScopeFileContent
	tests := []struct {
		name string
		g    access.Grant
		f    *access.File
		want bool
	}{
		{"own, viewed", access.Grant{Scope: fullScope}, viewed, true},
		{"own, not viewed", access.Grant{Scope: fullScope}, unviewed, false},
		{"own, legal authority", access.Grant{Scope: fullScope}, authorised, true},
		{"own, viewed and legal authority", access.Grant{Scope: fullScope}, &access.File{ViewedByReporter: true, LegalAuthority: true}, true},
		{"no file content in scope, viewed", access.Grant{Scope: noContent}, viewed, false},
		{"no file content in scope, legal authority", access.Grant{Scope: noContent}, authorised, false},
		{"no scope at all", access.Grant{}, viewed, false},
		{"no such file", access.Grant{Scope: fullScope}, nil, false},
		{"hub, viewed", access.Grant{Scope: fullScope, Hub: true}, viewed, true},
		{"hub, the agency's legal authority", access.Grant{Scope: fullScope, Hub: true}, authorised, false},
		{"escalated, viewed", access.Grant{Scope: fullScope, ViaEscalation: true}, viewed, true},
		{"escalated, the agency's legal authority", access.Grant{Scope: fullScope, ViaEscalation: true}, authorised, false},
	}
	for _, tt := range tests {
		if got := tt.g.Opens(tt.f); got != tt.want {
			t.Errorf("%s: Opens = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestOpensMatchesAuthorize: the grant a caller gets for a referral's
// content says of each file exactly what Authorize says when the file is
// asked for, so that a list or a package unlocks what a download would.
func TestOpensMatchesAuthorize(t *testing.T) {
	n := MustNetworkWith(t, map[string]guardian.DataScope{liaisonS: fullScope})
	files := []*access.File{{ViewedByReporter: true}, {}, {LegalAuthority: true}, {ViewedByReporter: true, LegalAuthority: true}}
	type situation struct {
		name      string
		u         *guardian.User
		r         *guardian.Referral
		escalated bool
	}
	noContent := referral(partnerPY, "PY")
	noContent.DataScope = fullScope &^ guardian.ScopeFileContent
	situations := []situation{
		{"own", agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator), referral(partnerPY, "PY"), false},
		{"own, made without file content", agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator), noContent, false},
		{"agreement without file content", agencyUser(30, partnerAR, guardian.RoleAgencyInvestigator), referral(partnerAR, "AR"), false},
		{"liaison, escalated", agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer), referral(partnerPY, "PY"), true},
		{"hub analyst", hubUser(2, guardian.RoleHubAnalyst), referral(partnerPY, "PY"), false},
		{"hub supervisor", hubUser(3, guardian.RoleHubSupervisor), referral(partnerPY, "PY"), false},
	}
	for _, s := range situations {
		c, err := access.ForUser(s.u, n, now)
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.Authorize(access.Request{Action: access.OpenContent, Referral: s.r, Escalated: s.escalated, Consulted: true})
		if err != nil {
			t.Fatalf("%s: open content: %v", s.name, err)
		}
		for _, f := range files {
			_, err := c.Authorize(access.Request{Action: access.ViewFile, Referral: s.r, Escalated: s.escalated, File: f, Consulted: true})
			if g.Opens(f) != (err == nil) {
				t.Errorf("%s, file %+v: Opens = %v, Authorize(ViewFile) = %v", s.name, *f, g.Opens(f), err)
			}
		}
	}
}
