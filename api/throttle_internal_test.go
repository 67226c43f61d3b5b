package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/guardian-network/guardian/internal/throttle"
)

// TestFailureLogBounded: a window records at most throttle.MaxBursts
// bursts plus one overflow burst per action and reason, whatever the
// attack. (The address guard's bounds are tested in package throttle.)
func TestFailureLogBounded(t *testing.T) {
	l := newFailureLog()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5000 {
		k := burstKey{action: actionSignIn, reason: "unknown-name", name: l.Label("name" + strconv.Itoa(i)), addr: "203.0.113." + strconv.Itoa(i%250)}
		l.Add(now, k, "req")
	}
	bs := l.Take()
	if len(bs) != throttle.MaxBursts+1 {
		t.Errorf("%d bursts, want %d", len(bs), throttle.MaxBursts+1)
	}
	total := 0
	for _, b := range bs {
		total += b.Count
	}
	if total != 5000 {
		t.Errorf("%d failures counted, want 5000", total)
	}
	first, again := l.Label("x"), l.Label("x")
	if l.Label("a@example.org") == "a@example.org" || first != again {
		t.Error("labels are not stable keyed hashes")
	}
}

// TestCallerSlots: a caller's slots are bounded and the map forgets
// callers with nothing in flight.
func TestCallerSlots(t *testing.T) {
	s := callerSlots{max: 2, n: map[string]int{}}
	for i, want := range []bool{true, true, false} {
		if got := s.acquire("a"); got != want {
			t.Fatalf("caller a's request %d: acquired %v, want %v", i+1, got, want)
		}
	}
	if !s.acquire("b") {
		t.Fatal("caller b refused while a is at its bound")
	}
	s.release("a")
	s.release("a")
	s.release("b")
	if len(s.n) != 0 {
		t.Errorf("%d callers remembered with nothing in flight", len(s.n))
	}
}
