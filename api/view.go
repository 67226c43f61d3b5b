package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// ReferralView is a referral as the API shows it to a caller: its
// metadata, never the report's content.
type ReferralView struct {
	ID                  int64                   `json:"id"`
	ReportID            int64                   `json:"reportId"`
	AgencyID            string                  `json:"agencyId"`
	State               guardian.ReferralState  `json:"state"`
	Priority            guardian.Priority       `json:"priority"`
	Label               guardian.Label          `json:"label"`
	Countries           []string                `json:"countries"`
	Reason              guardian.ReferralReason `json:"reason"`
	Channel             guardian.Channel        `json:"channel"`
	HandlingCode        string                  `json:"handlingCode"`
	DataScope           []string                `json:"dataScope"`
	Deadline            time.Time               `json:"deadline"`
	TimeLeftSeconds     int64                   `json:"timeLeftSeconds"`
	Overdue             bool                    `json:"overdue"`
	HeldForConfirmation bool                    `json:"heldForConfirmation"`
	ReceivedAt          time.Time               `json:"receivedAt"`
	RoutedAt            time.Time               `json:"routedAt"`
	DeliveredAt         *time.Time              `json:"deliveredAt,omitempty"`
	OpenedAt            *time.Time              `json:"openedAt,omitempty"`
	AcknowledgedAt      *time.Time              `json:"acknowledgedAt,omitempty"`
	ClosedAt            *time.Time              `json:"closedAt,omitempty"`
	UpdatedAt           time.Time               `json:"updatedAt"`
	Assignee            string                  `json:"assignee,omitempty"`
	Escalation          int                     `json:"escalation"`
	EscalatedAt         *time.Time              `json:"escalatedAt,omitempty"`
	LiaisonAgencyID     string                  `json:"liaisonAgencyId,omitempty"`
	ViaEscalation       bool                    `json:"viaEscalation"`
	Outcome             *guardian.Outcome       `json:"outcome,omitempty"`
	Decline             *guardian.Decline       `json:"decline,omitempty"`
}

func viewOf(c *Call, r *guardian.Referral) ReferralView {
	countries := r.Countries
	if countries == nil {
		countries = []string{}
	}
	scope := c.caller.Scope(r, r.Escalated()).Sections()
	if scope == nil {
		scope = []string{}
	}
	left := r.Deadline.Sub(c.now)
	v := ReferralView{
		ID: r.ID, ReportID: r.ReportID, AgencyID: r.AgencyID, State: r.State, Priority: r.Priority, Label: r.Label,
		Countries: countries, Reason: r.Reason, Channel: r.Channel, HandlingCode: r.HandlingCode, DataScope: scope,
		Deadline: r.Deadline, TimeLeftSeconds: int64(left / time.Second), Overdue: left <= 0,
		HeldForConfirmation: r.HeldForConfirmation, ReceivedAt: r.ReceivedAt, RoutedAt: r.RoutedAt,
		DeliveredAt: r.DeliveredAt, OpenedAt: r.OpenedAt, AcknowledgedAt: r.AcknowledgedAt, ClosedAt: r.ClosedAt,
		UpdatedAt: r.UpdatedAt, Assignee: r.Assignee, Escalation: r.Escalation, EscalatedAt: r.EscalatedAt,
		Outcome: r.Outcome, Decline: r.Decline,
	}
	// Which liaison office an escalation went to is the hub's business,
	// and the office's own when it is the one.
	if c.caller.Organisation.IsHub() || (c.caller.Agency != nil && c.caller.Agency.ID == r.LiaisonAgencyID) {
		v.LiaisonAgencyID = r.LiaisonAgencyID
	}
	v.ViaEscalation = c.caller.Agency != nil && r.AgencyID != c.caller.Agency.ID
	return v
}

