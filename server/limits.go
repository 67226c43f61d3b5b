package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
)

// Fair sharing of the hub. Requests are admitted in separate lanes so that no
// one party can take what the others need:
//
//   - intake requests need a slot of their reporter (MaxInFlightPerReporter,
//     and MaxUploadsPerReporter for /upload) and then one of the hub's
//     (MaxInFlight); they take them only once authenticated, so that
//     strangers never hold them;
//   - requests that fail to sign in hold no slot: the sign-in guard
//     (signin.go) throttles them and queues their password hashes;
//   - /audit and /admin have slots of their own (MaxInFlightAudit), and
//     /healthz needs none;
//   - every intake body must keep arriving at MinBodyRate, so that a slot is
//     not held by a connection that sends nothing.
//
// A request that finds no slot is answered 503 with Retry-After at once
// rather than queued: a queue would only move the wait into the hub.

// lane says which limits an intake route is admitted under.
type lane int

const (
	laneRequest lane = iota // every route but /upload: RequestTimeout
	laneUpload              // /upload: UploadTimeout and an upload slot
)

// reporterSlots counts the requests and uploads each reporter has in
// flight. Entries exist only while a reporter has some, so the map is
// bounded by the hub-wide limit.
type reporterSlots struct {
	mu   sync.Mutex
	load map[int64]*reporterLoad
}

type reporterLoad struct{ requests, uploads int }

// acquire takes a request slot of reporter id, and an upload slot if
// upload, unless that would exceed maxRequests or maxUploads.
func (l *reporterSlots) acquire(id int64, upload bool, maxRequests, maxUploads int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.load == nil {
		l.load = make(map[int64]*reporterLoad)
	}
	ld := l.load[id]
	if ld == nil {
		ld = &reporterLoad{}
		l.load[id] = ld
	}
	if ld.requests >= maxRequests || (upload && ld.uploads >= maxUploads) {
		if ld.requests == 0 {
			delete(l.load, id)
		}
		return false
	}
	ld.requests++
	if upload {
		ld.uploads++
	}
	return true
}

func (l *reporterSlots) release(id int64, upload bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ld := l.load[id]
	ld.requests--
	if upload {
		ld.uploads--
	}
	if ld.requests == 0 {
		delete(l.load, id)
	}
}

// admit runs an authenticated intake request if its reporter and the hub
// have a slot for it, with its body held to the lane's timeout and to the
// minimum rate.
func (s *Server) admit(ln lane, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestInfoFrom(r.Context()).reporter.ID
		upload := ln == laneUpload
		if !s.slots.acquire(id, upload, s.MaxInFlightPerReporter, s.MaxUploadsPerReporter) {
			what := "requests"
			if upload {
				what = "uploads"
			}
			s.busy(w, r, guardian.Errorf(guardian.EUNAVAILABLE, "Too many concurrent %s from this reporter; retry later.", what))
			return
		}
		defer s.slots.release(id, upload)
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			s.busy(w, r, guardian.Errorf(guardian.EUNAVAILABLE, "Server busy; retry later."))
			return
		}
		timeout := s.RequestTimeout
		if upload {
			timeout = s.UploadTimeout
		}
		if r.Body != http.NoBody {
			r.Body = s.newBodyGuard(w, r.Body, timeout)
		}
		next(w, r)
	})
}

// busy answers an intake request that found no slot.
func (s *Server) busy(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	s.writeResponse(w, r, http.StatusServiceUnavailable, err, 0, "", "")
}

// limitAudit runs an /audit or /admin request in the slots kept for them,
// apart from the intake's, so that auditors and witnesses are answered
// however busy the intake is.
func (s *Server) limitAudit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.auditSlots <- struct{}{}:
			defer func() { <-s.auditSlots }()
		default:
			w.Header().Set("Retry-After", "1")
			s.auditError(w, r, guardian.Errorf(guardian.EUNAVAILABLE, "Server busy; retry later."))
			return
		}
		next(w, r)
	}
}

