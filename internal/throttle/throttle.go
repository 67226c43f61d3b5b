// Package throttle makes a stranger's guesses at credentials cost the
// guesser, not the hub. A password check is slow on purpose, and a failed
// sign-in is worth recording; unchecked, both let anyone spend the hub's
// processors and grow its permanent audit log, one cheap request at a time.
// Package server (reporters at the intake, auditors' tokens) and package
// api (people and their API tokens) hold guesses back the same way:
//
//   - [Guard]: token buckets per client address (an IPv6 /64 counts as one
//     address) and, where the lock of an account lives in memory, per
//     account name, with a temporary lock after repeated failures;
//   - [HashGate]: a bound on the password hashes computed at once and on
//     the sign-ins waiting for one, so that guesses queue behind each
//     other instead of piling up goroutines and connections;
//   - [Failures]: failed sign-ins gathered into bursts, one audit event per
//     burst and window, instead of one per failure.
//
// Memory is bounded whatever the attack: every map is an [LRU] or holds at
// most a fixed number of entries, so inventing names and addresses cannot
// grow the hub. Forgetting an entry at worst lifts its limit early; the hash
// bound still holds then. How a refusal is answered (status, message, the
// actor of the audit event) stays with the caller.
package throttle

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds on a Guard's memory.
const (
	MaxAddrs = 10000 // addresses (IPv6 /64s) tracked
	MaxNames = 10000 // account names tracked
)

// Limits configure a Guard. A zero interval means no limit; a zero
// LockAfter never locks.
type Limits struct {
	AddrInterval time.Duration // an address gets a token per interval
	AddrBurst    int           // and holds at most this many
	NameInterval time.Duration // likewise per account name
	NameBurst    int
	LockAfter    int           // failures in a row that lock a name
	LockFor      time.Duration // for this long, lifted by time alone
}

// Guard keeps the per-address and per-name state of sign-ins. It is safe
// for concurrent use.
type Guard struct {
	// Now is the wall clock, not the hub's: the limits protect real
	// processor time. Tests may set it before the guard is used.
	Now func() time.Time

	mu     sync.Mutex
	limits Limits
	addrs  *LRU[netip.Prefix, *rate.Limiter]
	names  *LRU[Name, *nameState]
}

// Name is the key of an account name: a hash, so that every name takes the
// same memory however long, and a password typed into the name field is
// not kept.
type Name [32]byte

// NameOf returns the key of an account name.
func NameOf(name string) Name { return sha256.Sum256([]byte(name)) }

// nameState is what the guard knows of one account name.
type nameState struct {
	lim         *rate.Limiter
	failures    int       // in a row
	lockedUntil time.Time // zero when not locked
}

// locked reports whether the name is locked at now. A lock that is over
// is lifted, and the run of failures that made it ends with it.
func (st *nameState) locked(now time.Time) bool {
	if st.lockedUntil.IsZero() {
		return false
	}
	if now.Before(st.lockedUntil) {
		return true
	}
	st.lockedUntil, st.failures = time.Time{}, 0
	return false
}

// NewGuard returns a guard with full buckets.
func NewGuard(l Limits) *Guard {
	return &Guard{
		Now:    time.Now,
		limits: l,
		addrs:  NewLRU[netip.Prefix, *rate.Limiter](MaxAddrs),
		names:  NewLRU[Name, *nameState](MaxNames),
	}
}

// AddrKey is the unit that per-address limits count: the address, or for
// IPv6 its /64, since one subscriber commonly holds a whole /64. Whatever
// is not an address shares one bucket.
func AddrKey(addr string) netip.Prefix {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// newLimiter returns a full bucket of burst tokens refilled one per every;
// a zero interval means no limit.
func newLimiter(every time.Duration, burst int) *rate.Limiter {
	if every <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Every(every), max(burst, 1))
}

func (g *Guard) addr(addr string) *rate.Limiter {
	k := AddrKey(addr)
	l, ok := g.addrs.Get(k)
	if !ok {
		l = newLimiter(g.limits.AddrInterval, g.limits.AddrBurst)
		g.addrs.Put(k, l)
	}
	return l
}

func (g *Guard) name(k Name) *nameState {
	st, ok := g.names.Get(k)
	if !ok {
		st = &nameState{lim: newLimiter(g.limits.NameInterval, g.limits.NameBurst)}
		g.names.Put(k, st)
	}
	return st
}

// Allow decides whether a sign-in that needs a password hash may go on,
// and takes a token from the address's and the name's bucket if so. It
// returns zero if the sign-in may go on; else how long to wait, and
// whether that is because the name is locked rather than out of tokens.
func (g *Guard) Allow(addr string, name Name) (wait time.Duration, locked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	st := g.name(name)
	if st.locked(now) {
		return st.lockedUntil.Sub(now), true
	}
	return take(now, g.addr(addr), st.lim), false
}

// AllowAddr is Allow for callers that keep no names here (their accounts'
// locks are kept elsewhere): it takes a token from addr's bucket, or
// returns how long to wait for one.
func (g *Guard) AllowAddr(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return take(g.Now(), g.addr(addr))
}

// take takes a token from every bucket if each has one, or returns how long
// until all of them do. Checking all before taking any means that a
// refusal costs no token.
func take(now time.Time, buckets ...*rate.Limiter) time.Duration {
	var wait time.Duration
	for _, l := range buckets {
		wait = max(wait, tokenWait(l, now))
	}
	if wait > 0 {
		return wait
	}
	for _, l := range buckets {
		l.AllowN(now, 1)
	}
	return 0
}

// tokenWait is how long until l has a whole token.
func tokenWait(l *rate.Limiter, now time.Time) time.Duration {
	if l.Limit() == rate.Inf {
		return 0
	}
	missing := 1 - l.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.Limit()) * float64(time.Second))
}

// Failed counts a failed password check for name, and reports whether it
// locked the name: true once per lock, so that a lock is recorded once.
func (g *Guard) Failed(name Name) (locked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	st := g.name(name)
	if st.locked(now) {
		return false // locked already, and recorded
	}
	st.failures++
	if g.limits.LockAfter <= 0 || st.failures < g.limits.LockAfter {
		return false
	}
	st.lockedUntil = now.Add(g.limits.LockFor)
	return true
}

// Succeeded ends a name's run of failures.
func (g *Guard) Succeeded(name Name) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st, ok := g.names.Get(name); ok {
		st.failures = 0
	}
}

// AddrBlocked reports how long addr must wait before its next failure may
// be tried, without taking a token. Bearer tokens are checked by a cheap
// lookup, so only their failures take tokens (AddrFailed): callers that
// make many requests with a good token are never throttled.
func (g *Guard) AddrBlocked(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return tokenWait(g.addr(addr), g.Now())
}

// AddrFailed takes a token from addr's bucket for a failed bearer token.
func (g *Guard) AddrFailed(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addr(addr).AllowN(g.Now(), 1)
}
