package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
)

// authCacheTTL bounds how long a verified credential is trusted without
// checking the store again. Password hashing is deliberately slow, and
// CyberTipline clients send Basic credentials on every request, so without a
// cache every request would pay for a hash. A disabled reporter or a changed
// password therefore takes effect within this time.
const authCacheTTL = 5 * time.Minute

// authCacheMax bounds the cache's memory; when full it is cleared.
const authCacheMax = 10000

// knownTTL is how long credentials that verified once count as known: they
// are checked again after authCacheTTL like any others, but pass the
// sign-in throttles and go first in the hash queue (see signin.go). A week,
// so that a reporter that sends once a day keeps its place.
const knownTTL = 7 * 24 * time.Hour

// authCache remembers credentials that verified recently, keyed by a SHA-256
// of name and password so that no password is kept in memory. Requests that
// present the same credentials while they are being verified wait for that
// verification instead of hashing the password again: a client that opens
// many connections at once (as clients do after a restart) would otherwise
// cost one slow hash per connection.
type authCache struct {
	mu       sync.Mutex
	now      guardian.Clock
	entries  map[[32]byte]authEntry
	inFlight map[[32]byte]*authCall
	// known holds, until when, the keys of credentials that verified;
	// only verification adds to it, so only real credentials are in it.
	known map[[32]byte]time.Time
}

// authCall is a verification in progress.
type authCall struct {
	done     chan struct{} // closed once reporter and err are set
	reporter *guardian.Reporter
	err      error
}

type authEntry struct {
	reporter *guardian.Reporter
	expires  time.Time
}

func (c *authCache) init(now guardian.Clock) {
	c.now = now
	c.entries = make(map[[32]byte]authEntry)
	c.inFlight = make(map[[32]byte]*authCall)
	c.known = make(map[[32]byte]time.Time)
}

// isKnown reports whether the credentials of key k verified within knownTTL.
func (c *authCache) isKnown(k [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.known[k]
	return ok && c.now().Before(until)
}

// verify returns the reporter whose credentials have the key k: from the
// cache, or else from verify, run once for all the requests that present
// them while it runs. A success is cached. A request that stops waiting
// because ctx is done gets ctx's error.
func (c *authCache) verify(ctx context.Context, k [32]byte, verify func() (*guardian.Reporter, error)) (*guardian.Reporter, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		if !c.now().After(e.expires) {
			c.mu.Unlock()
			return e.reporter, nil
		}
		delete(c.entries, k)
	}
	if call := c.inFlight[k]; call != nil {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.reporter, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// If verify panics, the waiters get errVerifyAborted rather than wait on.
	call := &authCall{done: make(chan struct{}), err: errVerifyAborted}
	c.inFlight[k] = call
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inFlight, k)
		switch guardian.ErrorCode(call.err) {
		case "":
			if len(c.entries) >= authCacheMax {
				clear(c.entries)
			}
			c.entries[k] = authEntry{reporter: call.reporter, expires: c.now().Add(authCacheTTL)}
			if len(c.known) >= authCacheMax {
				clear(c.known)
			}
			c.known[k] = c.now().Add(knownTTL)
		case guardian.EUNAUTHORIZED:
			// A changed password or a disabled reporter: no longer known.
			delete(c.known, k)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.reporter, call.err = verify()
	return call.reporter, call.err
}

var errVerifyAborted = errors.New("verification of the credentials did not complete")

func credentialKey(name, password string) [32]byte {
	h := sha256.New()
	h.Write([]byte(strconv.Itoa(len(name))))
	h.Write([]byte{0})
	h.Write([]byte(name))
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// authenticate requires HTTP Basic credentials of an enabled reporter on
// every intake route. Clients send them pre-emptively. A failure answers
// 401 with a challenge and an XML body (code 2000), a throttled sign-in 429
// with Retry-After, and both are counted in the failed sign-ins (see
// failures.go). A request that fails to sign in holds no request slot.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := requestInfoFrom(r.Context())
		name, password, ok := r.BasicAuth() // splits at the first colon
		var err error = guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required")
		if ok {
			k := credentialKey(name, password)
			// The verification may be shared with other requests, so it
			// must not end with this one.
			ctx := context.WithoutCancel(r.Context())
			var rep *guardian.Reporter
			rep, err = s.auth.verify(r.Context(), k, func() (*guardian.Reporter, error) {
				return s.signIn(ctx, ri.clientAddr, name, password, k)
			})
			if err == nil {
				ri.reporter = rep
				next.ServeHTTP(w, r)
				return
			}
		}
		if te, ok := asThrottled(err); ok {
			s.countFailure(r.Context(), "intake.authenticate", "429", guardian.ActorReporter, name)
			w.Header().Set("Retry-After", retryAfter(te.wait))
			s.logError(r, err)
			s.writeResponse(w, r, http.StatusTooManyRequests, guardian.Errorf(guardian.EUNAVAILABLE, "%s", capitalize(te.Error())+"."), 0, "", "")
			return
		}
		switch guardian.ErrorCode(err) {
		case guardian.EUNAUTHORIZED:
			s.countFailure(r.Context(), "intake.authenticate", "2000", guardian.ActorReporter, name)
			w.Header().Set("WWW-Authenticate", `Basic realm="ESP Web Services", charset="UTF-8"`)
			s.writeResponse(w, r, http.StatusUnauthorized, err, 0, "", "")
		case guardian.EUNAVAILABLE:
			s.logError(r, err)
			s.busy(w, r, err)
		default:
			s.fail(w, r, "intake.authenticate", guardian.CategoryAuthentication, err)
		}
	})
}

