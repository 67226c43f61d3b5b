package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/throttle"
)

// Sign-in throttling, with package throttle as package server does. A
// person's account locks after identity.Lockout's failures in a row (kept
// in the store, so it holds across hub processes), but that lock is per
// account; a stranger trying many names from one address, or guessing API
// tokens, is held back here, per address and in memory, before any
// password is hashed. So the guard keeps addresses only, and no names.

type (
	addrGuard = throttle.Guard
	hashGate  = throttle.HashGate
)

func newAddrGuard(every time.Duration, burst int) *addrGuard {
	return throttle.NewGuard(throttle.Limits{AddrInterval: every, AddrBurst: burst})
}

// newHashGate bounds the password hashes computed at once (argon2id takes
// a core and 19 MiB each) and the sign-ins waiting for one.
func newHashGate(n, maxWaiters int) *hashGate { return throttle.NewHashGate(n, maxWaiters) }

func throttled(wait time.Duration) error {
	return &apiError{status: http.StatusTooManyRequests, code: guardian.EUNAVAILABLE, reason: "throttled",
		msg: "Too many sign-in attempts from your address; retry later.", retryAfter: wait}
}

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