// ReferralList is a page of referrals.
type ReferralList struct {
	Referrals  []ReferralView `json:"referrals"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// listFilters are a list's query parameters.
type listFilters struct {
	states         []guardian.ReferralState
	priorities     []guardian.Priority
	deadlineBefore time.Time
	updatedSince   time.Time
	minEscalation  int
	order          guardian.ReferralOrder
	limit          int
	after          *guardian.ReferralCursor
}

// maxListValues bounds the values of one repeated parameter.
const maxListValues = 16

var knownStates = []guardian.ReferralState{
	guardian.ReferralNew, guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged,
	guardian.ReferralClosed, guardian.ReferralWithdrawn, guardian.ReferralRerouted,
}

// values returns a parameter's values, given repeated or comma-separated.
func values(q url.Values, name string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) > maxListValues {
		return nil, guardian.Errorf(guardian.EINVALID, "At most %d values of %s.", maxListValues, name)
	}
	return out, nil
}

// parseFilters reads a list's parameters; list names the endpoint, which
// a cursor is bound to along with the filters.
func parseFilters(q url.Values, list string, board bool) (*listFilters, error) {
	f := &listFilters{order: guardian.OrderUrgent, limit: 50}
	states, err := values(q, "state")
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		st := guardian.ReferralState(s)
		if !slices.Contains(knownStates, st) {
			return nil, guardian.Errorf(guardian.EINVALID, "Unknown state %q.", guardian.Clip(s, 20))
		}
		f.states = append(f.states, st)
	}
	prios, err := values(q, "priority")
	if err != nil {
		return nil, err
	}
	for _, s := range prios {
		p, err := guardian.ParsePriority(s)
		if err != nil {
			return nil, guardian.Errorf(guardian.EINVALID, "A priority is 1, 2, 3 or E, not %q.", guardian.Clip(s, 8))
		}
		f.priorities = append(f.priorities, p)
	}
	for name, t := range map[string]*time.Time{"deadlineBefore": &f.deadlineBefore, "updatedSince": &f.updatedSince} {
		if s := q.Get(name); s != "" {
			v, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, guardian.Errorf(guardian.EINVALID, "%s is a time in RFC 3339 form, such as 2026-01-02T15:04:05Z.", name)
			}
			*t = v
		}
	}
	if s := q.Get("order"); s != "" {
		switch o := guardian.ReferralOrder(s); o {
		case guardian.OrderUrgent, guardian.OrderUpdated:
			f.order = o
		default:
			return nil, guardian.Errorf(guardian.EINVALID, "order is urgent or updated.")
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return nil, guardian.Errorf(guardian.EINVALID, "limit is a number from 1 to 500.")
		}
		f.limit = n
	}
	if board {
		if s := q.Get("minEscalation"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > guardian.EscalationHub {
				return nil, guardian.Errorf(guardian.EINVALID, "minEscalation is 0, 1 or 2.")
			}
			f.minEscalation = n
		}
	}
	if s := q.Get("cursor"); s != "" {
		c, err := decodeCursor(s, f.hash(list))
		if err != nil {
			return nil, err
		}
		f.after = c
	}
	return f, nil
}

// hash binds a cursor to the list and the filters it was made for, so
// that a cursor used with other filters is refused rather than skipping
// or repeating rows.
func (f *listFilters) hash(list string) string {
	var b strings.Builder
	b.WriteString(list)
	b.WriteString("|")
	st := slices.Clone(f.states)
	slices.Sort(st)
	for _, s := range st {
		b.WriteString(string(s) + ",")
	}
	b.WriteString("|")
	pr := slices.Clone(f.priorities)
	slices.Sort(pr)
	for _, p := range pr {
		b.WriteString(string(p) + ",")
	}
	b.WriteString("|" + f.deadlineBefore.UTC().Format(time.RFC3339Nano) + "|" + f.updatedSince.UTC().Format(time.RFC3339Nano))
	b.WriteString("|" + strconv.Itoa(f.minEscalation) + "|" + string(f.order))
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:12])
}

// cursor is the opaque cursor's content: where the next page starts, and
// the hash of the filters it belongs to.
type cursor struct {
	After   guardian.ReferralCursor `json:"c"`
	Filters string                  `json:"f"`
}

func encodeCursor(c guardian.ReferralCursor, filters string) string {
	b, _ := json.Marshal(cursor{After: c, Filters: filters})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = guardian.Errorf(guardian.EINVALID, "This cursor is not one this list gave with these filters; start again without it.")

func decodeCursor(s, filters string) (*guardian.ReferralCursor, error) {
	if len(s) > 512 {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Filters != filters || c.After.ID <= 0 {
		return nil, errBadCursor
	}
	return &c.After, nil
}

// query returns the store query of the filters within what the caller
// may see.
func (f *listFilters) query(aq access.Query) guardian.ReferralQuery {
	return guardian.ReferralQuery{
		All: aq.All, AgencyID: aq.AgencyID, VisibleStates: aq.States, EscalatedCountries: aq.EscalatedCountries,
		States: f.states, Priorities: f.priorities, DeadlineBefore: f.deadlineBefore, UpdatedSince: f.updatedSince,
		MinEscalation: f.minEscalation, Order: f.order, After: f.after, Limit: f.limit,
	}
}

// page lists one page and checks every row again with access.
func (h *Handler) page(ctx context.Context, c *Call, f *listFilters, list string, q guardian.ReferralQuery) (ReferralList, error) {
	rows, more, err := h.Delivery.ListReferrals(ctx, q)
	if err != nil {
		return ReferralList{}, err
	}
	out := ReferralList{Referrals: []ReferralView{}}
	for _, ref := range rows {
		if c.caller.CanSee(ref, ref.Escalated()) {
			out.Referrals = append(out.Referrals, viewOf(c, ref))
		}
	}
	if more && len(rows) > 0 {
		out.NextCursor = encodeCursor(rows[len(rows)-1].Cursor(q.Order), f.hash(list))
	}
	return out, nil
}
