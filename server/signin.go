package server

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/guardian-network/guardian"
)

// Failed sign-ins must cost the one who fails, not the hub. A password check
// is deliberately slow (PBKDF2, about 20 ms of a core), so without
// limits a stranger guessing passwords spends the hub's CPU and, while his
// requests wait, the slots that reporters need. Three things stand in the
// way, all before any hash is computed:
//
//   - token buckets per client address and per account name
//     ([signInGuard]): a sign-in that needs a hash takes a token from both,
//     and one that finds either empty is answered 429 with Retry-After;
//   - a temporary lock of an account name after LockAfter failures in a
//     row, lifted by time alone;
//   - a bound on concurrent hashes ([hashGate]), with a bounded queue, so
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

// Bounds on the sign-in guard's memory.
const (
	maxTrackedAddrs = 10000
	maxTrackedNames = 10000
)

// signInGuard keeps the per-address and per-name state of sign-ins.
type signInGuard struct {
	mu sync.Mutex
	// now is the wall clock, not the hub's: the limits protect real
	// processor time.
	now   func() time.Time
	addrs *lru[netip.Prefix, *rate.Limiter]
	names *lru[[32]byte, *nameState]

	addrEvery, nameEvery time.Duration
	addrBurst, nameBurst int
	lockAfter            int
	lockFor              time.Duration
}

// nameState is what the guard knows of one account name.
type nameState struct {
	lim         *rate.Limiter
	failures    int       // in a row
	lockedUntil time.Time // zero when not locked
}

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
	s.guard = &signInGuard{
		now:       time.Now,
		addrs:     newLRU[netip.Prefix, *rate.Limiter](maxTrackedAddrs),
		names:     newLRU[[32]byte, *nameState](maxTrackedNames),
		addrEvery: s.SignInAddrInterval,
		addrBurst: s.SignInAddrBurst,
		nameEvery: s.SignInNameInterval,
		nameBurst: s.SignInNameBurst,
		lockAfter: s.LockAfter,
		lockFor:   s.LockDuration,
	}
	s.hashes = newHashGate(s.MaxConcurrentHashes, s.MaxHashWaiters)
}

// addrKey is the unit that per-address limits count: the address, or for
// IPv6 its /64, since one subscriber commonly holds a whole /64.
func addrKey(addr string) netip.Prefix {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{} // one bucket for whatever is not an address
	}
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

func nameKey(name string) [32]byte { return sha256.Sum256([]byte(name)) }

// newLimiter returns a full bucket of burst tokens refilled one per every;
// a zero interval means no limit.
func newLimiter(every time.Duration, burst int) *rate.Limiter {
	if every <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Every(every), max(burst, 1))
}

func (g *signInGuard) addr(k netip.Prefix) *rate.Limiter {
	l, ok := g.addrs.get(k)
	if !ok {
		l = newLimiter(g.addrEvery, g.addrBurst)
		g.addrs.put(k, l)
	}
	return l
}

func (g *signInGuard) name(k [32]byte) *nameState {
	st, ok := g.names.get(k)
	if !ok {
		st = &nameState{lim: newLimiter(g.nameEvery, g.nameBurst)}
		g.names.put(k, st)
	}
	return st
}

// allow decides whether a sign-in that needs a password hash may go on, and
// takes a token from the address's and the name's bucket if so. Both are
// checked before either is taken, so that a refusal costs no token.
func (g *signInGuard) allow(addr string, name [32]byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	st := g.name(name)
	if !st.lockedUntil.IsZero() {
		if now.Before(st.lockedUntil) {
			return &throttledError{wait: st.lockedUntil.Sub(now), locked: true}
		}
		st.lockedUntil, st.failures = time.Time{}, 0
	}
	al := g.addr(addrKey(addr))
	if wait := max(tokenWait(al, now), tokenWait(st.lim, now)); wait > 0 {
		return &throttledError{wait: wait}
	}
	al.AllowN(now, 1)
	st.lim.AllowN(now, 1)
	return nil
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

// failed counts a failed password check for name, and reports whether it
// locked the name: true once per lock, so that a lock is recorded once.
func (g *signInGuard) failed(name [32]byte) (locked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	st := g.name(name)
	if !st.lockedUntil.IsZero() {
		if now.Before(st.lockedUntil) {
			return false // locked already, and recorded
		}
		st.lockedUntil, st.failures = time.Time{}, 0
	}
	st.failures++
	if g.lockAfter <= 0 || st.failures < g.lockAfter {
		return false
	}
	st.lockedUntil = now.Add(g.lockFor)
	return true
}

// succeeded ends a name's run of failures.
func (g *signInGuard) succeeded(name [32]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st, ok := g.names.get(name); ok {
		st.failures = 0
	}
}

// addrBlocked reports how long addr must wait before its next failure may
// be tried, without taking a token: for bearer tokens, which are checked by
// a cheap lookup, only failures take tokens (addrFailed), so that auditors
// fetching many tiles are never throttled.
func (g *signInGuard) addrBlocked(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	return tokenWait(g.addr(addrKey(addr)), now)
}

func (g *signInGuard) addrFailed(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.addr(addrKey(addr)).AllowN(now, 1)
}

// hashGate bounds the password hashes computed at once. Waiters queue in
// two lines: credentials that verified before go first, everything else
// after them in arrival order, and that second line is bounded, so that a
// flood of guesses queues behind itself and is turned away beyond the
// bound instead of piling up goroutines and connections.
type hashGate struct {
	mu         sync.Mutex
	free       int
	maxWaiters int
	first      list.List // of chan struct{}: known credentials
	rest       list.List // of chan struct{}: everything else
}

// errHashQueueFull turns a sign-in away when the hash queue is full.
var errHashQueueFull = guardian.Errorf(guardian.EUNAVAILABLE, "Too many sign-ins at once; retry later.")

func newHashGate(n, maxWaiters int) *hashGate {
	return &hashGate{free: max(n, 1), maxWaiters: maxWaiters}
}

// acquire waits for a hash slot, in the first line if known. It returns
// errHashQueueFull at once if the other line is full, or ctx's error if ctx
// ends first.
func (h *hashGate) acquire(ctx context.Context, known bool) error {
	h.mu.Lock()
	if h.free > 0 && h.first.Len() == 0 && h.rest.Len() == 0 {
		h.free--
		h.mu.Unlock()
		return nil
	}
	line := &h.rest
	if known {
		line = &h.first
	} else if h.rest.Len() >= h.maxWaiters {
		h.mu.Unlock()
		return errHashQueueFull
	}
	ch := make(chan struct{})
	e := line.PushBack(ch)
	h.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		select {
		case <-ch: // granted meanwhile: hand it on
			h.mu.Unlock()
			h.release()
		default:
			line.Remove(e)
			h.mu.Unlock()
		}
		return ctx.Err()
	}
}

// release hands the slot to the next waiter, known credentials first.
func (h *hashGate) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, line := range []*list.List{&h.first, &h.rest} {
		if e := line.Front(); e != nil {
			line.Remove(e)
			close(e.Value.(chan struct{}))
			return
		}
	}
	h.free++
}

// lru is a map bounded to max entries that evicts the least recently used.
// Not safe for concurrent use.
type lru[K comparable, V any] struct {
	max   int
	order list.List // of *lruEntry[K, V], most recent first
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*list.Element)}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).val, true
}

func (c *lru[K, V]) put(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v})
}

func (c *lru[K, V]) len() int { return c.order.Len() }

// asThrottled returns the throttledError in err's chain, if any.
func asThrottled(err error) (*throttledError, bool) {
	var te *throttledError
	ok := errors.As(err, &te)
	return te, ok
}
