package format_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
)

func ptr(i int64) *int64 { return &i }

// TestMarshalLeaf pins the encoding: a verifier written from the package
// documentation must produce these bytes.
func TestMarshalLeaf(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   guardian.AuditEvent
		want string
	}{
		{
			name: "Full",
			ev: guardian.AuditEvent{
				ID: 42, Index: ptr(5),
				Time:     time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600)),
				Actor:    guardian.Actor{Kind: guardian.ActorUser, ID: "17", Name: "Zoë \"Q\" \\ O'Brien", Organisation: "Agence <Paris> & Co\u2028"},
				Category: guardian.CategoryDisclosure, Action: "referral.send",
				ObjectKind: "referral", ObjectID: "9", ReportID: 7, FileID: "0123456789abcdef0123456789abcdef",
				Outcome: guardian.OutcomeFailure, Reason: "5102", Justification: "line\none\ttab\b\f\r\x01\x1f\x7f",
				Recipients: []string{"agency-b", "agency-a"},
				RequestID:  "req-1", ClientAddr: "2001:db8::1",
			},
			want: `{"action":"referral.send","actor":{"id":"17","kind":"user","name":"Zoë \"Q\" \\ O'Brien","organisation":"Agence <Paris> & Co` + "\u2028" + `"},` +
				`"category":"disclosure","clientAddr":"2001:db8::1","fileId":"0123456789abcdef0123456789abcdef","id":42,"index":5,` +
				`"justification":"line\none\ttab\b\f\r\u0001\u001f` + "\x7f" + `","objectId":"9","objectKind":"referral","outcome":"failure","reason":"5102",` +
				`"recipients":["agency-b","agency-a"],"reportId":7,"requestId":"req-1","time":"2026-01-02T02:04:05.123456Z","v":1}`,
		},
		{
			name: "Minimal",
			ev: guardian.AuditEvent{
				ID: 1, Index: ptr(0), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryErasure,
				Action: "report.expire", Outcome: guardian.OutcomeSuccess,
			},
			want: `{"action":"report.expire","actor":{"id":"","kind":"system","name":"","organisation":""},` +
				`"category":"erasure","clientAddr":"","fileId":"","id":1,"index":0,"justification":"","objectId":"","objectKind":"",` +
				`"outcome":"success","reason":"","recipients":[],"reportId":0,"requestId":"","time":"2026-01-02T03:04:05.000000Z","v":1}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := format.MarshalLeaf(&tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("leaf (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Error("not valid JSON")
			}
			if err := format.CheckEvent(&tc.ev); err != nil {
				t.Errorf("CheckEvent: %v", err)
			}
		})
	}
}

func TestMarshalLeafRefuses(t *testing.T) {
	valid := func() *guardian.AuditEvent {
		return &guardian.AuditEvent{ID: 1, Index: ptr(0), Time: time.Now(), Actor: guardian.Actor{Kind: guardian.ActorSystem},
			Category: guardian.CategoryPrivileged, Action: "config.reload", Outcome: guardian.OutcomeSuccess}
	}
	for name, change := range map[string]func(ev *guardian.AuditEvent){
		"no index":   func(ev *guardian.AuditEvent) { ev.Index = nil },
		"bad UTF-8":  func(ev *guardian.AuditEvent) { ev.Actor.Name = "a\xffb" },
		"too large":  func(ev *guardian.AuditEvent) { ev.Recipients = []string{strings.Repeat("x", 1<<16)} },
		"year 10000": func(ev *guardian.AuditEvent) { ev.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		ev := valid()
		change(ev)
		if b, err := format.MarshalLeaf(ev); err == nil {
			t.Errorf("%s: MarshalLeaf succeeded: %s", name, b)
		}
	}
	ev := valid()
	ev.RequestID = "a\x00b"
	if err := format.CheckEvent(ev); err == nil {
		t.Error("CheckEvent accepted a NUL character")
	}
	// Just below the limit with the largest id and index is accepted.
	ev = valid()
	ev.Recipients = []string{strings.Repeat("x", 1<<16-500)}
	if err := format.CheckEvent(ev); err != nil {
		t.Errorf("CheckEvent of a large event: %v", err)
	}
}

// FuzzMarshalLeaf: any text that encodes gives valid JSON that decodes to
// the same text.
func FuzzMarshalLeaf(f *testing.F) {
	f.Add("Zoë \"Q\"\n", "\x00\x1f\\", "a\u2028b")
	f.Fuzz(func(t *testing.T, name, reason, recipient string) {
		ev := &guardian.AuditEvent{ID: 3, Index: ptr(9), Time: time.Unix(1e9, 0),
			Actor: guardian.Actor{Kind: guardian.ActorUser, Name: name}, Category: guardian.CategoryConsultation,
			Action: "report.open", Outcome: guardian.OutcomeSuccess, Reason: reason, Recipients: []string{recipient}}
		b, err := format.MarshalLeaf(ev)
		valid := utf8.ValidString(name) && utf8.ValidString(reason) && utf8.ValidString(recipient)
		if (err == nil) != valid {
			t.Fatalf("MarshalLeaf: %v for valid UTF-8 %t", err, valid)
		}
		if err != nil {
			return
		}
		var got struct {
			Actor      struct{ Name string }
			Reason     string
			Recipients []string
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got.Actor.Name != name || got.Reason != reason || len(got.Recipients) != 1 || got.Recipients[0] != recipient {
			t.Fatalf("decoded %+v", got)
		}
	})
}
