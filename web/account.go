package web

import (
	"net/http"
	"slices"
	"strings"
	"time"
	// The zones offered below must load wherever the hub runs, even on a
	// system without a time zone database (a minimal container).
	_ "time/tzdata"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// The account page: who the person is to the hub (organisation, roles,
// the vetting and training that open referral content), their language
// and time zone, and their passkeys (passkeys.go).

func (h *Handler) accountRoutes() []route {
	return []route{
		{"GET", "/account", api.AuthPerson, h.handleAccount},
		{"POST", "/account/timezone", api.AuthPerson, h.handleTimeZone},
	}
}

func init() {
	noticeKeys["passkey-added"] = msg("account.notice.passkey-added")
	noticeKeys["passkey-removed"] = msg("account.notice.passkey-removed")
	noticeKeys["timezone-saved"] = msg("account.notice.timezone-saved")
}

// certificateWarning is how long before a vetting or training ends the
// page starts warning: time enough to have it renewed.
const certificateWarning = 30 * 24 * time.Hour

type accountView struct {
	User         *guardian.User
	Organisation string // its name in the network; "" if it left
	Roles        []string
	Vetting      certificate
	Training     certificate

	Zone      string // the person's setting; "" for the browser's
	Zones     []zoneOption
	ZoneError string // a message key

	PasskeysOn  bool
	Passkeys    []*guardian.Passkey
	MaxPasskeys int
	CanAdd      bool
}

// certificate is a vetting or training: when it ends, and a warning key
// when it has ended, ends soon or was never recorded.
type certificate struct {
	Set     bool
	Ends    time.Time
	Warning string
}

func certificateOf(ends *time.Time, now time.Time) certificate {
	var c certificate
	if ends != nil {
		c.Set, c.Ends = true, *ends
	}
	switch {
	case ends == nil:
		c.Warning = msg("account.cert.none")
	case !now.Before(*ends):
		c.Warning = msg("account.cert.ended")
	case ends.Sub(now) <= certificateWarning:
		c.Warning = msg("account.cert.soon")
	}
	return c
}

// roleKeys name the roles in the catalogue.
var roleKeys = map[guardian.Role]string{
	guardian.RoleHubAdmin: msg("account.role.hub-admin"), guardian.RoleHubAnalyst: msg("account.role.hub-analyst"),
	guardian.RoleHubSupervisor: msg("account.role.hub-supervisor"), guardian.RoleAuditor: msg("account.role.auditor"),
	guardian.RoleAgencyInvestigator: msg("account.role.agency-investigator"),
	guardian.RoleAgencySupervisor:   msg("account.role.agency-supervisor"),
	guardian.RoleLiaisonOfficer:     msg("account.role.liaison-officer"),
}

// commonZones are the time zones offered: those of the network's
// countries and languages, and a spread over the world. A person whose
// zone is not here keeps it (it is added to the list they see).
var commonZones = []string{
	"UTC",
	"Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Phoenix", "America/Denver",
	"America/Chicago", "America/Mexico_City", "America/Guatemala", "America/Bogota", "America/Lima",
	"America/New_York", "America/Caracas", "America/La_Paz", "America/Halifax", "America/Santiago",
	"America/Asuncion", "America/Argentina/Buenos_Aires", "America/Montevideo", "America/Sao_Paulo",
	"America/Manaus", "America/Noronha", "America/St_Johns",
	"Atlantic/Azores", "Atlantic/Cape_Verde", "Europe/Lisbon", "Europe/London", "Europe/Dublin",
	"Europe/Madrid", "Europe/Paris", "Europe/Brussels", "Europe/Amsterdam", "Europe/Luxembourg",
	"Europe/Berlin", "Europe/Zurich", "Europe/Rome", "Europe/Vienna", "Europe/Prague", "Europe/Warsaw",
	"Europe/Stockholm", "Europe/Helsinki", "Europe/Athens", "Europe/Bucharest", "Europe/Kyiv",
	"Europe/Istanbul", "Europe/Moscow",
	"Africa/Casablanca", "Africa/Lagos", "Africa/Luanda", "Africa/Cairo", "Africa/Johannesburg",
	"Africa/Maputo", "Africa/Nairobi",
	"Asia/Dubai", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta",
	"Asia/Singapore", "Asia/Manila", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Dili",
	"Asia/Seoul", "Asia/Tokyo", "Australia/Perth", "Australia/Adelaide", "Australia/Sydney",
	"Pacific/Auckland",
}

type zoneOption struct {
	Name, Label string
	Selected    bool
}

// zoneOptions lists the zones with their offset now, the person's own
// first if it is not a common one.
func zoneOptions(current string, now time.Time) []zoneOption {
	names := commonZones
	if current != "" && !slices.Contains(names, current) {
		names = append([]string{current}, names...)
	}
	out := make([]zoneOption, 0, len(names))
	for _, name := range names {
		loc, err := loadZone(name)
		if err != nil {
			continue
		}
		out = append(out, zoneOption{Name: name, Label: name + " (UTC" + now.In(loc).Format("-07:00") + ")", Selected: name == current})
	}
	return out
}

// loadZone loads an IANA zone by name, refusing what is not one: the
// empty name and "Local" (which LoadLocation accepts), and anything
// longer or stranger than the database's names.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 || strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != "" ||
		strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, errUnknownZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errUnknownZone
	}
	return loc, nil
}

var errUnknownZone = guardian.Errorf(guardian.EINVALID, "That is not a known time zone.")

func (h *Handler) accountViewOf(r *http.Request, c *api.Call) (*accountView, error) {
	u, now := c.User(), c.Now()
	v := &accountView{User: u, Vetting: certificateOf(u.VettingExpiresAt, now), Training: certificateOf(u.TrainingExpiresAt, now),
		Zone: u.TimeZone, Zones: zoneOptions(u.TimeZone, now), PasskeysOn: h.passkeysOn(), MaxPasskeys: guardian.MaxPasskeysPerUser}
	if n := c.Network(); n != nil {
		if a, err := u.Organisation.Resolve(n); err == nil && a != nil {
			v.Organisation = a.Name
		} else if err == nil {
			v.Organisation = n.Hub.Name
		}
	}
	for _, role := range u.Roles {
		if k, ok := roleKeys[role]; ok {
			v.Roles = append(v.Roles, k)
		}
	}
	if v.PasskeysOn {
		keys, err := h.Passkeys.FindPasskeys(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		v.Passkeys, v.CanAdd = keys, len(keys) < guardian.MaxPasskeysPerUser
	}
	return v, nil
}

func (h *Handler) handleAccount(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	v, err := h.accountViewOf(r, c)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "account", h.newPage(r, c, msg("account.title"), v))
}

// handleTimeZone sets the person's time zone (an alteration event, as
// the language is set); "" goes back to the browser's.
func (h *Handler) handleTimeZone(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	name := strings.TrimSpace(r.PostFormValue("timezone"))
	if name != "" {
		if _, err := loadZone(name); err != nil {
			v, verr := h.accountViewOf(r, c)
			if verr != nil {
				return verr
			}
			v.ZoneError = msg("account.timezone.unknown")
			return h.render(w, r, http.StatusBadRequest, "account", h.newPage(r, c, msg("account.title"), v))
		}
	}
	ev := c.Event(guardian.CategoryAlteration, "user.update")
	ev.Reason = "timezone"
	if _, err := h.Users.UpdateUser(r.Context(), c.User().ID, guardian.UserUpdate{TimeZone: &name}, ev); err != nil {
		return err
	}
	redirect(w, r, "/account?notice=timezone-saved")
	return nil
}
