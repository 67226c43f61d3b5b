package web

import (
	"net/http"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// The liaison office's page: the countries its agreement covers (and, for
// each, whether it relays the referrals itself or supports the partner
// who receives them), the escalations waiting on it, and its inbox.

// liaisonView is the liaison page.
type liaisonView struct {
	Office      string
	Countries   []coverView
	Escalations []rowView
	Rows        []rowView
	Filters     filterView
	Pager       pager
	Self        string
}

// coverView is one country the office covers: Partner names the agency
// that receives the country's referrals when it is not the office.
type coverView struct {
	Code    string
	Partner string
}

// CountryList names the covered countries in the page's language.
func (v *liaisonView) CountryList(p *page) []coverName {
	codes := make([]string, len(v.Countries))
	for i, c := range v.Countries {
		codes[i] = c.Code
	}
	names := countryNames(p, codes)
	out := make([]coverName, len(v.Countries))
	for i, c := range v.Countries {
		out[i] = coverName{countryView: names[i], Partner: c.Partner}
	}
	return out
}

type coverName struct {
	countryView
	Partner string
}

func (v *liaisonView) EscalationTable(p *page) tableView {
	return tableView{P: p, Caption: msg("agency.liaison.escalations"), Empty: msg("agency.liaison.escalations.none"), Rows: v.Escalations}
}

func (v *liaisonView) Table(p *page) tableView {
	return tableView{P: p, ID: "liaison-rows", Refresh: v.Self, Caption: msg("agency.liaison.inbox"), Empty: msg("agency.inbox.empty"), Rows: v.Rows}
}

func (v *liaisonView) FilterForm(p *page) filterView { f := v.Filters; f.P = p; return f }

var errNotLiaison = guardian.Errorf(guardian.EFORBIDDEN, "This page is for the officers of a liaison office.")

// handleLiaison shows a liaison office its countries, the escalations
// waiting on it and the referrals it relays or supports.
func (h *Handler) handleLiaison(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	ctx := r.Context()
	caller := c.Caller()
	if caller == nil || caller.Agency == nil || caller.Agency.Kind != guardian.AgencyLiaison {
		return errNotLiaison
	}
	q := r.URL.Query()
	params := listParams(q)
	list, err := h.API.ListReferrals(ctx, c, params)
	if err != nil {
		return err
	}
	v := &liaisonView{Office: caller.Agency.Name, Filters: filtersOf("/liaison", q), Pager: pagerOf("/liaison", params, list.NextCursor),
		Self: "/liaison?" + params.Encode()}
	n := c.Network()
	if ag, ok := n.AgreementOf(caller.Agency.ID); ok {
		for _, code := range ag.Countries {
			cv := coverView{Code: code}
			if direct := n.AgreementFor(code); direct.Agency != caller.Agency.ID {
				cv.Partner = direct.Agency
				if a, ok := n.Agency(direct.Agency); ok {
					cv.Partner = a.Name
				}
			}
			v.Countries = append(v.Countries, cv)
		}
	}
	if v.Rows, err = h.rows(ctx, c, list.Referrals); err != nil {
		return err
	}
	p := h.agencyPage(r, c, msg("agency.liaison.title"), v)
	if isHTMX(r) && r.Header.Get("HX-Target") == "liaison-rows" {
		return h.renderBlock(w, http.StatusOK, "liaison", "liaison_rows", p)
	}
	// The escalations only on the whole page: the rows' refresh every
	// 20 s does not show them.
	esc, err := h.API.Escalations(ctx, c)
	if err != nil {
		return err
	}
	if v.Escalations, err = h.rows(ctx, c, esc); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "liaison", p)
}
