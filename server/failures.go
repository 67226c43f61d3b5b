package server

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/throttle"
)

// Failed sign-ins are counted, not logged one by one (package throttle
// says why): failures are gathered into bursts, one per action, reason,
// account name and client address, and each burst becomes one audit event
// when its window ends (every FailureWindow) or the server closes:
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
// At most throttle.MaxBursts bursts are kept per window; failures beyond
// them are counted in one burst per action and reason without name or
// address. So each window adds a bounded number of events whatever the
// attack.

type burstKey struct {
	kind           guardian.ActorKind
	action, reason string
	addr           string
	// name is the presented name while it may be a reporter's, to be
	// looked up when the burst is recorded; else already its label.
	name      string
	maybeReal bool
	overflow  bool
}

// failureLog gathers failed sign-ins into bursts until they are recorded.
type failureLog = throttle.Failures[burstKey]

func newFailureLog() *failureLog {
	return throttle.NewFailures(func(k burstKey) burstKey {
		return burstKey{kind: k.kind, action: k.action, reason: k.reason, overflow: true}
	})
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
	k := burstKey{kind: kind, action: action, reason: reason, addr: ri.clientAddr}
	if couldBeReporterName(name) {
		k.name, k.maybeReal = name, true
	} else {
		k.name = s.failures.Label(name)
	}
	s.failures.Add(s.Now(), k, ri.id)
}

// flushFailures records the bursts gathered so far, one audit event each.
func (s *Server) flushFailures(ctx context.Context) {
	s.failures.Flush(ctx, s.Store, s.Logger, func(k burstKey, b *throttle.Burst) *guardian.AuditEvent {
		actor := guardian.Actor{Kind: k.kind, Name: k.name}
		if k.overflow {
			actor.Name = "(more names and addresses)"
		} else if k.maybeReal {
			actor.ID, actor.Name = s.reporterLabel(ctx, k.name)
		}
		return b.Event(actor, k.action, k.reason, k.addr)
	})
}

// reporterLabel is how a presented name is recorded: the reporter's id and
// name if there is one, else the label of an unknown name.
func (s *Server) reporterLabel(ctx context.Context, name string) (id, label string) {
	rep, err := s.Store.FindReporterByName(ctx, name)
	if err != nil {
		// Not found, or the store failed: either way the name is not
		// known to be a reporter's, so it must not be kept verbatim.
		return "", s.failures.Label(name)
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
