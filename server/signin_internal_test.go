package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHashGateOrder: with the slot taken, known credentials are served
// before the guesses that queued earlier, guesses in arrival order, and
// guesses beyond the queue's bound are turned away at once.
func TestHashGateOrder(t *testing.T) {
	g := newHashGate(1, 2)
	if err := g.acquire(t.Context(), false); err != nil {
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
			if err := g.acquire(t.Context(), known); err != nil {
				t.Error(name, err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
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
	if err := g.acquire(t.Context(), false); !errors.Is(err, errHashQueueFull) {
		t.Errorf("third guess waiting: %v, want errHashQueueFull", err)
	}
	enqueue("known", true)
	g.release()
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
	g := newHashGate(1, 10)
	if err := g.acquire(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := g.acquire(ctx, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire = %v", err)
	}
	if g.rest.Len() != 0 {
		t.Errorf("%d waiters left in the queue", g.rest.Len())
	}
	g.release()
	if err := g.acquire(t.Context(), false); err != nil || g.free != 0 {
		t.Errorf("acquire after release: %v, %d free", err, g.free)
	}
}

// TestSignInGuardBounded: a stranger inventing names and addresses cannot
// grow the guard's memory past its bounds.
func TestSignInGuardBounded(t *testing.T) {
	s := New(nil, nil, nil)
	s.initSignIn()
	for i := range maxTrackedNames + 500 {
		_ = s.guard.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), nameKey(fmt.Sprint("name-", i)))
	}
	if n := s.guard.names.len(); n != maxTrackedNames {
		t.Errorf("%d names tracked, want %d", n, maxTrackedNames)
	}
	if n := s.guard.addrs.len(); n != maxTrackedAddrs {
		t.Errorf("%d addresses tracked, want %d", n, maxTrackedAddrs)
	}
}

// TestSignInGuardLimits: the address's and the name's buckets, checked
// before either is taken; and the lock, once per run of failures.
func TestSignInGuardLimits(t *testing.T) {
	s := New(nil, nil, nil)
	s.SignInAddrBurst, s.SignInNameBurst, s.LockAfter = 3, 2, 3
	s.initSignIn()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.guard.now = func() time.Time { return now }
	a, b := nameKey("example-a"), nameKey("example-b")
	for i, want := range []bool{true, true, false} {
		if err := s.guard.allow("192.0.2.1", a); (err == nil) != want {
			t.Errorf("attempt %d on a: %v", i+1, err)
		}
	}
	// The name's refusal took no token of the address: one is left.
	if err := s.guard.allow("192.0.2.1", b); err != nil {
		t.Errorf("first attempt on b: %v", err)
	}
	if err := s.guard.allow("192.0.2.1", b); err == nil {
		t.Error("the address's bucket is empty, yet b was allowed")
	} else if te, _ := asThrottled(err); te.wait <= 0 || te.wait > s.SignInAddrInterval {
		t.Errorf("wait %v", te.wait)
	}
	// Another address of the same IPv6 /64 shares its bucket.
	for i := range 3 {
		if err := s.guard.allow("2001:db8::1", nameKey(fmt.Sprint("x", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.guard.allow("2001:db8::ffff", nameKey("y")); err == nil {
		t.Error("an address of the same /64 was allowed past the bucket")
	}

	locks := 0
	for range 5 {
		if s.guard.failed(a) {
			locks++
		}
	}
	if locks != 1 {
		t.Errorf("%d locks for 5 failures past 3, want 1", locks)
	}
	now = now.Add(time.Hour) // lock over, buckets full
	if err := s.guard.allow("192.0.2.1", a); err != nil {
		t.Errorf("after the lock: %v", err)
	}
	s.guard.succeeded(a)
	for i := range s.LockAfter - 1 {
		if s.guard.failed(a) {
			t.Errorf("locked again after %d failures in a row, before %d", i+1, s.LockAfter)
		}
	}
}
