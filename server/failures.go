package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/guardian-network/guardian"
)

// Failed sign-ins are counted, not logged one by one. The audit log is
// permanent and append-only, so an event per failure would let a stranger
// grow it without bound, one cheap request at a time. Instead failures are
// gathered into bursts, one per action, reason, account name and client
// address, and each burst becomes one audit event when its window ends
// (every FailureWindow) or the server closes:
//
//	action      intake.authenticate or audit.authenticate, as before
//	outcome     failure; reason: the response code (2000), 429, or the
//	            token failure ("unknown token", "role")
//	actor.name  the name presented if a reporter has it; else "unknown-"
//	            and a keyed hash of it, so that a password typed into the
//	            user-name field never reaches the log; empty if none
//	objectKind  "sign-in failures"
//	objectId    "count=N first=T last=T" (RFC 3339, the hub's clock)
//	clientAddr  the address the failures came from
//	requestId   of the last failure, to find it in the access log
//
// At most maxFailureBursts bursts are kept per window; failures beyond them
// are counted in one burst per action and reason without name or address.
// So each window adds a bounded number of events whatever the attack.

// maxFailureBursts bounds the bursts, and so the audit events, of a window.
const maxFailureBursts = 100

// failureObjectKind marks the audit events that count failures.
const failureObjectKind = "sign-in failures"

type burstKey struct {
	action, reason string
	addr           string
	// name is the presented name while it may be a reporter's, to be
	// looked up when the burst is recorded; else already its label.
	name      string
	maybeReal bool
	overflow  bool
}

type burst struct {
	kind        guardian.ActorKind
	first, last time.Time
	count       int
	requestID   string
}

// failureLog gathers failed sign-ins into bursts until they are recorded.
type failureLog struct {
	mu     sync.Mutex
	bursts map[burstKey]*burst
	// labelKey keys the hash that stands for names nobody has. It is
	// random per process: the same unknown name gets the same label
	// within a run, enough to see one name tried many times, while the
	// label cannot be reversed by hashing guesses.
	labelKey [32]byte
}

func newFailureLog() *failureLog {
	l := &failureLog{bursts: make(map[burstKey]*burst)}
	_, _ = rand.Read(l.labelKey[:]) // never fails on supported platforms
	return l
}

// add counts one failure.
func (l *failureLog) add(now time.Time, action, reason string, kind guardian.ActorKind, name, addr, requestID string) {
	k := burstKey{action: action, reason: reason, addr: addr}
	if couldBeReporterName(name) {
		k.name, k.maybeReal = name, true
	} else if name != "" {
		k.name = l.label(name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bursts[k]
	if b == nil && len(l.bursts) >= maxFailureBursts {
		k = burstKey{action: action, reason: reason, overflow: true}
		b = l.bursts[k]
	}
	if b == nil {
		b = &burst{kind: kind, first: now}
		l.bursts[k] = b
	}
	b.count++
	b.last = now
	b.requestID = requestID
}

// label stands for a name that no reporter has.
func (l *failureLog) label(name string) string {
	m := hmac.New(sha256.New, l.labelKey[:])
	m.Write([]byte(name))
	return "unknown-" + hex.EncodeToString(m.Sum(nil)[:8])
}

// take removes and returns the bursts gathered so far.
func (l *failureLog) take() map[burstKey]*burst {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.bursts
	l.bursts = make(map[burstKey]*burst)
	return bs
}

// couldBeReporterName reports whether name passes the rules for reporter
// names (1 to 64 characters, no ':', spaces or control characters), so
// that it is worth looking up; anything else is hashed at once.
func couldBeReporterName(name string) bool {
	return name != "" && len(name) <= 64 && !strings.ContainsFunc(name, func(r rune) bool {
		return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	})
}

// countFailure counts a failed sign-in of the current request.
func (s *Server) countFailure(ctx context.Context, action, reason string, kind guardian.ActorKind, name string) {
	ri := requestInfoFrom(ctx)
	s.failures.add(s.Now(), action, reason, kind, name, ri.clientAddr, ri.id)
}

// flushFailures records the bursts gathered so far, one audit event each.
// A store error is logged: the failures were answered already, and the
// next window goes on counting.
func (s *Server) flushFailures(ctx context.Context) {
	for k, b := range s.failures.take() {
		ev := &guardian.AuditEvent{
			Actor:      guardian.Actor{Kind: b.kind, Name: k.name},
			Category:   guardian.CategoryAuthentication,
			Action:     k.action,
			Outcome:    guardian.OutcomeFailure,
			Reason:     k.reason,
			ObjectKind: failureObjectKind,
			ObjectID:   "count=" + strconv.Itoa(b.count) + " first=" + b.first.UTC().Format(time.RFC3339) + " last=" + b.last.UTC().Format(time.RFC3339),
			RequestID:  b.requestID,
			ClientAddr: k.addr,
		}
		if k.overflow {
			ev.Actor.Name = "(more names and addresses)"
		} else if k.maybeReal {
			ev.Actor.ID, ev.Actor.Name = s.reporterLabel(ctx, k.name)
		}
		if err := s.Store.AppendAuditEvent(ctx, ev); err != nil {
			s.Logger.ErrorContext(ctx, "cannot record failed sign-ins", slog.String("action", k.action), slog.Int("count", b.count), slog.Any(attrError, err))
		}
	}
}

// reporterLabel is how a presented name is recorded: the reporter's id and
// name if there is one, else the label of an unknown name.
func (s *Server) reporterLabel(ctx context.Context, name string) (id, label string) {
	rep, err := s.Store.FindReporterByName(ctx, name)
	if err != nil {
		// Not found, or the store failed: either way the name is not
		// known to be a reporter's, so it must not be kept verbatim.
		return "", s.failures.label(name)
	}
	return strconv.FormatInt(rep.ID, 10), rep.Name
}

// runFailureFlusher records the bursts at the end of every window until
// the server closes; Close records the last ones.
func (s *Server) runFailureFlusher() {
	t := time.NewTicker(s.FailureWindow)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.flushFailures(context.Background())
		}
	}
}
