// Package web is the hub's web workspace: the pages investigators,
// liaison officers, the hub's analysts and supervisors, and auditors work
// in, in their own language.
//
// The pages are server-rendered with html/template, with htmx (vendored
// in static/, one file) for partial updates and plain CSS; templates,
// catalogues and static files are embedded in the binary. Every page is
// served through the partner API's one chain (api.Handler.Page): the same
// sessions, CSRF check, in-flight bounds and per-person shares, and the
// same services, which ask package access and record the audit events.
// A page never reads a store for a referral itself.
//
// # Security
//
// Every response carries a strict Content-Security-Policy (scripts and
// styles from the hub only, nothing inline, no eval), no framing, no
// referrer, and nosniff (headers.go). Forms of a session carry its CSRF
// token (api.CSRFField); the sign-in forms, before any session, carry a
// token bound to a cookie of their own (signin.go). Images of a report are
// never shown unless the person asks, and then blurred and in greyscale
// until they unblur one image.
//
// # Languages
//
// Every page is in English, Spanish, Portuguese, French, German, Italian
// and Dutch: the catalogues in locales/ are YAML files a translator can
// edit. The language is the person's own setting, else the one chosen on
// the page (a cookie), else the browser's Accept-Language. Templates ask
// for a message with {{$.T "key"}}; a test fails when a key is missing in
// a language, or a catalogue holds a key no page uses.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/passkey"
)

//go:embed templates static locales
var files embed.FS

// Handler serves the pages. Set the fields, call Open, serve.
type Handler struct {
	// API is the opened partner API: its chain and its services.
	API *api.Handler
	// Users and Passkeys keep people and their passkeys (the hub's store).
	Users    guardian.UserStore
	Passkeys guardian.PasskeyStore
	// Audit reads the audit log's events, and Log proves them, for the
	// auditor's pages; either may be nil (no audit pages).
	// AuditVerifierKey checks the checkpoints' signatures on those pages.
	Audit            guardian.AuditLogStore
	Log              *auditlog.Log
	AuditVerifierKey string
	// Passkeys need a relying party (SetRelyingParty): until one is set,
	// the pages offer none.
	relyingParty atomic.Pointer[passkey.RelyingParty]

	// GeoAttribution is the text the IP geolocation data's licence asks
	// pages showing countries derived from addresses to display, ending
	// in its link in brackets: "IP Geolocation by DB-IP (https://db-ip.com)".
	GeoAttribution string
	// Demo marks every page with the DEMO banner (guardian demo).
	Demo bool
	// Mailbox, if set, is the demo's SMTP catcher, shown at /hub/mail.
	Mailbox Mailbox
	// SecureCookies marks the pages' own cookies Secure even on plain
	// HTTP (a TLS proxy in front), as api.Handler.SecureCookies.
	SecureCookies bool
	Logger        *slog.Logger

	mux       *http.ServeMux
	templates map[string]*template.Template
	catalog   *catalog
	static    staticFiles
	pending   *pendingSignIns
	// pendingRegistrations are passkey registrations begun on /account.
	pendingRegistrations *registrations
}

// Open parses the templates and catalogues and builds the routes.
func (h *Handler) Open() error {
	if h.API == nil || h.Users == nil {
		return errors.New("web: API and Users are required")
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	var err error
	if h.catalog, err = loadCatalog(); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if h.templates, err = parseTemplates(); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	sub, err := fs.Sub(files, "static")
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if h.static, err = loadStatic(sub); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	h.pending = newPendingSignIns(maxPendingSignIns)
	h.pendingRegistrations = &registrations{max: maxRegistrations, byUser: make(map[int64]*passkey.Ceremony)}
	h.mux = http.NewServeMux()
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.path, h.API.Page(rt.auth, rt.fn, h.writeProblem))
	}
	h.mux.Handle("GET /static/{name}", h.API.Page(api.AuthNone, h.serveStatic, h.writeProblem))
	h.mux.Handle("GET /favicon.ico", h.API.Page(api.AuthNone, h.serveFavicon, h.writeProblem))
	h.mux.Handle("/", h.API.Page(api.AuthOptional, h.notFound, h.writeProblem))
	return nil
}

// ServeHTTP serves a page, with the security headers on every answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.mux == nil {
		http.Error(w, "web: not opened", http.StatusServiceUnavailable)
		return
	}
	setSecurityHeaders(w, r)
	h.mux.ServeHTTP(w, r)
}

// route is one entry of the pages' route table (routes.go).
type route struct {
	method, path string
	auth         api.Auth
	fn           api.HandlerFunc
}

// Close releases nothing yet; it is here so the hub can close the pages
// like its other parts.
func (h *Handler) Close(context.Context) error { return nil }

// SetRelyingParty turns passkeys on with the relying party that checks
// them: the hub's public host and origin, known once it listens.
func (h *Handler) SetRelyingParty(rp *passkey.RelyingParty) { h.relyingParty.Store(rp) }

// RelyingParty returns the relying party of passkeys, or nil.
func (h *Handler) RelyingParty() *passkey.RelyingParty { return h.relyingParty.Load() }
