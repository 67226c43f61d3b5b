package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/throttle"
)

// Failed sign-ins must cost the one who fails, not the hub. A password check
// is deliberately slow (PBKDF2, about 20 ms of a core), so without
// limits a stranger guessing passwords spends the hub's CPU and, while his
// requests wait, the slots that reporters need. Three things stand in the
// way, all before any hash is computed:
//
//   - token buckets per client address and per account name
//     ([throttle.Guard]): a sign-in that needs a hash takes a token from both,
//     and one that finds either empty is answered 429 with Retry-After;
//   - a temporary lock of an account name after LockAfter failures in a
//     row, lifted by time alone;
//   - a bound on concurrent hashes ([throttle.HashGate]), with a bounded queue, so
//     that guesses wait behind each other.
//
// Credentials that verified before (see authCache.known) pass the buckets
// and the lock and go to the front of the hash queue: a stranger who floods
// a reporter's name with guesses locks out his own guesses, not the
// reporter, who cannot be impersonated by that shortcut because it is keyed
// by a hash of name and password together. Requests that present verified
// credentials within authCacheTTL do not hash at all.
//
// The buckets and lock states live in bounded maps that evict the least
// recently used entry, so a stranger cannot grow the hub's memory by
// inventing names or addresses. Evicting a lock lifts it early; the hash
// bound still holds then.

// signInGuard is the shared guard (package throttle) with the refusal in
// the intake's form.
type signInGuard struct{ *throttle.Guard }

// throttledError refuses a sign-in before its password was checked.
type throttledError struct {
	wait   time.Duration // until the refusal ends
	locked bool          // the name is locked, rather than out of tokens
}

func (e *throttledError) Error() string {
	if e.locked {
		return fmt.Sprintf("account locked after repeated failed sign-ins; retry in %s", e.wait.Round(time.Second))
	}
	return fmt.Sprintf("too many sign-in attempts; retry in %s", e.wait.Round(time.Second))
}

func (s *Server) initSignIn() {
	s.guard = &signInGuard{throttle.NewGuard(throttle.Limits{
		AddrInterval: s.SignInAddrInterval,
		AddrBurst:    s.SignInAddrBurst,
		NameInterval: s.SignInNameInterval,
		NameBurst:    s.SignInNameBurst,
		LockAfter:    s.LockAfter,
		LockFor:      s.LockDuration,
	})}
	s.hashes = &hashGate{throttle.NewHashGate(s.MaxConcurrentHashes, s.MaxHashWaiters)}
}

func nameKey(name string) throttle.Name { return throttle.NameOf(name) }

// allow decides whether a sign-in that needs a password hash may go on, and
// takes a token from the address's and the name's bucket if so.
func (g *signInGuard) allow(addr string, name throttle.Name) error {
	if wait, locked := g.Allow(addr, name); wait > 0 {
		return &throttledError{wait: wait, locked: locked}
	}
	return nil
}

// failed counts a failed password check for name, and reports whether it
// locked the name: true once per lock, so that a lock is recorded once.
func (g *signInGuard) failed(name throttle.Name) bool { return g.Failed(name) }

// succeeded ends a name's run of failures.
func (g *signInGuard) succeeded(name throttle.Name) { g.Succeeded(name) }

// addrBlocked and addrFailed throttle bearer tokens by their failures
// alone, so that auditors fetching many tiles are never throttled.
func (g *signInGuard) addrBlocked(addr string) time.Duration { return g.AddrBlocked(addr) }
func (g *signInGuard) addrFailed(addr string)                { g.AddrFailed(addr) }

// hashGate is the shared bound on hashes (package throttle), with the
// refusal in the intake's form.
type hashGate struct{ *throttle.HashGate }

// errHashQueueFull turns a sign-in away when the hash queue is full.
var errHashQueueFull = guardian.Errorf(guardian.EUNAVAILABLE, "Too many sign-ins at once; retry later.")

func (h *hashGate) acquire(ctx context.Context, known bool) error {
	err := h.Acquire(ctx, known)
	if errors.Is(err, throttle.ErrQueueFull) {
		return errHashQueueFull
	}
	return err
}

func (h *hashGate) release() { h.Release() }

// asThrottled returns the throttledError in err's chain, if any.
func asThrottled(err error) (*throttledError, bool) {
	var te *throttledError
	ok := errors.As(err, &te)
	return te, ok
}
