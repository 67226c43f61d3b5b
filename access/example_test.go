package access_test

import (
	"fmt"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// What a handler that shows a referral's content does: build the caller,
// ask, and send only what the grant lets out.
func ExampleCaller_Authorize() {
	network, _ := guardian.NewNetwork(guardian.Hub{ID: "hub"},
		[]*guardian.Agency{
			{ID: "py", Kind: guardian.AgencyPartner},
			{ID: "fb", Kind: guardian.AgencyFallback},
			{ID: "home", Kind: guardian.AgencyDomestic},
		},
		[]*guardian.Agreement{
			{Agency: "py", Channel: guardian.ChannelDirect, Countries: []string{"PY"}, DataScope: guardian.ScopeSuspectDetails},
			{Agency: "fb", Channel: guardian.ChannelDirect},
			{Agency: "home", Channel: guardian.ChannelDirect, Countries: []string{"US"}},
		})
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	until := now.AddDate(1, 0, 0)
	user := &guardian.User{
		ID: 10, Name: "ana", Organisation: guardian.AgencyOrganisation("py"),
		Roles:            []guardian.Role{guardian.RoleAgencyInvestigator},
		VettingExpiresAt: &until, TrainingExpiresAt: &until,
	}
	ref := &guardian.Referral{ID: 7, AgencyID: "py", Countries: []string{"PY"}, State: guardian.ReferralDelivered,
		DataScope: guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails}

	caller, err := access.ForUser(user, network, now)
	if err != nil {
		fmt.Println(guardian.ErrorCode(err)) // 401
		return
	}
	_, err = caller.Authorize(access.Request{Action: access.OpenContent, Referral: ref})
	fmt.Println(guardian.ErrorCode(err), guardian.ErrorMessage(err))

	grant, err := caller.Authorize(access.Request{Action: access.OpenContent, Referral: ref,
		Justification: guardian.Justification{CaseNumber: "PY-2026-117"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc := grant.Redact(&guardian.ReportDocument{
		PersonOrUserReported: []guardian.PersonOrUserReported{{ScreenName: "suspect"}},
		Victim:               []guardian.Victim{{SchoolName: "school"}},
	})
	fmt.Println(grant.Scope, grant.RecordConsultation, len(doc.PersonOrUserReported), len(doc.Victim))
	// Output:
	// invalid Give a case number or a reason to open this referral.
	// suspect-details true 1 0
}
