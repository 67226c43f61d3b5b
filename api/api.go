// Package api is the partner API: JSON under /api/v1 for the agencies'
// people and case systems, and for the hub's analysts and supervisors. Its
// contract is the OpenAPI 3.1 document served at GET /api/v1/openapi.json
// (openapi.json beside this file); the tests check every answer against it.
//
// Most callers need one thing: a [Handler], with its stores and keys set
// as fields, opened with [Handler.Open], mounted at /api/v1/ (the hub sets
// it as server.Server.API) and closed with [Handler.Close], which records
// the failed sign-ins counted so far.
//
// # Services and other interfaces
//
// Each route decodes its input, calls an exported service of Handler
// (Referral, Acknowledge, Content, OpenFile, Queue, Confirm, Board, ...)
// and writes the answer. The web pages (package web) call the same
// services, through the same chain: Handler.Page serves another
// interface's handler with this package's authentication, CSRF check and
// bounds, and its own error form (pages.go).
//
// # One chain for every route
//
// Every request passes the same middleware, in this order: a request id
// and a bound on the body; authentication (a session cookie, or an API
// token as Authorization: Bearer), with the session's idle lock and end
// checked on every request; the CSRF token on a session's requests that
// change anything; a slot of the hub's in-flight requests and of the
// caller's own share of them, so that no caller starves the others; then
// the handler, which asks package access before it reads or changes
// anything. Errors take one form (see [errorBody]); a referral, file or
// message the caller may not see is answered exactly as an unknown id.
//
// # What is recorded
//
// Every change passes its audit event to the store with the person or the
// token as actor, the request id and the client address. A refused attempt
// on a referral by a signed-in caller is one failure event; failed sign-ins
// and bad tokens, which strangers can send without limit, are counted into
// one event per burst and window (failures.go), so they cannot grow the
// permanent log request by request.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/identity"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Defaults of the Handler's limits.
const (
	// DefaultMaxBodySize bounds a JSON request body. The largest thing a
	// caller sends is a message or an outcome note (guardian.MaxNoteLen).
	DefaultMaxBodySize = 64 << 10
	// DefaultMaxInFlight bounds the API requests served at once, hub-wide;
	// DefaultMaxInFlightPerCaller one person's or token's share of them.
	DefaultMaxInFlight          = 256
	DefaultMaxInFlightPerCaller = 8
	// Sign-in throttling per client address (an IPv6 /64): one more
	// attempt every interval after a burst.
	DefaultSignInAddrInterval = 2 * time.Second
	DefaultSignInAddrBurst    = 20
	DefaultMaxHashWaiters     = 32
	// DefaultFailureWindow is how often failed sign-ins are recorded, one
	// audit event per burst.
	DefaultFailureWindow = 5 * time.Minute
	// TokenTouchEvery is how often a token's use is recorded at most.
	TokenTouchEvery = time.Hour
)

// Handler serves the partner API. Set the fields, call Open, serve, Close.
type Handler struct {
	Store    guardian.Store
	Routing  guardian.RoutingStore
	Delivery guardian.DeliveryStore
	Users    guardian.UserStore
	Access   guardian.AccessStore
	// HashLists, if set, finds the other reports sharing a known item
	// with a referral's report (its bundle).
	HashLists guardian.HashListStore
	Evidence  *evidence.Store
	MasterKey *crypto.MasterKey
	// Network returns the network in force; it is read on every request,
	// so a reload takes effect at once.
	Network func() *guardian.Network
	Now     guardian.Clock
	// Reroute routes a report again (jobs.Pipeline.Reroute): after a
	// decline and after an analyst adds or withdraws an agency.
	Reroute func(ctx context.Context, reportID int64, actor guardian.Actor, justification string) error
	Logger  *slog.Logger

	// Lockout and Sessions are the people's policies; zero values mean
	// identity.DefaultLockout and identity.DefaultSessionPolicy.
	Lockout  identity.Lockout
	Sessions identity.SessionPolicy
	// SkipSecondFactor lets people sign in with the password alone. Only
	// a hub opened in demo mode on a store that guardian demo created sets
	// it (hub.Open checks); every page then carries the DEMO banner.
	SkipSecondFactor bool
	// SecureCookies marks the session cookie Secure with the __Host-
	// prefix even on plain HTTP requests: set it when a TLS proxy is in
	// front. Requests that arrive over TLS get them anyway.
	SecureCookies bool

	MaxBodySize          int64
	MaxInFlight          int
	MaxInFlightPerCaller int
	SignInAddrInterval   time.Duration
	SignInAddrBurst      int
	MaxConcurrentHashes  int
	MaxHashWaiters       int
	FailureWindow        time.Duration

	mux      *http.ServeMux
	inFlight chan struct{}
	callers  callerSlots
	guard    *addrGuard
	hashes   *hashGate
	failures *failureLog
	touched  touchCache
	done     chan struct{}
	wg       sync.WaitGroup
	open     bool
}

