package access

import (
	"fmt"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
)

// Action is something a caller asks to do. The names follow the audit log's
// actions where there is one.
type Action string

// Actions on referrals, for agencies (and, where noted, the hub).
const (
	// ListReferrals: the inbox (agencies) or every referral (hub).
	ListReferrals Action = "referral.list"
	// ViewReferral: a referral's metadata (priority, deadline, state,
	// countries), not the report's content.
	ViewReferral Action = "referral.view"
	// OpenContent: the report document, cut to the data scope.
	OpenContent Action = "referral.open"
	// ViewFile: one file's content. Request.File is required.
	ViewFile Action = "file.view"
	// RecordLegalAuthority: record the warrant or order that opens files
	// the reporting service did not view.
	RecordLegalAuthority Action = "file.legal-authority"
	// Acknowledge: the agency takes responsibility for the referral.
	Acknowledge Action = "referral.acknowledge"
	// Assign: give the referral to a person of the agency.
	// Request.Assignee is required.
	Assign Action = "referral.assign"
	// ReadMessages and SendMessage: the thread between an agency and the
	// hub about a referral (Request.Thread names the agency).
	ReadMessages Action = "message.read"
	SendMessage  Action = "message.send"
	// Decline: "not our jurisdiction"; the referral goes back to the hub
	// (state re-routed).
	Decline Action = "referral.decline"
	// RecordOutcome: close the referral with an outcome.
	RecordOutcome Action = "referral.outcome"
	// DownloadPackage: the sealed package, encrypted to the agency's keys.
	DownloadPackage Action = "referral.package"
)

// Actions of the hub.
const (
	// ConfirmReferral: release a held referral to its agency.
	ConfirmReferral Action = "referral.confirm"
	// ChangePriority: set a referral's priority.
	ChangePriority Action = "referral.priority"
	// OverrideRouting: add an agency to a report or withdraw one (a
	// routing override; not on one referral, so no Request.Referral).
	OverrideRouting Action = "routing.override"
	// ViewBoard: the supervisors' board of overdue and escalated referrals.
	ViewBoard Action = "board.view"
	// ReadAuditLog: the audit log's entries, beyond its public hashes.
	ReadAuditLog Action = "audit.read"
	// ManageUsers, ManageTokens, ReloadNetwork: administration.
	ManageUsers   Action = "user.manage"
	ManageTokens  Action = "token.manage"
	ReloadNetwork Action = "network.reload"
)

// Actions returns every action.
func Actions() []Action { return slices.Clone(actions) }

var actions = []Action{
	ListReferrals, ViewReferral, OpenContent, ViewFile, RecordLegalAuthority, Acknowledge, Assign,
	ReadMessages, SendMessage, Decline, RecordOutcome, DownloadPackage,
	ConfirmReferral, ChangePriority, OverrideRouting, ViewBoard, ReadAuditLog,
	ManageUsers, ManageTokens, ReloadNetwork,
}

// agencyWork is what the people (and tokens) of an agency do with their
// referrals.
var agencyWork = []Action{
	ListReferrals, ViewReferral, OpenContent, ViewFile, RecordLegalAuthority, Acknowledge, Assign,
	ReadMessages, SendMessage, Decline, RecordOutcome, DownloadPackage,
}

// hubWork is what hub analysts do; supervisors add the board.
var hubWork = []Action{
	ListReferrals, ViewReferral, OpenContent, ViewFile, ReadMessages, SendMessage,
	ConfirmReferral, ChangePriority, OverrideRouting,
}

// permissions is what each role may do at all, before looking at what it
// acts on. An investigator may assign only to themselves (see Authorize).
var permissions = map[guardian.Role][]Action{
	guardian.RoleHubAdmin:           {ManageUsers, ManageTokens, ReloadNetwork},
	guardian.RoleHubAnalyst:         hubWork,
	guardian.RoleHubSupervisor:      append(slices.Clone(hubWork), ViewBoard),
	guardian.RoleAuditor:            {ReadAuditLog},
	guardian.RoleAgencyInvestigator: agencyWork,
	guardian.RoleAgencySupervisor:   agencyWork,
	guardian.RoleLiaisonOfficer:     agencyWork,
}

// personOnly are the actions a token may not take: plaintext content
// reaches people who are vetted and trained, and machines get the sealed
// package, readable only with the agency's own keys. Recording legal
// authority is a person's statement.
var personOnly = []Action{OpenContent, ViewFile, RecordLegalAuthority}

// needsReferral are the actions on one referral.
var needsReferral = []Action{
	ViewReferral, OpenContent, ViewFile, RecordLegalAuthority, Acknowledge, Assign,
	ReadMessages, SendMessage, Decline, RecordOutcome, DownloadPackage,
	ConfirmReferral, ChangePriority,
}

