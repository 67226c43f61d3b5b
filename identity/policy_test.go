package identity

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestLockout(t *testing.T) {
	l := DefaultLockout
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	failures, until := 0, (*time.Time)(nil)
	// Four failures count without locking.
	for i := 1; i <= 4; i++ {
		failures, until = l.Fail(failures, until, t0.Add(time.Duration(i)*time.Second))
		if failures != i || until != nil {
			t.Fatalf("after %d failures: %d, locked until %v", i, failures, until)
		}
	}
	// The fifth locks for at least ten minutes.
	at := t0.Add(5 * time.Second)
	failures, until = l.Fail(failures, until, at)
	if until == nil || until.Sub(at) < 10*time.Minute {
		t.Fatalf("the fifth failure locked until %v", until)
	}
	if locked, left := l.Locked(until, at.Add(9*time.Minute+59*time.Second)); !locked || left <= 0 {
		t.Errorf("not locked just before ten minutes: %v %v", locked, left)
	}
	if l.Expired(until, at.Add(time.Minute)) {
		t.Error("a lock in force counts as expired")
	}
	// A failure during the lock neither counts nor extends it.
	f2, u2 := l.Fail(failures, until, at.Add(time.Minute))
	if f2 != failures || u2 != until {
		t.Errorf("a failure while locked changed the state to %d, %v", f2, u2)
	}
	// After the lock, time alone lifts it and the count starts again.
	after := *until
	if locked, _ := l.Locked(until, after); locked {
		t.Error("still locked at the lock's end")
	}
	if !l.Expired(until, after) {
		t.Error("an ended lock does not count as expired")
	}
	failures, until = l.Fail(failures, until, after)
	if failures != 1 || until != nil {
		t.Errorf("first failure after the lock: %d, %v; want 1, not locked", failures, until)
	}
	if locked, _ := l.Locked(nil, after); locked {
		t.Error("no lock counts as locked")
	}
}

func TestLockoutDisabled(t *testing.T) {
	l := Lockout{}
	failures, until := 0, (*time.Time)(nil)
	for range 100 {
		failures, until = l.Fail(failures, until, time.Unix(0, 0))
	}
	if until != nil {
		t.Error("a zero Lockout locked")
	}
}

func TestSessionPolicy(t *testing.T) {
	p := DefaultSessionPolicy
	created := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		lastSeen  time.Duration // after created
		locked    bool
		now       time.Duration // after created
		want      SessionStatus
		wantTouch bool
	}{
		{"fresh", 0, false, 0, SessionActive, false},
		{"active within a minute", 0, false, 59 * time.Second, SessionActive, false},
		{"active, touch due", 0, false, time.Minute, SessionActive, true},
		{"idle 29 minutes", time.Hour, false, time.Hour + 29*time.Minute, SessionActive, true},
		{"idle 30 minutes", time.Hour, false, time.Hour + 30*time.Minute, SessionLocked, true},
		{"locked before", time.Hour, true, time.Hour + time.Minute, SessionLocked, true},
		{"busy at 11:59", 11*time.Hour + 58*time.Minute, false, 11*time.Hour + 59*time.Minute, SessionActive, true},
		{"busy at 12 hours", 11*time.Hour + 59*time.Minute, false, 12 * time.Hour, SessionExpired, true},
		{"locked and expired", time.Hour, true, 13 * time.Hour, SessionExpired, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &guardian.Session{CreatedAt: created, LastSeenAt: created.Add(tt.lastSeen), Locked: tt.locked}
			now := created.Add(tt.now)
			if got := p.Status(s, now); got != tt.want {
				t.Errorf("Status = %s, want %s", got, tt.want)
			}
			if got := p.NeedsTouch(s, now); got != tt.wantTouch {
				t.Errorf("NeedsTouch = %v, want %v", got, tt.wantTouch)
			}
		})
	}
	if got := p.ExpiresAt(&guardian.Session{CreatedAt: created}); !got.Equal(created.Add(12 * time.Hour)) {
		t.Errorf("ExpiresAt = %v", got)
	}
}
