// Package notify tells people that a referral is waiting for them, by e-mail
// over SMTP and by webhooks signed as the Standard Webhooks specification
// describes (https://www.standardwebhooks.com).
//
// It exists apart from package jobs, which decides when a notification is
// sent and retries it, so that what a notification says is decided in one
// place: a [Notice] carries the referral's id, priority, deadline, why it is
// sent and a link to the hub, and nothing of the report. Whoever reads a
// duty mailbox or a webhook log learns that there is something to look at,
// not what it is; the content stays behind the hub's sign-in and its access
// rules.
//
// Most callers need [NewNotice] or [NewDigest] to build what is said,
// [Mailer] to e-mail it and [WebhookClient] to post it.
package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

// Reason is why a notification is sent.
type Reason string

// Reasons.
const (
	ReasonNewReferral Reason = "new-referral" // a referral was delivered to the agency
	ReasonEscalated   Reason = "escalated"    // a referral not acknowledged in time escalated to the recipient
	ReasonDigest      Reason = "digest"       // referrals delivered in a digest window
	ReasonNewMessage  Reason = "new-message"  // the hub wrote on a referral's thread
)

// MaxDigestItems bounds the referrals a digest lists; it says how many more
// there are and links to the inbox for the rest.
const MaxDigestItems = 100

// Item is one referral as a notification names it: nothing but its id,
// priority and deadline.
type Item struct {
	ReferralID int64             `json:"referralId"`
	Priority   guardian.Priority `json:"priority"`
	Deadline   time.Time         `json:"deadline"`
}

// ItemOf returns the item of a referral. It is the only place a
// notification reads a referral, and it reads these three fields only.
func ItemOf(r *guardian.Referral) Item {
	return Item{ReferralID: r.ID, Priority: r.Priority, Deadline: r.Deadline.UTC()}
}

// Notice is everything a notification says.
type Notice struct {
	// ID identifies the event: the same for every attempt and every
	// target, so that a receiver can drop a repeat (webhook-id). It has no
	// full stop, as the signature scheme asks.
	ID     string
	Reason Reason
	// Level is the escalation level, for ReasonEscalated.
	Level int
	// Items are the referral (one) or, for a digest, the referrals.
	Items []Item
	// More is how many more referrals a digest has than it lists.
	More int
	// At is when the event happened.
	At time.Time
}

// NewNotice returns the notice of one referral.
func NewNotice(id string, reason Reason, level int, r *guardian.Referral, at time.Time) Notice {
	return Notice{ID: id, Reason: reason, Level: level, Items: []Item{ItemOf(r)}, At: at.UTC()}
}

// NewDigest returns the notice of referrals delivered in a digest window,
// listing at most MaxDigestItems of them.
func NewDigest(id string, items []Item, at time.Time) Notice {
	n := Notice{ID: id, Reason: ReasonDigest, At: at.UTC()}
	if len(items) > MaxDigestItems {
		n.More = len(items) - MaxDigestItems
		items = items[:MaxDigestItems]
	}
	n.Items = items
	return n
}

// Links makes the hub's public addresses of referrals.
type Links struct {
	// Base is the hub's public URL, such as https://hub.example.org.
	Base *url.URL
}

// ParseLinks parses the hub's public base URL: absolute, https (http only
// for a loopback host, in tests and demos), without query or fragment.
func ParseLinks(base string) (Links, error) {
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Links{}, fmt.Errorf("public URL %q is not an absolute http(s) URL without query", base)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return Links{}, fmt.Errorf("public URL %q must be https", base)
		}
	default:
		return Links{}, fmt.Errorf("public URL %q must be https", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return Links{Base: u}, nil
}

// Referral returns the address of a referral's page: Base/referrals/ID.
func (l Links) Referral(id int64) string {
	return l.Base.JoinPath("referrals", strconv.FormatInt(id, 10)).String()
}

