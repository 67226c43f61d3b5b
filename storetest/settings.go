package storetest

import (
	"testing"

	"github.com/guardian-network/guardian"
)

// settings returns the store as a guardian.SettingsStore, failing the test
// if it is not.
func (e *env) settings() guardian.SettingsStore {
	e.t.Helper()
	ss, ok := e.s.(guardian.SettingsStore)
	if !ok {
		e.t.Fatalf("%T is not a guardian.SettingsStore", e.s)
	}
	return ss
}

func demoEvent() *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian demo"},
		Category: guardian.CategoryPrivileged, Action: "hub.demo"}
}

// wantDemo checks what IsDemo says.
func (e *env) wantDemo(want bool) {
	e.t.Helper()
	got, err := e.settings().IsDemo(e.ctx)
	if err != nil {
		e.t.Fatalf("IsDemo: %v", err)
	}
	if got != want {
		e.t.Errorf("IsDemo = %v, want %v", got, want)
	}
}

// testMarkDemo: an empty store (a reporter aside) is marked, once.
func testMarkDemo(t *testing.T, e *env) {
	e.wantDemo(false)
	e.reporter("demo") // the demo's reporting account may come first
	n := e.eventCount()
	ev := demoEvent()
	if err := e.settings().MarkDemo(e.ctx, ev); err != nil {
		t.Fatalf("MarkDemo on an empty store: %v", err)
	}
	e.wantDemo(true)
	e.wantEvents(n, eventSummary{"hub.demo", "privileged", "hub:demo", guardian.OutcomeSuccess, ""})
	e.wantStored(ev)

	// Marking again changes nothing and records nothing.
	if err := e.settings().MarkDemo(e.ctx, demoEvent()); err != nil {
		t.Fatalf("MarkDemo again: %v", err)
	}
	e.wantDemo(true)
	if got := e.eventCount(); got != n+1 {
		t.Errorf("MarkDemo again recorded %d events", got-n-1)
	}
	// A marked store stays marked once people and reports arrive.
	e.user("ana@example.org")
	e.report(e.reporter("other").ID)
	e.wantDemo(true)
}

// testMarkDemoRefused: a store holding a report or a user is not marked.
func testMarkDemoRefused(t *testing.T, e *env) {
	e.report(e.reporter("example-service").ID)
	n := e.eventCount()
	e.refused(e.settings().MarkDemo(e.ctx, demoEvent()), guardian.ECONFLICT, n)
	e.wantDemo(false)

	if err := e.settings().MarkDemo(e.ctx, nil); guardian.ErrorCode(err) != guardian.ECONFLICT {
		t.Errorf("MarkDemo without an event on a store with a report: %v, want ECONFLICT", err)
	}
}

// testMarkDemoRefusedUsers: a store with people but no report is not
// marked either.
func testMarkDemoRefusedUsers(t *testing.T, e *env) {
	e.user("ana@example.org")
	n := e.eventCount()
	e.refused(e.settings().MarkDemo(e.ctx, demoEvent()), guardian.ECONFLICT, n)
	e.wantDemo(false)
}

// testMarkDemoNeedsEvent: the marker, like every change, is recorded.
func testMarkDemoNeedsEvent(t *testing.T, e *env) {
	if err := e.settings().MarkDemo(e.ctx, nil); err == nil {
		t.Fatal("MarkDemo without an audit event succeeded")
	}
	e.wantDemo(false)
}
