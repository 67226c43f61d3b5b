package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// The demo's page: the e-mail and the webhooks the hub sent, as guardian
// demo's in-process SMTP catcher and webhook receiver got them, so that a
// newcomer sees the notifications the agencies would get. It exists only
// when the Handler has a Mailbox.

// DemoMail is one message the demo's SMTP catcher received.
type DemoMail struct {
	Received time.Time
	From     string
	To       []string
	Subject  string
	Body     string // the text part, as sent
}

// DemoWebhook is one webhook the demo's receiver got.
type DemoWebhook struct {
	Received time.Time
	Agency   string
	URL      string
	ID       string // webhook-id
	Verified bool   // its signature matched the agency's secret
	Body     string
}

// Mailbox is the demo's SMTP catcher and webhook receiver as the pages
// read them.
type Mailbox interface {
	// Messages returns the messages kept, newest first.
	Messages() []DemoMail
	// Webhooks returns the webhooks kept, newest first.
	Webhooks() []DemoWebhook
}

// demoRoutes are the demo's pages: none without a mailbox.
func (h *Handler) demoRoutes() []route {
	if h.Mailbox == nil {
		return nil
	}
	return []route{{"GET", "/hub/mail", api.AuthPerson, h.handleDemoMail}}
}

// mailRoles may read the caught mail: the hub's own staff, who would see
// the notifications' failures and retries in a real hub's logs.
var mailRoles = []guardian.Role{guardian.RoleHubAdmin, guardian.RoleHubAnalyst, guardian.RoleHubSupervisor}

var errNotHubStaff = guardian.Errorf(guardian.EFORBIDDEN, "This page is for the hub's staff.")

type mailView struct {
	Mails    []DemoMail
	Webhooks []DemoWebhook
}

func (h *Handler) handleDemoMail(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	u := c.User()
	if u == nil || u.Organisation.Kind != guardian.OrganisationHub || !slices.ContainsFunc(mailRoles, u.HasRole) {
		return errNotHubStaff
	}
	return h.render(w, r, http.StatusOK, "mail", h.newPage(r, c, msg("demo.mail.title"), mailView{Mails: h.Mailbox.Messages(), Webhooks: h.Mailbox.Webhooks()}))
}
