package throttle

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// ErrQueueFull turns a sign-in away at once when the hash queue is full.
// Callers answer it in their own form: the hub is busy, retry later.
var ErrQueueFull = errors.New("throttle: too many sign-ins waiting for a password hash")

// HashGate bounds the password hashes computed at once. Waiters queue in
// two lines: credentials that verified before go first, everything else
// after them in arrival order, and that second line is bounded, so that a
// flood of guesses queues behind itself and is turned away beyond the
// bound instead of piling up goroutines and connections.
type HashGate struct {
	mu         sync.Mutex
	free       int
	maxWaiters int
	first      list.List // of chan struct{}: known credentials
	rest       list.List // of chan struct{}: everything else
}

// NewHashGate returns a gate of n slots (at least one) with at most
// maxWaiters sign-ins of unknown credentials waiting.
func NewHashGate(n, maxWaiters int) *HashGate {
	return &HashGate{free: max(n, 1), maxWaiters: maxWaiters}
}

// Acquire waits for a hash slot, in the first line if known. It returns
// ErrQueueFull at once if the other line is full, or ctx's error if ctx
// ends first. A nil error must be followed by Release.
func (h *HashGate) Acquire(ctx context.Context, known bool) error {
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
		return ErrQueueFull
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
			h.Release()
		default:
			line.Remove(e)
			h.mu.Unlock()
		}
		return ctx.Err()
	}
}

// Release hands the slot to the next waiter, known credentials first.
func (h *HashGate) Release() {
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
