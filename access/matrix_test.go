package access_test

import (
	"fmt"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// The matrix: every caller × referral situation × action. Each caller is
// cleared (vetted and trained), gives a justification, asks for a file the
// reporting service viewed, and assigns to themself (a token, to an
// investigator of its agency), so that what decides is who asks, about
// what, and the referral's situation. The focused tests below vary the rest.

// Outcomes as outcome() prints them.
const (
	ok         = "ok"
	notFound   = "404"
	role       = "forbidden role"
	escalation = "forbidden escalation"
	returned   = "forbidden returned"
	personOnly = "forbidden person-only"
	state      = "conflict state"
	noScope    = "forbidden scope"
)

// expect lists outcomes by action; an action not listed is refused for the
// role, before the referral is looked at.
type expect map[access.Action]string

func (e expect) get(a access.Action) string {
	if o, found := e[a]; found {
		return o
	}
	return role
}

// with returns a copy of e with some outcomes changed.
func (e expect) with(kv ...any) expect {
	out := expect{}
	for a, o := range e {
		out[a] = o
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(access.Action)] = kv[i+1].(string)
	}
	return out
}

var (
	// An agency worker's own delivered referral: everything but an
	// outcome, which needs an acknowledgement first.
	agencyOwn = expect{
		access.ListReferrals: ok, access.ViewReferral: ok, access.OpenContent: ok, access.ViewFile: ok,
		access.RecordLegalAuthority: ok, access.Acknowledge: ok, access.Assign: ok, access.ReadMessages: ok,
		access.SendMessage: ok, access.Decline: ok, access.RecordOutcome: state, access.DownloadPackage: ok,
	}
	agencyOwnAcknowledged = agencyOwn.with(access.Acknowledge, state, access.RecordOutcome, ok)
	// Declined as not their jurisdiction: metadata and messages only.
	agencyReturned = expect{
		access.ListReferrals: ok, access.ViewReferral: ok, access.ReadMessages: ok, access.SendMessage: ok,
		access.OpenContent: returned, access.ViewFile: returned, access.RecordLegalAuthority: returned,
		access.Acknowledge: returned, access.Assign: returned, access.Decline: returned,
		access.RecordOutcome: returned, access.DownloadPackage: returned,
	}
	// Held, not yet delivered, withdrawn, another agency's: it does not
	// exist.
	agencyInvisible = expect{
		access.ListReferrals: ok, access.ViewReferral: notFound, access.OpenContent: notFound, access.ViewFile: notFound,
		access.RecordLegalAuthority: notFound, access.Acknowledge: notFound, access.Assign: notFound,
		access.ReadMessages: notFound, access.SendMessage: notFound, access.Decline: notFound,
		access.RecordOutcome: notFound, access.DownloadPackage: notFound,
	}
	// A liaison office covering the country of an escalated referral:
	// read and talk to the hub, nothing that is the agency's to do.
	liaisonEscalated = expect{
		access.ListReferrals: ok, access.ViewReferral: ok, access.OpenContent: ok, access.ViewFile: ok,
		access.ReadMessages: ok, access.SendMessage: ok,
		access.RecordLegalAuthority: escalation, access.Acknowledge: escalation, access.Assign: escalation,
		access.Decline: escalation, access.RecordOutcome: escalation, access.DownloadPackage: escalation,
	}
	// A token of an agency: what people do, but no plaintext content and
	// no statement of legal authority; an investigator's token cannot
	// assign to anyone but itself, which it is not.
	tokenOwn              = agencyOwn.with(access.OpenContent, personOnly, access.ViewFile, personOnly, access.RecordLegalAuthority, personOnly, access.Assign, role)
	tokenOwnAcknowledged  = agencyOwnAcknowledged.with(access.OpenContent, personOnly, access.ViewFile, personOnly, access.RecordLegalAuthority, personOnly, access.Assign, role)
	tokenReturned         = agencyReturned.with(access.OpenContent, personOnly, access.ViewFile, personOnly, access.RecordLegalAuthority, personOnly)
	tokenInvisible        = agencyInvisible.with(access.OpenContent, personOnly, access.ViewFile, personOnly, access.RecordLegalAuthority, personOnly)
	supervisorTokenOwn    = tokenOwn.with(access.Assign, ok)
	supervisorTokenOwnAck = tokenOwnAcknowledged.with(access.Assign, ok)

	// Hub analysts see every referral in every state; they confirm only
	// held ones.
	hubAnalyst = expect{
		access.ListReferrals: ok, access.ViewReferral: ok, access.OpenContent: ok, access.ViewFile: ok,
		access.ReadMessages: ok, access.SendMessage: ok, access.ChangePriority: ok, access.OverrideRouting: ok,
		access.ConfirmReferral: state,
	}
	hubAnalystHeld    = hubAnalyst.with(access.ConfirmReferral, ok)
	hubSupervisor     = hubAnalyst.with(access.ViewBoard, ok)
	hubSupervisorHeld = hubAnalystHeld.with(access.ViewBoard, ok)
	hubAdmin          = expect{access.ManageUsers: ok, access.ManageTokens: ok, access.ReloadNetwork: ok}
	auditor           = expect{access.ReadAuditLog: ok}
)

