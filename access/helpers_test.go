package access_test

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// The test network: two partners, two liaison offices (one covering the
// first partner's country, one not), and the fallback and domestic agencies
// every network has.
const (
	hubID     = "test-hub"
	partnerPY = "py-police" // partner for PY, every section
	partnerAR = "ar-police" // partner for AR, no reporter contacts, no file content
	liaisonS  = "lo-south"  // liaison for PY and BO, no file content
	liaisonN  = "lo-north"  // liaison for CA
	fallback  = "intl-desk"
	domestic  = "us-federal"
)

var (
	now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	fullScope = guardian.ScopeReporterContacts | guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails |
		guardian.ScopeFiles | guardian.ScopeFileContent
	arScope      = guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails | guardian.ScopeFiles
	liaisonScope = guardian.ScopeReporterContacts | guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails | guardian.ScopeFiles
)

// MustNetwork builds the test network, leaving out the agencies named.
func MustNetwork(tb testing.TB, without ...string) *guardian.Network {
	tb.Helper()
	return MustNetworkWith(tb, nil, without...)
}

// MustNetworkWith builds the test network with other data scopes for some
// agencies, leaving out the agencies named.
func MustNetworkWith(tb testing.TB, scopes map[string]guardian.DataScope, without ...string) *guardian.Network {
	tb.Helper()
	type entry struct {
		id        string
		kind      guardian.AgencyKind
		countries []string
		scope     guardian.DataScope
	}
	entries := []entry{
		{partnerPY, guardian.AgencyPartner, []string{"PY"}, fullScope},
		{partnerAR, guardian.AgencyPartner, []string{"AR"}, arScope},
		{liaisonS, guardian.AgencyLiaison, []string{"PY", "BO"}, liaisonScope},
		{liaisonN, guardian.AgencyLiaison, []string{"CA"}, liaisonScope},
		{fallback, guardian.AgencyFallback, nil, guardian.ScopeSuspectDetails},
		{domestic, guardian.AgencyDomestic, []string{"US"}, fullScope},
	}
	var agencies []*guardian.Agency
	var agreements []*guardian.Agreement
outer:
	for _, e := range entries {
		for _, w := range without {
			if e.id == w {
				continue outer
			}
		}
		ch := guardian.ChannelDirect
		if e.kind == guardian.AgencyLiaison {
			ch = guardian.ChannelLiaison
		}
		if sc, found := scopes[e.id]; found {
			e.scope = sc
		}
		agencies = append(agencies, &guardian.Agency{ID: e.id, Name: e.id, Kind: e.kind})
		agreements = append(agreements, &guardian.Agreement{Agency: e.id, Channel: ch, Countries: e.countries, DataScope: e.scope})
	}
	n, err := guardian.NewNetwork(guardian.Hub{ID: hubID, Name: "Test Hub", Country: "US"}, agencies, agreements)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// cleared is a person with vetting and training valid for a year.
func cleared(u *guardian.User) *guardian.User {
	u.VettingExpiresAt = ptr(now.AddDate(1, 0, 0))
	u.TrainingExpiresAt = ptr(now.AddDate(0, 6, 0))
	return u
}

func hubUser(id int64, roles ...guardian.Role) *guardian.User {
	return cleared(&guardian.User{ID: id, Name: "hub-user", Organisation: guardian.HubOrganisation(hubID), Roles: roles})
}

func agencyUser(id int64, agency string, roles ...guardian.Role) *guardian.User {
	return cleared(&guardian.User{ID: id, Name: agency + "-user", Organisation: guardian.AgencyOrganisation(agency), Roles: roles})
}

// MustUserCaller returns the caller for u on the full test network.
func MustUserCaller(tb testing.TB, u *guardian.User) *access.Caller {
	tb.Helper()
	c, err := access.ForUser(u, MustNetwork(tb), now)
	if err != nil {
		tb.Fatalf("ForUser(%s): %v", u.Name, err)
	}
	return c
}

// referral returns a delivered referral of the agency for the countries.
func referral(agency string, countries ...string) *guardian.Referral {
	return &guardian.Referral{
		ID: 7, ReportID: 42, AgencyID: agency, Countries: countries,
		State: guardian.ReferralDelivered, DataScope: fullScope,
	}
}

// outcome summarises an Authorize result for comparison: "ok", or the
// refusal's code and reason.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	r, ok := err.(*access.Refusal)
	if !ok {
		return "not a refusal: " + err.Error()
	}
	if r.Reason == access.ReasonNotFound {
		return "404"
	}
	return r.Code + " " + string(r.Reason)
}