// escalatedActions are what a liaison office may do with another agency's
// referral that escalated to it: read it and talk to the hub about it.
var escalatedActions = []Action{ViewReferral, OpenContent, ViewFile, ReadMessages, SendMessage}

// Request is one decision to make: an action and what it acts on.
type Request struct {
	Action Action
	// Referral is the referral acted on, as stored; nil for actions not
	// on one referral.
	Referral *guardian.Referral
	// Escalated is whether the referral has escalated beyond its agency
	// (its deadline passed unacknowledged), which shows it to the liaison
	// offices covering its countries.
	Escalated bool

	// Justification is why a person opens content (OpenContent, ViewFile,
	// DownloadPackage); it is not needed if Consulted.
	Justification guardian.Justification
	// Consulted is whether the person already has a consultation of this
	// referral recorded today (guardian.ConsultationDay).
	Consulted bool

	// File is the file asked for (ViewFile).
	File *File
	// Assignee is who the referral is to be assigned to (Assign).
	Assignee *guardian.User
	// Thread is the agency whose message thread with the hub is read or
	// written; "" means the caller's own agency.
	Thread string
}

// File is what a decision needs to know of a file.
type File struct {
	// ViewedByReporter is true only if the file's details say
	// fileViewedByEsp true; false when false, absent or without details.
	ViewedByReporter bool
	// LegalAuthority is whether a legal authority recorded on this
	// referral covers the file (guardian.LegalAuthority.Covers).
	LegalAuthority bool
}

// FileFacts returns the File for a stored file, given the referral's legal
// authorities. Its details are read as a guardian.FileDetails.
func FileFacts(details *guardian.FileDetails, fileID string, authorities []*guardian.LegalAuthority) *File {
	f := &File{ViewedByReporter: details != nil && details.FileViewedByESP != nil && *details.FileViewedByESP}
	for _, la := range authorities {
		if la.Covers(fileID) {
			f.LegalAuthority = true
		}
	}
	return f
}

// Grant is what an allowed request may see.
type Grant struct {
	// Scope is the data scope of what may leave the server: the sections
	// of the report, and whether files are listed and opened.
	Scope guardian.DataScope
	// RecordConsultation is true when the handler must record a
	// consultation with the request's justification
	// (guardian.AccessStore.RecordConsultation, which keeps one per day).
	RecordConsultation bool
	// ViaEscalation is true when the caller sees the referral only because
	// it escalated to their liaison office.
	ViaEscalation bool
	// Hub is true for the hub's analysts and supervisors, who see the whole
	// report, including what belongs to no section.
	Hub bool
}

// Opens reports whether the grant lets the file's content out: its scope
// includes file content, and the reporting service viewed the file or a
// legal authority covers it. Legal authority is the referral's own
// agency's: it opens nothing for the hub or for a liaison office that sees
// the referral through escalation. Authorize applies it to ViewFile; a
// handler applies it to each file of a list or a sealed package, which is
// granted once for all of them.
func (g Grant) Opens(f *File) bool {
	if f == nil || !g.Scope.Has(guardian.ScopeFileContent) {
		return false
	}
	return f.ViewedByReporter || (!g.Hub && !g.ViaEscalation && f.LegalAuthority)
}

// allSections is the hub's view: every section.
const allSections = guardian.ScopeReporterContacts | guardian.ScopeSuspectDetails |
	guardian.ScopeVictimDetails | guardian.ScopeFiles | guardian.ScopeFileContent

// visibility is how the caller relates to a referral.
type visibility int

const (
	invisible visibility = iota
	ownReferral
	escalatedReferral
	hubReferral
)

// delivered are the states in which an agency has a referral; new (held or
// about to be delivered) and withdrawn ones it never sees.
var delivered = []guardian.ReferralState{
	guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged,
	guardian.ReferralClosed, guardian.ReferralRerouted,
}

func (c *Caller) visibility(r *guardian.Referral, escalated bool) visibility {
	if c.Organisation.IsHub() {
		if c.HasRole(guardian.RoleHubAnalyst) || c.HasRole(guardian.RoleHubSupervisor) {
			return hubReferral
		}
		return invisible
	}
	if c.Agency == nil || c.Agreement == nil || r.HeldForConfirmation || !slices.Contains(delivered, r.State) {
		return invisible
	}
	if r.AgencyID == c.Agency.ID {
		return ownReferral
	}
	if escalated && c.Agency.Kind == guardian.AgencyLiaison && slices.ContainsFunc(r.Countries, c.Agreement.Covers) {
		return escalatedReferral
	}
	return invisible
}

// CanSee reports whether the referral exists for the caller: the check
// that every row of a list passes, whatever the query returned.
func (c *Caller) CanSee(r *guardian.Referral, escalated bool) bool {
	return c.May(ListReferrals) && c.visibility(r, escalated) != invisible
}

