package api

import (
	"strconv"
	"testing"
	"time"
)

// TestAddrGuardBounded: however many addresses a stranger uses, the guard
// keeps at most maxTrackedAddrs buckets; an IPv6 /64 is one bucket.
func TestAddrGuardBounded(t *testing.T) {
	g := newAddrGuard(time.Hour, 1)
	for i := range maxTrackedAddrs + 500 {
		g.take("198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256))
	}
	if n := g.addrs.order.Len(); n != maxTrackedAddrs {
		t.Errorf("%d buckets kept, want %d", n, maxTrackedAddrs)
	}
	g = newAddrGuard(time.Hour, 1)
	if g.take("2001:db8::1") != 0 {
		t.Fatal("first attempt refused")
	}
	if g.take("2001:db8::2") == 0 {
		t.Error("a second address of the same /64 got its own bucket")
	}
	if g.take("2001:db8:0:1::1") != 0 {
		t.Error("another /64 shares the bucket")
	}
}

// TestFailureLogBounded: a window records at most maxFailureBursts bursts
// plus one overflow burst per action and reason, whatever the attack.
func TestFailureLogBounded(t *testing.T) {
	l := newFailureLog()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5000 {
		k := burstKey{action: actionSignIn, reason: "unknown-name", name: l.label("name" + strconv.Itoa(i)), addr: "203.0.113." + strconv.Itoa(i%250)}
		l.add(now, k, "req")
	}
	bs := l.take()
	if len(bs) != maxFailureBursts+1 {
		t.Errorf("%d bursts, want %d", len(bs), maxFailureBursts+1)
	}
	total := 0
	for _, b := range bs {
		total += b.count
	}
	if total != 5000 {
		t.Errorf("%d failures counted, want 5000", total)
	}
	first, again := l.label("x"), l.label("x")
	if l.label("a@example.org") == "a@example.org" || first != again {
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