// errSlowBody is returned by a body read that the body guard cut off
// because the body arrived slower than the minimum rate.
var errSlowBody = errors.New("request body arrived below the minimum rate")

// slowBodyError is what the client is told when its body was cut off.
func (s *Server) slowBodyError(code, what string) error {
	return guardian.Errorf(code, "the %s arrived slower than %d bytes in %s and was cut off", what, s.minBodyQuota(), s.MinBodyRateWindow)
}

// bodyReadError is the answer to a failed read of the request body: the
// slow-body refusal if the guard cut it off, else fallback.
func (s *Server) bodyReadError(err error, fallback error) error {
	if errors.Is(err, errSlowBody) {
		return s.slowBodyError(guardian.EINVALID, "request body")
	}
	return fallback
}

// minBodyQuota is the number of bytes a body must deliver in every
// MinBodyRateWindow, or 0 if there is no minimum.
func (s *Server) minBodyQuota() int64 {
	if s.MinBodyRate <= 0 || s.MinBodyRateWindow <= 0 {
		return 0
	}
	return max(1, int64(float64(s.MinBodyRate)*s.MinBodyRateWindow.Seconds()))
}

// bodyGuard holds a request body to a minimum rate: in each window of
// MinBodyRateWindow from the start of the request it must deliver the
// window's quota of bytes, or end. It enforces this with the connection's
// read deadline, moved as the body arrives, so that a connection that
// sends nothing at all is cut off as surely as one that trickles; a check
// between reads alone would wait for a read that never returns. The
// deadline never passes the request's overall timeout.
//
// Windows rather than an average since the start: an average would let a
// client send fast for a minute and then hold the connection idle for an
// hour on the credit.
type bodyGuard struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	quota int64         // bytes per window; 0: no minimum rate
	win   time.Duration // window length
	end   time.Time     // overall deadline of the body

	winEnd   time.Time // end of the current window
	got      int64     // bytes received in the current window
	deadline time.Time // read deadline in force
	byRate   bool      // whether deadline is a window's end, not end
	err      error     // sticky: once cut off, always cut off
}

func (s *Server) newBodyGuard(w http.ResponseWriter, body io.ReadCloser, timeout time.Duration) io.ReadCloser {
	now := time.Now()
	g := &bodyGuard{
		body:   body,
		rc:     http.NewResponseController(w),
		quota:  s.minBodyQuota(),
		win:    s.MinBodyRateWindow,
		end:    now.Add(timeout),
		winEnd: now.Add(s.MinBodyRateWindow),
	}
	g.setDeadline()
	return g
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.body.Read(p)
	if g.quota == 0 || err == io.EOF {
		return n, err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && g.byRate {
		g.err = fmt.Errorf("%w: %w", errSlowBody, err)
		return n, g.err
	}
	for now := time.Now(); !now.Before(g.winEnd); g.winEnd = g.winEnd.Add(g.win) {
		if g.got < g.quota {
			g.err = errSlowBody
			return n, g.err
		}
		g.got = 0
	}
	g.got += int64(n)
	g.setDeadline()
	return n, err
}

func (g *bodyGuard) Close() error { return g.body.Close() }

// setDeadline sets the read deadline to when the body next falls short: the
// end of this window if its quota is not met yet, else the end of the next.
func (g *bodyGuard) setDeadline() {
	d, byRate := g.end, false
	if g.quota > 0 {
		next := g.winEnd
		if g.got >= g.quota {
			next = next.Add(g.win)
		}
		if next.Before(g.end) {
			d, byRate = next, true
		}
	}
	if d.Equal(g.deadline) {
		return
	}
	g.deadline, g.byRate = d, byRate
	_ = g.rc.SetReadDeadline(d) // fails only for HTTP/2 without support; the server-wide timeouts then apply
}

// retryAfter formats a wait for the Retry-After header: whole seconds,
// rounded up, at least one.
func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}