// Scope returns the data scope the caller sees a referral in, none if it is
// invisible. The agency's own referral is seen in the scope it was made
// under narrowed by the agreement in force, so that a reload that narrows
// an agreement takes effect on old referrals too, and one that widens it
// does not widen what was agreed then. A liaison office sees an escalated
// referral in its own agreement's scope; the hub sees every section.
func (c *Caller) Scope(r *guardian.Referral, escalated bool) guardian.DataScope {
	switch c.visibility(r, escalated) {
	case ownReferral:
		return r.DataScope & c.Agreement.DataScope
	case escalatedReferral:
		return c.Agreement.DataScope
	case hubReferral:
		return allSections
	}
	return 0
}

// Query is what a list of referrals may hold, for the store to turn into a
// query. Every row it returns is checked again with [Caller.CanSee].
type Query struct {
	// All: every referral, in every state (the hub).
	All bool
	// AgencyID: the referrals of this agency in States that are not held.
	AgencyID string
	States   []guardian.ReferralState
	// EscalatedCountries: also other agencies' escalated referrals, in
	// States and not held, for any of these countries (a liaison office).
	EscalatedCountries []string
}

// ReferralQuery returns what the caller's referral list may hold, or a
// refusal if the caller may not list referrals.
func (c *Caller) ReferralQuery() (Query, error) {
	if !c.May(ListReferrals) {
		return Query{}, refuseRole()
	}
	if c.Organisation.IsHub() {
		return Query{All: true}, nil
	}
	if c.Agency == nil || c.Agreement == nil {
		// Only a Caller built by hand, not by ForUser or ForToken.
		return Query{}, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, "Sign in to continue.")
	}
	q := Query{AgencyID: c.Agency.ID, States: slices.Clone(delivered)}
	if c.Agency.Kind == guardian.AgencyLiaison {
		q.EscalatedCountries = slices.Clone(c.Agreement.Countries)
	}
	return q, nil
}

// Authorize decides a request. It returns the grant, or a [*Refusal]. The
// checks run in an order that leaks nothing: first whether the caller's
// roles allow the action at all (403, the same for every id), then whether
// the referral, file or thread exists for the caller (404, the same as an
// unknown id), and only then the reasons a visible referral refuses the
// action (403, 409, 400), which the person is told.
func (c *Caller) Authorize(req Request) (Grant, error) {
	if c == nil {
		return Grant{}, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, "Sign in to continue.")
	}
	if !c.May(req.Action) {
		return Grant{}, refuseRole()
	}
	if !c.IsPerson() && slices.Contains(personOnly, req.Action) {
		return Grant{}, refuse(guardian.EFORBIDDEN, ReasonPersonOnly, "Only a person may do this; an API token cannot. Download the sealed package instead.")
	}
	if !slices.Contains(needsReferral, req.Action) {
		// Nothing of a report's content comes with these; a list shows
		// each row in its own scope (Caller.Scope).
		return Grant{}, nil
	}
	r := req.Referral
	if r == nil {
		return Grant{}, NotFound(KindReferral)
	}
	vis := c.visibility(r, req.Escalated)
	if vis == invisible {
		return Grant{}, NotFound(KindReferral)
	}
	g := Grant{Scope: c.Scope(r, req.Escalated), ViaEscalation: vis == escalatedReferral, Hub: vis == hubReferral}

	// What exists within the referral: its files (in the scope) and the
	// caller's own message thread.
	switch req.Action {
	case ViewFile:
		if req.File == nil || !g.Scope.Has(guardian.ScopeFiles) {
			return Grant{}, NotFound(KindFile)
		}
	case ReadMessages, SendMessage:
		// An agency has one thread with the hub per referral, its own; the
		// hub reads and writes every agency's ("" is the referral's).
		if vis != hubReferral && req.Thread != "" && req.Thread != c.Agency.ID {
			return Grant{}, NotFound(KindMessage)
		}
	}

	if vis == escalatedReferral && !slices.Contains(escalatedActions, req.Action) {
		return Grant{}, refuse(guardian.EFORBIDDEN, ReasonEscalation, "This referral was shared with your office because it escalated; only its own agency can do this.")
	}
	if err := c.checkState(req, r, vis); err != nil {
		return Grant{}, err
	}

	switch req.Action {
	case ViewFile:
		if !g.Scope.Has(guardian.ScopeFileContent) {
			return Grant{}, refuseScope("file content")
		}
		if !g.Opens(req.File) {
			if vis == ownReferral {
				return Grant{}, refuse(guardian.EFORBIDDEN, ReasonFileLocked, "The reporting service did not view this file. It stays locked until your agency records the warrant or order that allows it to be opened.")
			}
			return Grant{}, refuse(guardian.EFORBIDDEN, ReasonFileLocked, "The reporting service did not view this file. Only the referral's own agency can open it, under a warrant or order it records.")
		}
	case RecordLegalAuthority:
		if !g.Scope.Has(guardian.ScopeFileContent) {
			return Grant{}, refuseScope("file content")
		}
	case Assign:
		if err := c.checkAssignee(req.Assignee, r); err != nil {
			return Grant{}, err
		}
	}

	if needsClearance(c, req.Action) {
		if err := c.checkClearance(); err != nil {
			return Grant{}, err
		}
		if !req.Consulted {
			if err := req.Justification.Validate(); err != nil {
				return Grant{}, refuse(guardian.EINVALID, ReasonJustification, guardian.ErrorMessage(err))
			}
			g.RecordConsultation = true
		}
	}
	return g, nil
}

