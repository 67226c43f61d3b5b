package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/internal/middleware"
)

// authMode says what a route needs of the caller.
type authMode int

const (
	authNone     authMode = iota // the document, unknown paths
	authSignIn                   // POST /session: nobody yet, throttled by address
	authCaller                   // a session or an API token
	authPerson                   // a session only
	authOptional                 // a session if valid, else nobody (pages)
)

// route is one entry of the route table.
type route struct {
	method, path string
	auth         authMode
	fn           handlerFunc
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *Call) error

// Call is what the middleware learned about a request, for its handler.
type Call struct {
	requestID  string
	clientAddr string
	now        time.Time
	network    *guardian.Network

	caller        *access.Caller
	actor         guardian.Actor
	user          *guardian.User
	token         *guardian.APIToken
	session       *guardian.Session
	sessionSecret string
}

// key names the caller's share of the in-flight requests.
func (c *Call) key() string {
	switch {
	case c.user != nil:
		return "user:" + strconv.FormatInt(c.user.ID, 10)
	case c.token != nil:
		return "token:" + strconv.FormatInt(c.token.ID, 10)
	}
	return ""
}

// event starts an audit event of the request, acted by its caller.
func (c *Call) event(cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor: c.actor, Category: cat, Action: action, Outcome: guardian.OutcomeSuccess,
		RequestID: c.requestID, ClientAddr: c.clientAddr,
	}
}

// chain is the one middleware chain every route passes.
//
// onError answers an error in another interface's form (pages); nil for
// the API's JSON.
func (h *Handler) chain(rt route, onError ErrorWriter) http.Handler {
	fail := h.writeError
	if onError != nil {
		fail = func(w http.ResponseWriter, r *http.Request, c *Call, err error) {
			p := h.problem(r, c, err)
			setRetryAfter(w, p)
			onError(w, r, c, p)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &Call{requestID: requestID(w), clientAddr: middleware.ClientAddr(r), now: h.Now(), network: h.Network()}
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		sw := &middleware.StatusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.Logger.ErrorContext(r.Context(), "panic in api handler", slog.Any("panic", v), slog.String("request_id", c.requestID))
				if sw.Status == 0 {
					fail(sw, r, c, fmt.Errorf("panic: %v", v))
				}
			}
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, h.MaxBodySize)
		}
		// The hub's slot first: beyond it the hub is busy for everyone,
		// and nothing (not even a token lookup) is done.
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			fail(sw, r, c, errBusy)
			return
		}
		err := h.authenticate(sw, r, c, rt.auth)
		if err == nil && c.key() != "" {
			if !h.callers.acquire(c.key()) {
				err = errCallerBusy
			} else {
				defer h.callers.release(c.key())
			}
		}
		if err == nil {
			err = rt.fn(sw, r, c)
		}
		if err != nil {
			if sw.Status != 0 {
				// The answer has begun (a stream): cut the connection so
				// that the client cannot take a partial file for a whole.
				h.Logger.ErrorContext(r.Context(), "api response cut short", slog.Any("error", err), slog.String("request_id", c.requestID))
				panic(http.ErrAbortHandler)
			}
			fail(sw, r, c, err)
		}
	})
}

// callerSlots bounds each caller's requests in flight.
type callerSlots struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func (s *callerSlots) acquire(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[k] >= s.max {
		return false
	}
	s.n[k]++
	return true
}

func (s *callerSlots) release(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[k]--; s.n[k] <= 0 {
		delete(s.n, k) // the map holds only callers with requests in flight
	}
}

// requestID is the id the hub's server gave the request (its Request-ID
// header, set before the API sees it), or a new one when the handler is
// served alone.
func requestID(w http.ResponseWriter) string {
	if id := w.Header().Get("Request-ID"); id != "" {
		return id
	}
	id := middleware.NewRequestID()
	w.Header().Set("Request-ID", id)
	return id
}

func maxProcs() int { return runtime.GOMAXPROCS(0) }