// Situations, relative to the caller's home agency (the hub's callers use
// py-police's referrals).
const (
	sOwn             = "own delivered"
	sOwnAcknowledged = "own acknowledged"
	sOwnReturned     = "own returned"
	sOwnHeld         = "own held"
	sOwnNew          = "own not yet delivered"
	sOwnWithdrawn    = "own withdrawn"
	sOther           = "another agency's"
	sEscalatedPY     = "py-police's, escalated" // PY: covered by lo-south
)

var situations = []string{sOwn, sOwnAcknowledged, sOwnReturned, sOwnHeld, sOwnNew, sOwnWithdrawn, sOther, sEscalatedPY}

// situation returns the referral and whether it escalated.
func situation(s, home, homeCountry string) (*guardian.Referral, bool) {
	r := referral(home, homeCountry)
	switch s {
	case sOwnAcknowledged:
		r.State = guardian.ReferralAcknowledged
	case sOwnReturned:
		r.State = guardian.ReferralRerouted
	case sOwnHeld:
		r.State, r.HeldForConfirmation = guardian.ReferralNew, true
	case sOwnNew:
		r.State = guardian.ReferralNew
	case sOwnWithdrawn:
		r.State = guardian.ReferralWithdrawn
	case sOther:
		if home == partnerAR {
			return referral(partnerPY, "PY"), false
		}
		return referral(partnerAR, "AR"), false
	case sEscalatedPY:
		return referral(partnerPY, "PY"), true
	}
	return r, false
}

type matrixCaller struct {
	name        string
	user        *guardian.User     // a person, or
	token       *guardian.APIToken // a machine client
	home        string             // the agency whose referrals are "own"
	homeCountry string
	assignee    *guardian.User
	want        map[string]expect // by situation
}

func allSituations(e expect) map[string]expect {
	m := map[string]expect{}
	for _, s := range situations {
		m[s] = e
	}
	return m
}

// agencyWorker is what an agency's people get; escalated is how they see
// py-police's escalated referral. An agency whose agreement has no file
// content neither opens files nor records legal authority for them.
func agencyWorker(fileContent bool, escalated expect) map[string]expect {
	own, ack := agencyOwn, agencyOwnAcknowledged
	if !fileContent {
		own = own.with(access.ViewFile, noScope, access.RecordLegalAuthority, noScope)
		ack = ack.with(access.ViewFile, noScope, access.RecordLegalAuthority, noScope)
	}
	return map[string]expect{
		sOwn: own, sOwnAcknowledged: ack, sOwnReturned: agencyReturned,
		sOwnHeld: agencyInvisible, sOwnNew: agencyInvisible, sOwnWithdrawn: agencyInvisible, sOther: agencyInvisible,
		sEscalatedPY: escalated,
	}
}

