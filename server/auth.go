package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
		if call.err == nil {
			if len(c.entries) >= authCacheMax {
				clear(c.entries)
			}
			c.entries[k] = authEntry{reporter: call.reporter, expires: c.now().Add(authCacheTTL)}
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
// every intake route. Clients send them pre-emptively; a failure answers 401
// with a challenge and an XML body (code 2000) and is an audit event.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := requestInfoFrom(r.Context())
		name, password, ok := r.BasicAuth() // splits at the first colon
		if ok {
			// The verification may be shared with other requests, so it
			// must not end with this one.
			ctx := context.WithoutCancel(r.Context())
			rep, err := s.auth.verify(r.Context(), credentialKey(name, password), func() (*guardian.Reporter, error) {
				return s.verifyReporter(ctx, name, password)
			})
			if err == nil {
				ri.reporter = rep
				next.ServeHTTP(w, r)
				return
			}
			if guardian.ErrorCode(err) == guardian.EINTERNAL {
				s.fail(w, r, "intake.authenticate", guardian.CategoryAuthentication, err)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="ESP Web Services", charset="UTF-8"`)
		s.recordFailure(r, &guardian.AuditEvent{
			Actor:    guardian.Actor{Kind: guardian.ActorReporter, Name: presentedName(name)},
			Category: guardian.CategoryAuthentication,
			Action:   "intake.authenticate",
		}, "2000")
		s.writeResponse(w, r, http.StatusUnauthorized, guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required"), 0, "", "")
	})
}

// verifyReporter checks a name and password against the store. Unknown names,
// disabled reporters and wrong passwords are all EUNAUTHORIZED, so that the
// answer does not reveal which names exist.
func (s *Server) verifyReporter(ctx context.Context, name, password string) (*guardian.Reporter, error) {
	rep, err := s.Store.FindReporterByName(ctx, name)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		// Spend the same time as a real check so that timing does not
		// reveal which names exist.
		_, _ = crypto.VerifyPassword(dummyHash(), password)
		return nil, guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required")
	} else if err != nil {
		return nil, err
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

// dummyHash is verified against when a name is unknown.
var dummyHash = sync.OnceValue(func() string {
	h, err := crypto.HashPassword("guardian-timing-equaliser")
	if err != nil {
		panic(err)
	}
	return h
})

// presentedName is the user name a failed login presented, made safe to
// record: it is attacker-controlled, so it is cut short and stripped of
// anything that is not printable text.
func presentedName(name string) string {
	const max = 64
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
