package api

import (
	"container/list"
	"context"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/guardian-network/guardian"
)

// Sign-in throttling. A person's account locks after identity.Lockout's
// failures in a row (kept in the store, so it holds across hub processes),
// but that lock is per account; a stranger trying many names from one
// address, or guessing API tokens, is held back here, per address and in
// memory, before any password is hashed. The state is bounded: the least
// recently seen addresses are forgotten beyond maxTrackedAddrs, which lifts
// their limit early and never grows memory. It follows package server's
// signInGuard and hashGate (server/signin.go), with only what people need.

const maxTrackedAddrs = 10000

// addrGuard holds a token bucket per client address (an IPv6 /64).
type addrGuard struct {
	mu    sync.Mutex
	now   func() time.Time // the wall clock: the limit protects real CPU time
	addrs *lru[netip.Prefix, *rate.Limiter]
	every time.Duration
	burst int
}

func newAddrGuard(every time.Duration, burst int) *addrGuard {
	return &addrGuard{now: time.Now, addrs: newLRU[netip.Prefix, *rate.Limiter](maxTrackedAddrs), every: every, burst: burst}
}

// addrKey is the unit counted: the address, or its /64 for IPv6, which one
// subscriber commonly holds whole.
func addrKey(addr string) netip.Prefix {
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

func (g *addrGuard) limiter(addr string) *rate.Limiter {
	k := addrKey(addr)
	l, ok := g.addrs.get(k)
	if !ok {
		l = rate.NewLimiter(rate.Every(g.every), max(g.burst, 1))
		g.addrs.put(k, l)
	}
	return l
}

// take takes a token for one sign-in attempt from addr's bucket, or
// returns how long to wait for one.
func (g *addrGuard) take(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	l := g.limiter(addr)
	if wait := tokenWait(l, now); wait > 0 {
		return wait
	}
	l.AllowN(now, 1)
	return 0
}

// blocked returns how long addr must wait before it may fail again,
// without taking a token: bearer credentials are a cheap lookup, so only
// failures take tokens (failed).
func (g *addrGuard) blocked(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return tokenWait(g.limiter(addr), g.now())
}

func (g *addrGuard) failed(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limiter(addr).AllowN(g.now(), 1)
}

func tokenWait(l *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - l.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.Limit()) * float64(time.Second))
}

func throttled(wait time.Duration) error {
	return &apiError{status: http.StatusTooManyRequests, code: guardian.EUNAVAILABLE, reason: "throttled",
		msg: "Too many sign-in attempts from your address; retry later.", retryAfter: wait}
}

// hashGate bounds the password hashes computed at once (argon2id takes a
// core and 19 MiB each) and the sign-ins waiting for one.
type hashGate struct {
	slots   chan struct{}
	mu      sync.Mutex
	waiting int
	max     int
}

func newHashGate(n, maxWaiters int) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(n, 1)), max: maxWaiters}
}

func (g *hashGate) acquire(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	g.mu.Lock()
	if g.waiting >= g.max {
		g.mu.Unlock()
		return errBusy
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *hashGate) release() { <-g.slots }

// touchCache remembers when this process last recorded each token's use,
// so that concurrent first requests of an hour record it once.
type touchCache struct {
	mu sync.Mutex
	at map[int64]time.Time
}

// due reports whether the token's use should be recorded now, and if so
// marks it recorded. The store's LastUsedAt counts for uses recorded by
// other processes. Entries older than TokenTouchEvery are dropped as it
// goes, so the map holds at most the tokens used within the hour.
func (t *touchCache) due(id int64, lastUsed *time.Time, now time.Time) bool {
	if lastUsed != nil && now.Sub(*lastUsed) < TokenTouchEvery {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.at[id]; ok && now.Sub(at) < TokenTouchEvery {
		return false
	}
	if len(t.at) > 1000 {
		for k, at := range t.at {
			if now.Sub(at) >= TokenTouchEvery {
				delete(t.at, k)
			}
		}
	}
	t.at[id] = now
	return true
}

// lru is a map bounded to max entries that evicts the least recently used.
// Not safe for concurrent use.
type lru[K comparable, V any] struct {
	max   int
	order list.List
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