// signIn checks credentials that are not in the cache: throttled first,
// unless they verified before, then verified against the store.
func (s *Server) signIn(ctx context.Context, addr, name, password string, k [32]byte) (*guardian.Reporter, error) {
	known := s.auth.isKnown(k)
	nk := nameKey(name)
	if !known {
		if err := s.guard.allow(addr, nk); err != nil {
			return nil, err
		}
	}
	rep, err := s.verifyReporter(ctx, name, password, known)
	switch guardian.ErrorCode(err) {
	case "":
		s.guard.succeeded(nk)
	case guardian.EUNAUTHORIZED:
		if s.guard.failed(nk) {
			s.recordLock(ctx, name)
		}
	}
	return rep, err
}

// recordLock records, once per lock, that a reporter's account name was
// locked after repeated failures. Names nobody has are locked alike, so
// that the answers do not tell which names exist, but their locks are not
// recorded: the failed sign-ins are, and a lock of nothing is not an event.
func (s *Server) recordLock(ctx context.Context, name string) {
	rep, err := s.Store.FindReporterByName(ctx, name)
	if err != nil {
		return
	}
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorSystem},
		Category:   guardian.CategoryAuthentication,
		Action:     "intake.lock",
		ObjectKind: "reporter",
		ObjectID:   strconv.FormatInt(rep.ID, 10),
		Outcome:    guardian.OutcomeSuccess,
		Reason:     "locked for " + s.LockDuration.String(),
		ClientAddr: requestInfoFrom(ctx).clientAddr,
		RequestID:  requestInfoFrom(ctx).id,
	}
	if err := s.Store.AppendAuditEvent(ctx, ev); err != nil {
		s.Logger.ErrorContext(ctx, "cannot record an account lock", slog.String("reporter", rep.Name), slog.Any(attrError, err))
	}
	s.Logger.WarnContext(ctx, "reporter account locked after repeated failed sign-ins", slog.String("reporter", rep.Name), slog.Duration("for", s.LockDuration))
}

// verifyReporter checks a name and password against the store. Unknown names,
// disabled reporters and wrong passwords are all EUNAUTHORIZED, so that the
// answer does not reveal which names exist. The hash waits for a slot of the
// hash gate, at the front of the queue if the credentials are known.
func (s *Server) verifyReporter(ctx context.Context, name, password string, known bool) (*guardian.Reporter, error) {
	rep, err := s.Store.FindReporterByName(ctx, name)
	if err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, hashWaitTimeout)
	defer cancel()
	if err := s.hashes.acquire(wctx, known); errors.Is(err, context.DeadlineExceeded) {
		return nil, errHashQueueFull
	} else if err != nil {
		return nil, err
	}
	defer s.hashes.release()
	if rep == nil {
		// Spend the same time as a real check so that timing does not
		// reveal which names exist.
		_, _ = crypto.VerifyPassword(dummyHash(), password)
		return nil, guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required")
	}
	ok, err := crypto.VerifyPassword(rep.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok || rep.Disabled {
		return nil, guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required")
	}
	return rep, nil
}

// hashWaitTimeout bounds how long a sign-in waits for a hash slot before it
// is answered 503: long enough for the queue to drain at normal load.
const hashWaitTimeout = 10 * time.Second

// dummyHash is verified against when a name is unknown.
var dummyHash = sync.OnceValue(func() string {
	h, err := crypto.HashPassword("guardian-timing-equaliser")
	if err != nil {
		panic(err)
	}
	return h
})

// capitalize upper-cases the first letter of an ASCII message.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
