package server

import (
	"fmt"
	"testing"
	"time"
)

// The guard's and the hash gate's own tests are package throttle's; these
// check the server's use of them.

// TestSignInGuardLimits: the address's and the name's buckets, checked
// before either is taken; and the lock, once per run of failures.
func TestSignInGuardLimits(t *testing.T) {
	s := New(nil, nil, nil)
	s.SignInAddrBurst, s.SignInNameBurst, s.LockAfter = 3, 2, 3
	s.initSignIn()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.guard.Now = func() time.Time { return now }
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
