package access

import "github.com/guardian-network/guardian"

// Reason says why a request was refused, for handlers that react to it (a
// page that offers the legal-authority form on [ReasonFileLocked]) and for
// logs. What the person is shown is the refusal's Message.
type Reason string

// Reasons.
const (
	// ReasonUnauthenticated (401): no caller, or one whose credentials no
	// longer count (disabled, token revoked or expired, organisation gone).
	ReasonUnauthenticated Reason = "unauthenticated"
	// ReasonRole (403): no role of the caller allows the action.
	ReasonRole Reason = "role"
	// ReasonNotFound (404): no such referral, file, message or user for
	// this caller. It is the same whether the object does not exist or the
	// caller may not see it, and says nothing more.
	ReasonNotFound Reason = "not-found"
	// ReasonPersonOnly (403): an API token asked for something only a
	// person may do.
	ReasonPersonOnly Reason = "person-only"
	// ReasonVetting, ReasonTraining, ReasonVettingAndTraining (403): the
	// person's vetting, training certificate, or both are missing or
	// expired.
	ReasonVetting            Reason = "vetting"
	ReasonTraining           Reason = "training"
	ReasonVettingAndTraining Reason = "vetting-and-training"
	// ReasonJustification (400): opening content needs a case number or a
	// reason.
	ReasonJustification Reason = "justification"
	// ReasonScope (403): the agency's agreement does not include this.
	ReasonScope Reason = "scope"
	// ReasonFileLocked (403): the reporting service did not view the file,
	// and no legal authority of the referral's agency covers it.
	ReasonFileLocked Reason = "file-locked"
	// ReasonEscalation (403): a liaison office sees the referral through
	// escalation, which allows reading and messaging only.
	ReasonEscalation Reason = "escalation"
	// ReasonReturned (403): the agency declined the referral as not its
	// jurisdiction; it keeps the metadata and the messages, not the content.
	ReasonReturned Reason = "returned"
	// ReasonState (409): the referral's state does not allow the action now.
	ReasonState Reason = "state"
	// ReasonAssignee (400): the person cannot be given the referral.
	ReasonAssignee Reason = "assignee"
)

// Refusal is a request refused. Code is a guardian error code, and the
// refusal unwraps to a [*guardian.Error] with it and Message, so that
// guardian.ErrorCode and guardian.ErrorMessage work on it and handlers map
// it to a status like any other error:
//
//	EUNAUTHORIZED 401, EFORBIDDEN 403, ENOTFOUND 404, EINVALID 400, ECONFLICT 409
type Refusal struct {
	Code    string
	Reason  Reason
	Message string // safe to show to the caller
}

func (r *Refusal) Error() string { return "access refused (" + string(r.Reason) + "): " + r.Message }

// Unwrap returns the refusal as a [*guardian.Error].
func (r *Refusal) Unwrap() error { return &guardian.Error{Code: r.Code, Message: r.Message} }

func refuse(code string, reason Reason, msg string) *Refusal {
	return &Refusal{Code: code, Reason: reason, Message: msg}
}

func refuseRole() *Refusal {
	return refuse(guardian.EFORBIDDEN, ReasonRole, "Your role does not allow this.")
}

func refuseScope(what string) *Refusal {
	return refuse(guardian.EFORBIDDEN, ReasonScope, "Your agency's agreement does not include "+what+".")
}

// Kind names what was not found.
type Kind string

// Kinds of objects that may be not found.
const (
	KindReferral Kind = "referral"
	KindFile     Kind = "file"
	KindMessage  Kind = "message"
	KindUser     Kind = "user"
)

// NotFound returns the refusal for an object of the kind that the caller
// may not see. Handlers answer an unknown id with it too, so that the two
// cannot be told apart.
func NotFound(k Kind) error {
	return refuse(guardian.ENOTFOUND, ReasonNotFound, "No such "+string(k)+".")
}
