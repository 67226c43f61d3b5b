package guardian

import "time"

// Escalation policy: where a referral that its agency has not acknowledged
// goes, and when. It is pure: the store keeps each referral's next step's
// time on its row ([Referral.NextEscalation]), package jobs sweeps the
// steps that are due ([DeliveryStore.DueEscalations]) and the store's
// EscalateReferral records them (a compare-and-set that does nothing once
// the referral is acknowledged), so running the policy again changes
// nothing.
//
//	level 1 (EscalationLiaison) at the referral's Deadline: the liaison
//	        office covering one of its countries ([Network.LiaisonOfficeFor]),
//	        or the hub's supervisors when no liaison office covers them;
//	level 2 (EscalationHub) one AcknowledgeWithin later: the hub's
//	        supervisors.

// LiaisonOfficeFor returns the liaison office a referral escalates to: the
// first liaison agency, other than the referral's own agency, whose
// agreement covers one of the referral's countries, taken in the
// referral's rank order. A referral without countries, or whose countries
// no other liaison office covers, has none: it escalates to the hub's
// supervisors directly.
//
// It is not [Network.LiaisonFor], which answers for one country and
// whichever agency asks.
func (n *Network) LiaisonOfficeFor(r *Referral) (*Agency, bool) {
	for _, c := range r.Countries {
		ag, ok := n.liaison[c]
		if !ok || ag.Agency == r.AgencyID {
			continue
		}
		if a, ok := n.agencies[ag.Agency]; ok {
			return a, true
		}
	}
	return nil, false
}

// EscalationAt returns when a referral reaches escalation level (1 or 2)
// if it is still not acknowledged: level 1 at its Deadline, level 2 one
// AcknowledgeWithin (the time the agency was given) after that. Any other
// level has no time.
func EscalationAt(r *Referral, level int) (time.Time, bool) {
	switch level {
	case EscalationLiaison:
		return r.Deadline, true
	case EscalationHub:
		return r.Deadline.Add(r.AcknowledgeWithin), true
	}
	return time.Time{}, false
}

// EscalationTarget returns who is told when a referral reaches level: the
// liaison office (for level 1, when one covers the referral) or nil for the
// hub's supervisors.
func (n *Network) EscalationTarget(r *Referral, level int) *Agency {
	if level == EscalationLiaison {
		if a, ok := n.LiaisonOfficeFor(r); ok {
			return a
		}
	}
	return nil
}

// Escalatable reports whether a referral in state s can still escalate:
// the agency has it (delivered or opened) and has not acknowledged it.
// Acknowledging, closing, declining or withdrawing it stops the chain.
func (s ReferralState) Escalatable() bool {
	return s == ReferralDelivered || s == ReferralOpened
}

// EscalationDecision is what an escalation step due for a referral should
// do now.
type EscalationDecision int

// Escalation decisions.
const (
	// EscalationStop: nothing is, or will be, due at this level: the
	// referral was acknowledged (or closed, declined, withdrawn), has
	// reached the level already, or has not reached the level before it.
	EscalationStop EscalationDecision = iota
	// EscalationWait: the level is not due yet (the deadline moved later,
	// or the step runs early); try again at the time returned.
	EscalationWait
	// EscalationDue: raise the referral to the level now.
	EscalationDue
)

// DecideEscalation says what the escalation step to level should do at
// now, and for EscalationWait until when.
func DecideEscalation(r *Referral, level int, now time.Time) (EscalationDecision, time.Time) {
	at, ok := EscalationAt(r, level)
	switch {
	case !ok, !r.State.Escalatable(), r.Escalation >= level, r.Escalation < level-1:
		return EscalationStop, time.Time{}
	case now.Before(at):
		return EscalationWait, at
	}
	return EscalationDue, at
}

// NextEscalation returns the referral's next escalation step, its level
// and when it is due, if it has one: a delivered or opened referral below
// EscalationHub has. The store keeps its time on the referral's row, so
// that finding the due steps is a read of an index.
func (r *Referral) NextEscalation() (level int, at time.Time, ok bool) {
	if !r.State.Escalatable() {
		return 0, time.Time{}, false
	}
	level = r.Escalation + 1
	at, ok = EscalationAt(r, level)
	return level, at, ok
}

// DueEscalation is a referral whose next escalation step is due.
type DueEscalation struct {
	ReferralID int64
	Level      int // the level it is due to reach
}