func matrixCallers() []matrixCaller {
	pyInv := agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator)
	hubAnalystSituations := allSituations(hubAnalyst)
	hubAnalystSituations[sOwnHeld] = hubAnalystHeld
	hubSupervisorSituations := allSituations(hubSupervisor)
	hubSupervisorSituations[sOwnHeld] = hubSupervisorHeld
	future := now.AddDate(0, 1, 0)
	tok := func(r guardian.Role) *guardian.APIToken {
		return &guardian.APIToken{ID: 3, Name: "py-case-system", Organisation: guardian.AgencyOrganisation(partnerPY), Role: r, ExpiresAt: future}
	}
	callers := []matrixCaller{
		{name: "hub administrator", user: hubUser(1, guardian.RoleHubAdmin), want: allSituations(hubAdmin)},
		{name: "hub analyst", user: hubUser(2, guardian.RoleHubAnalyst), want: hubAnalystSituations},
		{name: "hub supervisor", user: hubUser(3, guardian.RoleHubSupervisor), want: hubSupervisorSituations},
		{name: "auditor", user: hubUser(4, guardian.RoleAuditor), want: allSituations(auditor)},
		{name: "py investigator", user: pyInv, home: partnerPY, homeCountry: "PY", want: agencyWorker(true, agencyOwn)},
		{name: "py supervisor", user: agencyUser(11, partnerPY, guardian.RoleAgencySupervisor), home: partnerPY, homeCountry: "PY", want: agencyWorker(true, agencyOwn)},
		{name: "ar investigator", user: agencyUser(30, partnerAR, guardian.RoleAgencyInvestigator), home: partnerAR, homeCountry: "AR", want: agencyWorker(false, agencyInvisible)},
		{name: "lo-south liaison officer", user: agencyUser(20, liaisonS, guardian.RoleLiaisonOfficer), home: liaisonS, homeCountry: "BO", want: agencyWorker(false, liaisonEscalated.with(access.ViewFile, noScope))},
		{name: "lo-south supervisor", user: agencyUser(21, liaisonS, guardian.RoleAgencySupervisor), home: liaisonS, homeCountry: "BO", want: agencyWorker(false, liaisonEscalated.with(access.ViewFile, noScope))},
		{name: "lo-north liaison officer", user: agencyUser(40, liaisonN, guardian.RoleLiaisonOfficer), home: liaisonN, homeCountry: "CA", want: agencyWorker(false, agencyInvisible)},
		{
			name: "py investigator token", token: tok(guardian.RoleAgencyInvestigator), home: partnerPY, homeCountry: "PY", assignee: pyInv,
			want: map[string]expect{
				sOwn: tokenOwn, sOwnAcknowledged: tokenOwnAcknowledged, sOwnReturned: tokenReturned,
				sOwnHeld: tokenInvisible, sOwnNew: tokenInvisible, sOwnWithdrawn: tokenInvisible, sOther: tokenInvisible,
				sEscalatedPY: tokenOwn,
			},
		},
		{
			name: "py supervisor token", token: tok(guardian.RoleAgencySupervisor), home: partnerPY, homeCountry: "PY", assignee: pyInv,
			want: map[string]expect{
				sOwn: supervisorTokenOwn, sOwnAcknowledged: supervisorTokenOwnAck, sOwnReturned: tokenReturned,
				sOwnHeld: tokenInvisible, sOwnNew: tokenInvisible, sOwnWithdrawn: tokenInvisible, sOther: tokenInvisible,
				sEscalatedPY: supervisorTokenOwn,
			},
		},
	}
	for i := range callers {
		if callers[i].home == "" {
			callers[i].home, callers[i].homeCountry = partnerPY, "PY"
		}
		if callers[i].assignee == nil {
			callers[i].assignee = callers[i].user
		}
	}
	return callers
}

