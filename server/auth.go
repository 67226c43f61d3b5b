package server

import (
	"crypto/sha256"
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
// of name and password so that no password is kept in memory.
type authCache struct {
	mu      sync.Mutex
	now     guardian.Clock
	entries map[[32]byte]authEntry
}

type authEntry struct {
	reporter *guardian.Reporter
	expires  time.Time
}

func (c *authCache) init(now guardian.Clock) {
	c.now = now
	c.entries = make(map[[32]byte]authEntry)
}

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

func (c *authCache) get(k [32]byte) *guardian.Reporter {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || c.now().After(e.expires) {
		delete(c.entries, k)
		return nil
	}
	return e.reporter
}

func (c *authCache) put(k [32]byte, r *guardian.Reporter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= authCacheMax {
		clear(c.entries)
	}
	c.entries[k] = authEntry{reporter: r, expires: c.now().Add(authCacheTTL)}
}

// authenticate requires HTTP Basic credentials of an enabled reporter on
// every intake route. Clients send them pre-emptively; a failure answers 401
// with a challenge and an XML body (code 2000) and is an audit event.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := requestInfoFrom(r.Context())
		name, password, ok := r.BasicAuth() // splits at the first colon
		if ok {
			k := credentialKey(name, password)
			if rep := s.auth.get(k); rep != nil {
				ri.reporter = rep
				next.ServeHTTP(w, r)
				return
			}
			rep, err := s.verifyReporter(r, name, password)
			if err == nil {
				s.auth.put(k, rep)
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
func (s *Server) verifyReporter(r *http.Request, name, password string) (*guardian.Reporter, error) {
	rep, err := s.Store.FindReporterByName(r.Context(), name)
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
