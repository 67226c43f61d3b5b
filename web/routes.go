package web

import (
	"net/http"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// routes is the pages' one route table: every entry is served through
// api.Handler.Page, and so through the API's chain and package access.
func (h *Handler) routes() []route {
	rs := []route{
		{"GET", "/{$}", api.AuthOptional, h.handleHome},
		{"GET", "/signin", api.AuthOptional, h.handleSignInPage},
		{"POST", "/signin", api.AuthNone, h.handleSignIn},
		{"GET", "/signin/factor", api.AuthNone, h.handleFactorPage},
		{"POST", "/signin/factor", api.AuthNone, h.handleFactor},
		{"GET", "/signin/enrol", api.AuthNone, h.handleEnrolPage},
		{"POST", "/signin/enrol", api.AuthNone, h.handleEnrol},
		{"POST", "/signout", api.AuthPerson, h.handleSignOut},
		{"POST", "/language", api.AuthOptional, h.handleLanguage},
	}
	rs = append(rs, h.passkeyRoutes()...)
	rs = append(rs, h.accountRoutes()...)
	rs = append(rs, h.agencyRoutes()...)
	rs = append(rs, h.hubRoutes()...)
	rs = append(rs, h.demoRoutes()...)
	return rs
}

// Routes returns the pages' routes as "METHOD /path", for the tests.
func Routes() []string {
	var h Handler
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// handleHome sends a person to the page of their work.
func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if c.User() == nil {
		redirect(w, r, "/signin")
		return nil
	}
	redirect(w, r, home(c))
	return nil
}

// home is the first page of a person's roles.
func home(c *api.Call) string {
	if nav := navFor(c, false); len(nav) > 0 {
		return nav[0].Path
	}
	return "/account"
}

// navFor is the navigation of a person: the pages of their roles, in
// the order of their work (and a demo hub's caught mail).
func navFor(c *api.Call, mail bool) []navItem {
	u := c.User()
	if u == nil {
		return nil
	}
	var nav []navItem
	add := func(path, key string, roles ...guardian.Role) {
		for _, role := range roles {
			if u.HasRole(role) {
				nav = append(nav, navItem{Path: path, Key: key})
				return
			}
		}
	}
	add("/referrals", msg("nav.inbox"), guardian.RoleAgencyInvestigator, guardian.RoleAgencySupervisor)
	add("/supervision", msg("nav.supervision"), guardian.RoleAgencySupervisor)
	add("/liaison", msg("nav.liaison"), guardian.RoleLiaisonOfficer)
	add("/hub/queue", msg("nav.queue"), guardian.RoleHubAnalyst)
	add("/hub/board", msg("nav.board"), guardian.RoleHubSupervisor)
	add("/audit-log", msg("nav.audit"), guardian.RoleAuditor)
	if mail {
		add("/hub/mail", msg("nav.mail"), mailRoles...)
	}
	nav = append(nav, navItem{Path: "/account", Key: msg("nav.account")})
	return nav
}
