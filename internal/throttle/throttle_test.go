package throttle

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestGuardBounded: a stranger inventing names and addresses cannot grow
// the guard's memory past its bounds.
func TestGuardBounded(t *testing.T) {
	g := NewGuard(Limits{AddrInterval: time.Second, AddrBurst: 5, NameInterval: time.Minute, NameBurst: 5})
	for i := range MaxNames + 500 {
		_, _ = g.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), NameOf(fmt.Sprint("name-", i)))
	}
	if n := g.names.Len(); n != MaxNames {
		t.Errorf("%d names tracked, want %d", n, MaxNames)
	}
	if n := g.addrs.Len(); n != MaxAddrs {
		t.Errorf("%d addresses tracked, want %d", n, MaxAddrs)
	}
}

// TestAllowAddrBounded: however many addresses a stranger uses, the guard
// keeps at most MaxAddrs buckets; an IPv6 /64 is one bucket.
func TestAllowAddrBounded(t *testing.T) {
	g := NewGuard(Limits{AddrInterval: time.Hour, AddrBurst: 1})
	for i := range MaxAddrs + 500 {
		g.AllowAddr("198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256))
	}
	if n := g.addrs.Len(); n != MaxAddrs {
		t.Errorf("%d buckets kept, want %d", n, MaxAddrs)
	}
	g = NewGuard(Limits{AddrInterval: time.Hour, AddrBurst: 1})
	if g.AllowAddr("2001:db8::1") != 0 {
		t.Fatal("first attempt refused")
	}
	if g.AllowAddr("2001:db8::2") == 0 {
		t.Error("a second address of the same /64 got its own bucket")
	}
	if g.AllowAddr("2001:db8:0:1::1") != 0 {
		t.Error("another /64 shares the bucket")
	}
	if g.AllowAddr("::ffff:192.0.2.1") != 0 || g.AllowAddr("192.0.2.1") == 0 {
		t.Error("an IPv4-mapped address is not counted as its IPv4 address")
	}
}

// TestAddrFailures: bearer tokens take tokens only when they fail, and a
// zero interval means no limit.
func TestAddrFailures(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g := NewGuard(Limits{AddrInterval: time.Minute, AddrBurst: 2})
	g.Now = func() time.Time { return now }
	for range 2 {
		if wait := g.AddrBlocked("203.0.113.9"); wait != 0 {
			t.Fatalf("blocked %v before any failure", wait)
		}
		g.AddrFailed("203.0.113.9")
	}
	if wait := g.AddrBlocked("203.0.113.9"); wait <= 0 || wait > time.Minute {
		t.Errorf("after two failures of a burst of 2: wait %v, want up to a minute", wait)
	}
	now = now.Add(time.Minute)
	if wait := g.AddrBlocked("203.0.113.9"); wait != 0 {
		t.Errorf("a minute later: wait %v", wait)
	}

	open := NewGuard(Limits{})
	for range 100 {
		if wait, _ := open.Allow("203.0.113.9", NameOf("x")); wait != 0 {
			t.Fatalf("no limits, yet wait %v", wait)
		}
		if open.Failed(NameOf("x")) {
			t.Fatal("locked with LockAfter 0")
		}
	}
}

// TestHashGateOrder: with the slot taken, known credentials are served
// before the guesses that queued earlier, guesses in arrival order, and
// guesses beyond the queue's bound are turned away at once.
func TestHashGateOrder(t *testing.T) {
	g := NewHashGate(1, 2)
	if err := g.Acquire(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	queued := 0
	enqueue := func(name string, known bool) {
		wg.Go(func() {
			if err := g.Acquire(t.Context(), known); err != nil {
				t.Error(name, err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.Release()
		})
		// Let it reach the queue before the next one comes.
		queued++
		for {
			g.mu.Lock()
			n := g.first.Len() + g.rest.Len()
			g.mu.Unlock()
			if n == queued {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("guess-1", false)
	enqueue("guess-2", false)
	if err := g.Acquire(t.Context(), false); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third guess waiting: %v, want ErrQueueFull", err)
	}
	enqueue("known", true)
	g.Release()
	wg.Wait()
	if got := strings.Join(order, " "); got != "known guess-1 guess-2" {
		t.Errorf("served %s", got)
	}
	if g.free != 1 {
		t.Errorf("%d free slots after all released, want 1", g.free)
	}
}

// TestHashGateGivesUp: a waiter whose context ends leaves the queue, and a
// slot granted as it gave up is handed on, not lost.
func TestHashGateGivesUp(t *testing.T) {
	g := NewHashGate(1, 10)
	if err := g.Acquire(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := g.Acquire(ctx, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire = %v", err)
	}
	if g.rest.Len() != 0 {
		t.Errorf("%d waiters left in the queue", g.rest.Len())
	}
	g.Release()
	if err := g.Acquire(t.Context(), false); err != nil || g.free != 0 {
		t.Errorf("acquire after release: %v, %d free", err, g.free)
	}
}

type testKey struct{ action, reason, name, addr string }

// TestFailuresBounded: a window records at most MaxBursts bursts plus one
// overflow burst per action and reason, whatever the attack, and counts
// every failure.
func TestFailuresBounded(t *testing.T) {
	l := NewFailures(func(k testKey) testKey { return testKey{action: k.action, reason: k.reason} })
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 5000 {
		k := testKey{action: "api.signin", reason: "unknown-name", name: l.Label("name" + strconv.Itoa(i)), addr: "203.0.113." + strconv.Itoa(i%250)}
		l.Add(now.Add(time.Duration(i)*time.Millisecond), k, "req-"+strconv.Itoa(i))
	}
	bs := l.Take()
	if len(bs) != MaxBursts+1 {
		t.Errorf("%d bursts, want %d", len(bs), MaxBursts+1)
	}
	total := 0
	for _, b := range bs {
		total += b.Count
	}
	if total != 5000 {
		t.Errorf("%d failures counted, want 5000", total)
	}
	over := bs[testKey{action: "api.signin", reason: "unknown-name"}]
	if over == nil || over.Count != 5000-MaxBursts || over.RequestID != "req-4999" || !over.Last.After(over.First) {
		t.Errorf("overflow burst %+v", over)
	}
	if len(l.Take()) != 0 {
		t.Error("Take left bursts behind")
	}
	first, again := l.Label("x"), l.Label("x")
	if l.Label("a@example.org") == "a@example.org" || first != again || !strings.HasPrefix(first, "unknown-") || l.Label("") != "" {
		t.Error("labels are not stable keyed hashes")
	}
}

// TestBurstEvent: the event of a burst says how many failures, from when
// to when.
func TestBurstEvent(t *testing.T) {
	first := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("", 3600))
	b := &Burst{First: first, Last: first.Add(time.Minute), Count: 3, RequestID: "r"}
	ev := b.Event(guardian.Actor{Kind: guardian.ActorUser}, "api.signin", "unknown-name", "192.0.2.1")
	if ev.ObjectKind != ObjectKind || ev.ObjectID != "count=3 first=2026-03-02T09:00:00Z last=2026-03-02T09:01:00Z" ||
		ev.RequestID != "r" || ev.ClientAddr != "192.0.2.1" || ev.Outcome != guardian.OutcomeFailure || ev.Actor.Kind != guardian.ActorUser || ev.Reason != "unknown-name" {
		t.Errorf("event %+v", ev)
	}
}