// Inbox returns the address of the referral list: Base/referrals.
func (l Links) Inbox() string { return l.Base.JoinPath("referrals").String() }

// Subject returns the e-mail subject line: the reason, and for one
// referral its id and priority.
func (n Notice) Subject() string {
	switch n.Reason {
	case ReasonDigest:
		return fmt.Sprintf("[Guardian] %d new referrals", len(n.Items)+n.More)
	case ReasonEscalated:
		return fmt.Sprintf("[Guardian] Referral %d (priority %s) escalated to you: not acknowledged in time", n.first().ReferralID, n.first().Priority)
	case ReasonNewMessage:
		return fmt.Sprintf("[Guardian] New message on referral %d", n.first().ReferralID)
	}
	return fmt.Sprintf("[Guardian] New referral %d, priority %s", n.first().ReferralID, n.first().Priority)
}

func (n Notice) first() Item {
	if len(n.Items) == 0 {
		return Item{}
	}
	return n.Items[0]
}

// timeText writes a time for people: UTC, to the minute.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Text returns the plain-text body of the e-mail.
func (n Notice) Text(l Links) string {
	var b strings.Builder
	switch n.Reason {
	case ReasonDigest:
		fmt.Fprintf(&b, "%d referrals were delivered to your agency and are waiting to be acknowledged.\n\n", len(n.Items)+n.More)
	case ReasonEscalated:
		if n.Level >= guardian.EscalationHub {
			b.WriteString("A referral has not been acknowledged by its agency in time and is escalated to the hub's supervisors.\n\n")
		} else {
			b.WriteString("A referral has not been acknowledged by its agency in time and is escalated to you.\n\n")
		}
	case ReasonNewMessage:
		b.WriteString("The hub has written a new message on a referral.\n\n")
	default:
		b.WriteString("A new referral has been delivered to your agency.\n\n")
	}
	for _, it := range n.Items {
		fmt.Fprintf(&b, "Referral:  %d\nPriority:  %s\nDeadline:  %s\nOpen:      %s\n\n", it.ReferralID, it.Priority, timeText(it.Deadline), l.Referral(it.ReferralID))
	}
	if n.More > 0 {
		fmt.Fprintf(&b, "... and %d more: %s\n\n", n.More, l.Inbox())
	}
	b.WriteString("Sign in to the hub to see the referral. This message carries no report content.\n")
	return b.String()
}

// WebhookType returns the event type of the webhook payload, such as
// "referral.new".
func (n Notice) WebhookType() string {
	switch n.Reason {
	case ReasonDigest:
		return "referral.digest"
	case ReasonEscalated:
		return "referral.escalated"
	case ReasonNewMessage:
		return "referral.message"
	}
	return "referral.new"
}

// webhookPayload is the JSON body of a webhook, in the shape the Standard
// Webhooks specification recommends (type, timestamp, data).
type webhookPayload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      webhookData `json:"data"`
}

type webhookData struct {
	Reason    Reason            `json:"reason"`
	Level     int               `json:"level,omitempty"`
	Referrals []webhookReferral `json:"referrals"`
	More      int               `json:"more,omitempty"`
	Inbox     string            `json:"inbox"`
}

type webhookReferral struct {
	Item
	URL string `json:"url"`
}

// Payload returns the webhook body: a thin payload, as the specification
// calls one with identifiers only.
func (n Notice) Payload(l Links) []byte {
	p := webhookPayload{Type: n.WebhookType(), Timestamp: n.At.UTC(),
		Data: webhookData{Reason: n.Reason, Level: n.Level, More: n.More, Inbox: l.Inbox(), Referrals: []webhookReferral{}}}
	for _, it := range n.Items {
		p.Data.Referrals = append(p.Data.Referrals, webhookReferral{Item: it, URL: l.Referral(it.ReferralID)})
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("notify: marshal payload: %v", err)) // plain types only: cannot happen
	}
	return b
}