// Open checks the fields, fills in defaults and starts recording failed
// sign-ins once per FailureWindow.
func (h *Handler) Open() error {
	var errs []error
	for name, missing := range map[string]bool{
		"Store": h.Store == nil, "Routing": h.Routing == nil, "Delivery": h.Delivery == nil,
		"Users": h.Users == nil, "Access": h.Access == nil, "Evidence": h.Evidence == nil,
		"MasterKey": h.MasterKey == nil, "Network": h.Network == nil, "Reroute": h.Reroute == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("api: %s is required", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if h.Now == nil {
		h.Now = guardian.SystemClock
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.Lockout == (identity.Lockout{}) {
		h.Lockout = identity.DefaultLockout
	}
	if h.Sessions == (identity.SessionPolicy{}) {
		h.Sessions = identity.DefaultSessionPolicy
	}
	setDefault(&h.MaxBodySize, DefaultMaxBodySize)
	setDefault(&h.MaxInFlight, DefaultMaxInFlight)
	setDefault(&h.MaxInFlightPerCaller, DefaultMaxInFlightPerCaller)
	setDefault(&h.SignInAddrInterval, DefaultSignInAddrInterval)
	setDefault(&h.SignInAddrBurst, DefaultSignInAddrBurst)
	setDefault(&h.MaxConcurrentHashes, max(1, maxProcs()/2))
	setDefault(&h.MaxHashWaiters, DefaultMaxHashWaiters)
	setDefault(&h.FailureWindow, DefaultFailureWindow)

	h.inFlight = make(chan struct{}, h.MaxInFlight)
	h.callers = callerSlots{max: h.MaxInFlightPerCaller, n: make(map[string]int)}
	h.guard = newAddrGuard(h.SignInAddrInterval, h.SignInAddrBurst)
	h.hashes = newHashGate(h.MaxConcurrentHashes, h.MaxHashWaiters)
	h.failures = newFailureLog()
	h.touched = touchCache{at: make(map[int64]time.Time)}
	h.done = make(chan struct{})
	h.mux = http.NewServeMux()
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+Prefix+rt.path, h.chain(rt, nil))
	}
	// Anything else under the prefix is answered in the API's own form.
	h.mux.Handle(Prefix+"/", h.chain(route{auth: authNone, fn: func(w http.ResponseWriter, r *http.Request, c *Call) error {
		return &apiError{status: http.StatusNotFound, code: guardian.ENOTFOUND, msg: "No such endpoint; see " + Prefix + "/openapi.json."}
	}}, nil))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(h.FailureWindow)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				h.flushFailures(context.Background())
			}
		}
	}()
	h.open = true
	return nil
}

// Close stops the failure recorder and records what it counted so far.
// Call it after the HTTP server has shut down, so that the last requests'
// failures are counted too.
func (h *Handler) Close(ctx context.Context) error {
	if !h.open {
		return nil
	}
	h.open = false
	close(h.done)
	h.wg.Wait()
	h.flushFailures(ctx)
	return nil
}

// ServeHTTP serves a request under /api/v1.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.mux == nil {
		http.Error(w, "api: not opened", http.StatusServiceUnavailable)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
