package throttle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
)

// Failed sign-ins are counted, not logged one by one. The audit log is
// permanent and append-only, so an event per failure would let a stranger
// grow it without bound. Failures are gathered into bursts, one per key
// (the caller's: action, reason, name label, address), and each burst
// becomes one audit event when the caller flushes at the end of its window:
//
//	category    authentication; outcome failure
//	objectKind  "sign-in failures" (ObjectKind)
//	objectId    "count=N first=T last=T" (RFC 3339, the hub's clock)
//	requestId   of the last failure, to find it in the access log
//
// At most MaxBursts bursts are kept per window; failures beyond them are
// counted under the caller's overflow key, which drops the name and the
// address. So each window adds a bounded number of events whatever the
// attack.

const (
	// MaxBursts bounds the bursts, and so the audit events, of a window.
	MaxBursts = 100
	// ObjectKind marks the audit events that count failures.
	ObjectKind = "sign-in failures"
)

// Burst is the failures of one key in a window.
type Burst struct {
	First, Last time.Time
	Count       int
	RequestID   string // of the last failure
}

// Failures gathers failed sign-ins into bursts until they are flushed. It
// is safe for concurrent use.
type Failures[K comparable] struct {
	mu       sync.Mutex
	bursts   map[K]*Burst
	overflow func(K) K
	// labelKey keys the hash that stands for names nobody has. It is
	// random per process: the same unknown name gets the same label
	// within a run, enough to see one name tried many times, while the
	// label cannot be reversed by hashing guesses.
	labelKey [32]byte
}

// NewFailures returns an empty log. overflow gives the key a failure is
// counted under once a window holds MaxBursts bursts: the same action and
// reason, without name or address.
func NewFailures[K comparable](overflow func(K) K) *Failures[K] {
	l := &Failures[K]{bursts: make(map[K]*Burst), overflow: overflow}
	_, _ = rand.Read(l.labelKey[:]) // never fails on supported platforms
	return l
}

// Add counts one failure at now under k.
func (l *Failures[K]) Add(now time.Time, k K, requestID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bursts[k]
	if b == nil && len(l.bursts) >= MaxBursts {
		k = l.overflow(k)
		b = l.bursts[k]
	}
	if b == nil {
		b = &Burst{First: now}
		l.bursts[k] = b
	}
	b.Count++
	b.Last = now
	b.RequestID = requestID
}

// Label stands for a presented name that is not known to be an account's
// ("" for none): never the name itself, which may be a password typed
// into the wrong field.
func (l *Failures[K]) Label(name string) string {
	if name == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.labelKey[:])
	m.Write([]byte(name))
	return "unknown-" + hex.EncodeToString(m.Sum(nil)[:8])
}

// Take removes and returns the bursts gathered so far.
func (l *Failures[K]) Take() map[K]*Burst {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.bursts
	l.bursts = make(map[K]*Burst)
	return bs
}

// Event returns the audit event that records b, failures of action by
// actor from addr.
func (b *Burst) Event(actor guardian.Actor, action, reason, addr string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:      actor,
		Category:   guardian.CategoryAuthentication,
		Action:     action,
		Outcome:    guardian.OutcomeFailure,
		Reason:     reason,
		ObjectKind: ObjectKind,
		ObjectID:   "count=" + strconv.Itoa(b.Count) + " first=" + b.First.UTC().Format(time.RFC3339) + " last=" + b.Last.UTC().Format(time.RFC3339),
		RequestID:  b.RequestID,
		ClientAddr: addr,
	}
}

// AuditAppender is the part of guardian.Store that Flush needs.
type AuditAppender interface {
	AppendAuditEvent(ctx context.Context, ev *guardian.AuditEvent) error
}

// Flush records the bursts gathered so far, one audit event each, as
// event makes it. A store error is logged: the failures were answered
// already, and the next window goes on counting.
func (l *Failures[K]) Flush(ctx context.Context, store AuditAppender, logger *slog.Logger, event func(K, *Burst) *guardian.AuditEvent) {
	for k, b := range l.Take() {
		ev := event(k, b)
		if err := store.AppendAuditEvent(ctx, ev); err != nil {
			logger.ErrorContext(ctx, "cannot record failed sign-ins", slog.String("action", ev.Action), slog.Int("count", b.Count), slog.Any("error", err))
		}
	}
}