func TestMatrix(t *testing.T) {
	n := MustNetwork(t)
	viewed := &access.File{ViewedByReporter: true}
	cases := 0
	for _, mc := range matrixCallers() {
		var c *access.Caller
		var err error
		if mc.user != nil {
			c, err = access.ForUser(mc.user, n, now)
		} else {
			c, err = access.ForToken(mc.token, n, now)
		}
		if err != nil {
			t.Fatalf("%s: %v", mc.name, err)
		}
		for _, s := range situations {
			want, found := mc.want[s]
			if !found {
				t.Fatalf("%s: no expectations for %s", mc.name, s)
			}
			for _, a := range access.Actions() {
				r, escalated := situation(s, mc.home, mc.homeCountry)
				req := access.Request{
					Action: a, Escalated: escalated,
					Justification: guardian.Justification{CaseNumber: "2026/117"},
					File:          viewed, Assignee: mc.assignee,
				}
				if a != access.OverrideRouting && a != access.ListReferrals && a != access.ViewBoard &&
					a != access.ReadAuditLog && a != access.ManageUsers && a != access.ManageTokens && a != access.ReloadNetwork {
					req.Referral = r
				}
				_, err := c.Authorize(req)
				if got, w := outcome(err), want.get(a); got != w {
					t.Errorf("%s, %s, %s: %s, want %s", mc.name, s, a, got, w)
				}
				cases++
			}
		}
	}
	t.Logf("%d decisions", cases)
}

// TestNotFoundIndistinguishable checks that every way a referral can be
// invisible gives exactly the answer for an unknown id.
func TestNotFoundIndistinguishable(t *testing.T) {
	c := MustUserCaller(t, agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	unknown := access.NotFound(access.KindReferral)
	for _, s := range []string{sOwnHeld, sOwnNew, sOwnWithdrawn, sOther} {
		r, esc := situation(s, partnerPY, "PY")
		for _, a := range []access.Action{access.ViewReferral, access.OpenContent, access.Acknowledge} {
			_, err := c.Authorize(access.Request{Action: a, Referral: r, Escalated: esc, Justification: guardian.Justification{Reason: "x"}})
			if fmt.Sprintf("%#v", err) != fmt.Sprintf("%#v", unknown) ||
				guardian.ErrorCode(err) != guardian.ENOTFOUND || guardian.ErrorMessage(err) != guardian.ErrorMessage(unknown) {
				t.Errorf("%s, %s: %#v; want exactly %#v", s, a, err, unknown)
			}
		}
	}
	// The held flag hides a referral whatever its state says.
	held := referral(partnerPY, "PY")
	held.HeldForConfirmation = true
	if _, err := c.Authorize(access.Request{Action: access.ViewReferral, Referral: held}); fmt.Sprintf("%#v", err) != fmt.Sprintf("%#v", unknown) {
		t.Errorf("held in state delivered: %#v", err)
	}
	if c.CanSee(held, false) {
		t.Error("CanSee shows a held referral")
	}
	if _, err := c.Authorize(access.Request{Action: access.ViewReferral}); fmt.Sprint(err) != fmt.Sprint(unknown) {
		t.Errorf("no referral: %v", err)
	}
}

// TestPermissionsComplete checks that every action is some role's and every
// role can do something.
func TestPermissionsComplete(t *testing.T) {
	n := MustNetwork(t)
	seen := map[access.Action]bool{}
	for _, r := range guardian.Roles() {
		org := guardian.HubOrganisation(hubID)
		switch r {
		case guardian.RoleAgencyInvestigator, guardian.RoleAgencySupervisor:
			org = guardian.AgencyOrganisation(partnerPY)
		case guardian.RoleLiaisonOfficer:
			org = guardian.AgencyOrganisation(liaisonS)
		}
		c, err := access.ForUser(&guardian.User{ID: 1, Organisation: org, Roles: []guardian.Role{r}}, n, now)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		some := false
		for _, a := range access.Actions() {
			if c.May(a) {
				seen[a], some = true, true
			}
		}
		if !some {
			t.Errorf("role %s may do nothing", r)
		}
	}
	for _, a := range access.Actions() {
		if !seen[a] {
			t.Errorf("no role may %s", a)
		}
	}
}
