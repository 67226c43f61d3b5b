// Package access is the hub's one authorisation layer: every route of every
// interface (the partner API, the pages, the CLI acting for a person) asks it
// before it reads or changes a referral, a file, a message or the audit log,
// and shows only what it allows. It is plain Go, with no HTTP and no store,
// so that its rules are tested here, once, over every role, action and
// referral situation.
//
// Most callers need three things:
//
//   - [ForUser] or [ForToken] turns a signed-in person or a presented API
//     token into a [Caller], checking again on every request that the
//     organisation is still in the network file and its roles still allowed
//     there (an agency removed at a reload loses access at once).
//   - [Caller.Authorize] decides one [Request]: nil error and a [Grant], or
//     a [*Refusal] that says what to answer (404, 403, 401, 400 or 409).
//   - [Grant.Redact] and [Grant.Files] cut a report document and its file
//     list down to the data scope the grant carries. Whatever leaves the
//     server about a report's content passes through them.
//
// For lists, [Caller.ReferralQuery] says which referrals the store may
// return, and [Caller.CanSee] checks each row again.
//
// # Not found means not found
//
// A referral, file or message the caller may not see does not exist for
// them: the refusal is exactly [NotFound] of its kind, the answer a handler
// gives for an unknown id, so that ids reveal nothing. For that to hold,
// handlers answer an unknown id with [NotFound] too, and call Authorize
// before anything that could tell the two apart. A caller whose role lacks
// an action entirely is refused with 403 before the referral is looked at,
// which reveals nothing either: the answer is the same for every id.
//
// # The rules, in short
//
// Agencies see their own referrals once delivered (never new, held or
// withdrawn ones). A liaison office also sees another agency's referral that
// has escalated, if its agreement covers one of the referral's countries,
// within its own data scope and for reading and messaging only. Hub analysts
// and supervisors see every referral; hub administrators manage people,
// tokens and the network; auditors read the audit log and nothing else.
// Opening content needs a person (not a token) with valid vetting and
// training, and a justification unless they consulted the referral earlier
// that day. A file the reporting service did not view stays locked until the
// referral's agency records the legal authority to open it.
package access

import (
	"context"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/identity"
)

// Caller is who is asking: a person or a machine client, their organisation
// and roles, and what the decisions need to know about them at the time of
// the request. Build it with [ForUser] or [ForToken]; a Caller is for one
// request, because the network and the clock move on.
type Caller struct {
	Organisation guardian.Organisation
	// Agency and Agreement are the caller's agency and its agreement in
	// the network in force; nil for the hub.
	Agency    *guardian.Agency
	Agreement *guardian.Agreement
	// Roles are the caller's roles that its organisation still allows.
	Roles []guardian.Role

	// UserID is the person's id, 0 for a token; TokenID the reverse.
	UserID  int64
	TokenID int64

	// VettingExpiresAt and TrainingExpiresAt are the person's; nil for a
	// token or for none on record.
	VettingExpiresAt  *time.Time
	TrainingExpiresAt *time.Time

	// Now is the time of the request, from the hub's clock.
	Now time.Time
}

// ForUser returns the caller for a signed-in person at now, or a refusal
// with 401 (EUNAUTHORIZED) if the account is disabled, the person's
// organisation is no longer in the network, or none of their roles is still
// allowed there. Roles that the organisation no longer allows (its kind
// changed at a reload) are dropped.
func ForUser(u *guardian.User, n *guardian.Network, now time.Time) (*Caller, error) {
	if u.Disabled {
		return nil, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, "This account is disabled.")
	}
	c, err := newCaller(u.Organisation, u.Roles, n, now)
	if err != nil {
		return nil, err
	}
	c.UserID = u.ID
	c.VettingExpiresAt, c.TrainingExpiresAt = u.VettingExpiresAt, u.TrainingExpiresAt
	return c, nil
}

// ForToken returns the caller for an API token at now, or a refusal with
// 401 if it is revoked or expired, its organisation is no longer in the
// network, or its role is no longer allowed there.
func ForToken(t *guardian.APIToken, n *guardian.Network, now time.Time) (*Caller, error) {
	if err := identity.CheckAPIToken(t, now); err != nil {
		return nil, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, guardian.ErrorMessage(err))
	}
	c, err := newCaller(t.Organisation, []guardian.Role{t.Role}, n, now)
	if err != nil {
		return nil, err
	}
	c.TokenID = t.ID
	return c, nil
}

func newCaller(o guardian.Organisation, roles []guardian.Role, n *guardian.Network, now time.Time) (*Caller, error) {
	agency, err := o.Resolve(n)
	if err != nil {
		return nil, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, "Your organisation is no longer part of the network.")
	}
	c := &Caller{Organisation: o, Agency: agency, Now: now}
	if agency != nil {
		c.Agreement, _ = n.AgreementOf(agency.ID)
	}
	for _, r := range roles {
		if r.Valid() && r.AllowedIn(o, agency) && !slices.Contains(c.Roles, r) {
			c.Roles = append(c.Roles, r)
		}
	}
	if len(c.Roles) == 0 {
		return nil, refuse(guardian.EUNAUTHORIZED, ReasonUnauthenticated, "Your roles no longer allow access; ask your administrator.")
	}
	return c, nil
}

// IsPerson reports whether the caller is a person rather than a token.
func (c *Caller) IsPerson() bool { return c.UserID != 0 }

// HasRole reports whether the caller holds r.
func (c *Caller) HasRole(r guardian.Role) bool { return slices.Contains(c.Roles, r) }

// May reports whether one of the caller's roles allows the action at all,
// whatever it acts on: for showing or hiding a menu entry or button.
func (c *Caller) May(a Action) bool {
	for _, r := range c.Roles {
		if slices.Contains(permissions[r], a) {
			return true
		}
	}
	return false
}

type contextKey struct{}

// NewContext returns ctx carrying c, for handlers behind the middleware
// that authenticated the request.
func NewContext(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the caller that NewContext stored, if any.
func FromContext(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(contextKey{}).(*Caller)
	return c, ok && c != nil
}
