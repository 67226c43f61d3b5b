package notify_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/notify"
)

// fullReferral returns a referral with every field set, each text field to
// a value that must never appear in a notification.
func fullReferral() *guardian.Referral {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	yes := true
	return &guardian.Referral{
		ID: 4242, ReportID: 777001, AgencyID: "secret-agency-id", Network: "secretnetworkdigest",
		Countries: []string{"QQ", "QZ"}, Channel: "secret-channel", Reason: "secret-reason",
		Priority: "1", Label: "secret-label", HandlingCode: "SECRET-HANDLING", DataScope: guardian.ScopeFiles,
		AcknowledgeWithin: 4 * time.Hour, RetentionDays: 731,
		Deadline:   time.Date(2026, 3, 1, 13, 30, 0, 0, time.FixedZone("X", 3600)),
		State:      guardian.ReferralDelivered,
		ReceivedAt: at, TriagedAt: at, RoutedAt: at, DeliveredAt: &at, OpenedAt: &at, AcknowledgedAt: &at,
		UpdatedAt: at, Assignee: "secret-assignee",
		Outcome: &guardian.Outcome{Status: guardian.CaseArrest, VictimIdentified: &yes, Usefulness: guardian.Useful,
			Note: "secret-outcome-note", RecordedBy: "secret-recorder"},
		Decline:         &guardian.Decline{SuggestedCountry: "QX", Reason: "secret-decline-reason"},
		Escalation:      1,
		LiaisonAgencyID: "secret-liaison-id",
	}
}

// forbidden are the referral's values that no notification may carry.
var forbidden = []string{"777001", "secret", "SECRET", "QQ", "QZ", "QX", "731", "files", "arrest", "useful"}

func mustLinks(tb testing.TB) notify.Links {
	tb.Helper()
	l, err := notify.ParseLinks("https://hub.example.org/guardian/")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func TestNoticeCarriesNoContent(t *testing.T) {
	r := fullReferral()
	l := mustLinks(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	notices := map[string]notify.Notice{
		"New":        notify.NewNotice("referral-4242-delivered", notify.ReasonNewReferral, 0, r, at),
		"Escalated1": notify.NewNotice("referral-4242-escalated-1", notify.ReasonEscalated, 1, r, at),
		"Escalated2": notify.NewNotice("referral-4242-escalated-2", notify.ReasonEscalated, 2, r, at),
		"Message":    notify.NewNotice("message-9", notify.ReasonNewMessage, 0, r, at),
		"Digest":     notify.NewDigest("digest-a-1", []notify.Item{notify.ItemOf(r), notify.ItemOf(r)}, at),
	}
	// Everything a notification may say: words of our own, the id, the
	// priority, the deadline, links and times.
	allowedNumbers := regexp.MustCompile(`\d+`)
	for name, n := range notices {
		t.Run(name, func(t *testing.T) {
			text, subject, payload := n.Text(l), n.Subject(), string(n.Payload(l))
			for _, s := range []string{text, subject, payload} {
				for _, f := range forbidden {
					if strings.Contains(s, f) {
						t.Errorf("notification carries %q:\n%s", f, s)
					}
				}
				for _, num := range allowedNumbers.FindAllString(s, -1) {
					if !slices.Contains([]string{"4242", "1", "2", "2026", "03", "01", "12", "30", "10", "00", "0"}, num) {
						t.Errorf("notification carries the number %s:\n%s", num, s)
					}
				}
			}
			if !strings.Contains(text, "https://hub.example.org/guardian/referrals/4242") || !strings.Contains(payload, "https://hub.example.org/guardian/referrals/4242") {
				t.Errorf("no link to the referral:\n%s\n%s", text, payload)
			}
			if !strings.Contains(text, "2026-03-01 12:30 UTC") {
				t.Errorf("no deadline in UTC:\n%s", text)
			}
			// The payload's fields are exactly the known ones.
			var p struct {
				Type      string         `json:"type"`
				Timestamp time.Time      `json:"timestamp"`
				Data      map[string]any `json:"data"`
			}
			if err := json.Unmarshal(n.Payload(l), &p); err != nil {
				t.Fatal(err)
			}
			for k := range p.Data {
				if !slices.Contains([]string{"reason", "level", "referrals", "more", "inbox"}, k) {
					t.Errorf("payload has data.%s", k)
				}
			}
			for _, ref := range p.Data["referrals"].([]any) {
				var keys []string
				for k := range ref.(map[string]any) {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if want := []string{"deadline", "priority", "referralId", "url"}; !reflect.DeepEqual(keys, want) {
					t.Errorf("payload referral has %v, want %v", keys, want)
				}
			}
		})
	}
}

func TestItemOfReadsThreeFields(t *testing.T) {
	// An Item has exactly the three fields a notification may carry.
	typ := reflect.TypeFor[notify.Item]()
	var names []string
	for f := range typ.Fields() {
		names = append(names, f.Name)
	}
	if want := []string{"ReferralID", "Priority", "Deadline"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Item fields %v, want %v", names, want)
	}
	it := notify.ItemOf(fullReferral())
	if it.ReferralID != 4242 || it.Priority != "1" || !it.Deadline.Equal(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)) || it.Deadline.Location() != time.UTC {
		t.Errorf("ItemOf = %+v", it)
	}
}

func TestDigestBounded(t *testing.T) {
	items := make([]notify.Item, notify.MaxDigestItems+7)
	for i := range items {
		items[i] = notify.Item{ReferralID: int64(i + 1), Priority: "2"}
	}
	n := notify.NewDigest("digest-a-1", items, time.Now())
	if len(n.Items) != notify.MaxDigestItems || n.More != 7 {
		t.Errorf("digest lists %d, more %d", len(n.Items), n.More)
	}
	l := mustLinks(t)
	if s := n.Subject(); !strings.Contains(s, "107 new referrals") {
		t.Errorf("subject %q", s)
	}
	if s := n.Text(l); !strings.Contains(s, "and 7 more: https://hub.example.org/guardian/referrals") {
		t.Errorf("text does not point to the inbox for the rest:\n%s", s)
	}
}

func TestParseLinks(t *testing.T) {
	for _, ok := range []string{"https://hub.example.org", "https://hub.example.org/", "https://hub.example.org:8443/g", "http://127.0.0.1:8080"} {
		if _, err := notify.ParseLinks(ok); err != nil {
			t.Errorf("ParseLinks(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "hub.example.org", "http://hub.example.org", "ftp://hub.example.org", "https://hub.example.org/?q=1", "https://u:p@hub.example.org"} {
		if _, err := notify.ParseLinks(bad); err == nil {
			t.Errorf("ParseLinks(%q) accepted", bad)
		}
	}
}