// needsClearance reports whether the action shows content to a person, who
// must then be vetted and trained and say why.
func needsClearance(c *Caller, a Action) bool {
	switch a {
	case OpenContent, ViewFile:
		return true
	case DownloadPackage:
		// A token's package goes to the agency's system, encrypted to its
		// keys; a person who downloads one is about to read it.
		return c.IsPerson()
	}
	return false
}

// checkState refuses actions that the referral's state does not allow.
func (c *Caller) checkState(req Request, r *guardian.Referral, vis visibility) error {
	state := r.State
	if vis != hubReferral && state == guardian.ReferralRerouted {
		switch req.Action {
		case ViewReferral, ReadMessages, SendMessage:
		default:
			return refuse(guardian.EFORBIDDEN, ReasonReturned, "Your agency returned this referral as not its jurisdiction.")
		}
	}
	var allowed []guardian.ReferralState
	var msg string
	switch req.Action {
	case Acknowledge:
		allowed, msg = []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened}, "This referral has already been acknowledged or closed."
	case Assign, Decline:
		allowed, msg = []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged}, "This referral is closed."
	case RecordOutcome:
		allowed, msg = []guardian.ReferralState{guardian.ReferralAcknowledged}, "Acknowledge this referral before recording its outcome; a closed referral has one already."
	case ConfirmReferral:
		if !r.HeldForConfirmation || state != guardian.ReferralNew {
			return refuse(guardian.ECONFLICT, ReasonState, "This referral is not held for confirmation.")
		}
		return nil
	default:
		return nil
	}
	if !slices.Contains(allowed, state) {
		return refuse(guardian.ECONFLICT, ReasonState, msg)
	}
	return nil
}

// checkAssignee checks that the referral may go to the assignee: a person
// of the referral's agency, able to work on referrals, and the caller
// themself unless the caller supervises. A person of another organisation
// is not found, as an unknown id would be.
func (c *Caller) checkAssignee(u *guardian.User, r *guardian.Referral) error {
	if u == nil || u.Organisation != guardian.AgencyOrganisation(r.AgencyID) {
		return NotFound(KindUser)
	}
	if !c.HasRole(guardian.RoleAgencySupervisor) && u.ID != c.UserID {
		return refuse(guardian.EFORBIDDEN, ReasonRole, "Only a supervisor may assign a referral to someone else.")
	}
	if u.Disabled {
		return refuse(guardian.EINVALID, ReasonAssignee, "This person's account is disabled.")
	}
	if !u.HasRole(guardian.RoleAgencyInvestigator) && !u.HasRole(guardian.RoleAgencySupervisor) && !u.HasRole(guardian.RoleLiaisonOfficer) {
		return refuse(guardian.EINVALID, ReasonAssignee, "This person has no role that works on referrals.")
	}
	return nil
}

// checkClearance refuses a person whose vetting or training is not valid
// now, saying which is missing and since when.
func (c *Caller) checkClearance() error {
	vet, vetMsg := clearance(c.VettingExpiresAt, c.Now, "security vetting")
	train, trainMsg := clearance(c.TrainingExpiresAt, c.Now, "training certificate")
	switch {
	case !vet && !train:
		return refuse(guardian.EFORBIDDEN, ReasonVettingAndTraining, vetMsg+" "+trainMsg+" You cannot open referral content until both are renewed; ask your supervisor.")
	case !vet:
		return refuse(guardian.EFORBIDDEN, ReasonVetting, vetMsg+" You cannot open referral content until it is renewed; ask your supervisor.")
	case !train:
		return refuse(guardian.EFORBIDDEN, ReasonTraining, trainMsg+" You cannot open referral content until it is renewed; ask your supervisor.")
	}
	return nil
}

func clearance(expires *time.Time, now time.Time, what string) (bool, string) {
	switch {
	case expires == nil:
		return false, fmt.Sprintf("You have no %s on record.", what)
	case !now.Before(*expires):
		return false, fmt.Sprintf("Your %s expired on %s.", what, expires.UTC().Format(time.DateOnly))
	}
	return true, ""
}
