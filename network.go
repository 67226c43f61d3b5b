package guardian

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The network is who the hub may send reports to, and on what terms: the
// agencies and the agreements with them. It is read from the network file
// (package network parses and validates it) and replaced whole when the file
// is reloaded, so a [Network] is never modified once built: code that holds
// one sees a consistent set of agencies and agreements for as long as it
// holds it.

// AgencyKind says what role an agency plays in routing.
type AgencyKind string

const (
	// AgencyPartner is a police force or prosecutor abroad with a direct
	// agreement: it receives referrals for the countries its agreement
	// covers.
	AgencyPartner AgencyKind = "partner"
	// AgencyLiaison is a liaison office abroad. It passes referrals on to
	// the authorities of the countries its agreement covers and is used for
	// a country only when no partner covers it.
	AgencyLiaison AgencyKind = "liaison"
	// AgencyFallback is the one international agency that receives
	// referrals for countries no agreement covers.
	AgencyFallback AgencyKind = "fallback"
	// AgencyDomestic is the one agency in the hub's own country. It receives
	// reports that have no location at all, and reports located in the
	// countries its agreement lists (usually the hub's own).
	AgencyDomestic AgencyKind = "domestic"
)

// Channel is how referrals under an agreement reach the country's
// authorities.
type Channel string

const (
	// ChannelDirect: the agency itself acts on the referral.
	ChannelDirect Channel = "direct"
	// ChannelLiaison: a liaison office receives the referral and passes it
	// to the local authorities.
	ChannelLiaison Channel = "liaison"
)

// Dispatch says whether referrals under an agreement leave the hub as soon
// as routing creates them or wait for an analyst.
type Dispatch string

const (
	DispatchAutomatic Dispatch = "automatic" // delivered as soon as routed
	DispatchConfirm   Dispatch = "confirm"   // delivered after an analyst confirms
)

// DataScope is the set of report sections an agency may see. Every agency
// sees the incident summary, the internet details and the hub's own
// assessment; the sections below are shown only when the scope has them.
//
// The zero DataScope holds no section.
type DataScope uint8

// The sections of a report that a [DataScope] may hold.
const (
	// ScopeReporterContacts: the reporting service's contact people
	// (<reporter>): who to ask for preservation or more data.
	ScopeReporterContacts DataScope = 1 << iota
	// ScopeSuspectDetails: the persons or users reported
	// (<personOrUserReported>).
	ScopeSuspectDetails
	// ScopeVictimDetails: the victims and intended recipients (<victim>,
	// <intendedRecipient>).
	ScopeVictimDetails
	// ScopeFiles: the list of files with their names, sizes, hashes and
	// <fileDetails>, but not their content.
	ScopeFiles
	// ScopeFileContent: the files themselves. It is meaningless without
	// ScopeFiles, and the network file refuses it alone.
	ScopeFileContent

	scopeEnd // one past the last section
)

// scopeNames are the sections' names in the network file, in bit order.
var scopeNames = [...]string{"reporter-contacts", "suspect-details", "victim-details", "files", "file-content"}

// ScopeSection returns the section with the given network-file name, such as
// "suspect-details", and whether there is one.
func ScopeSection(name string) (DataScope, bool) {
	for i, n := range scopeNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Has reports whether s holds every section in sections.
func (s DataScope) Has(sections DataScope) bool { return s&sections == sections }

// Sections returns the names of the sections in s, in a fixed order.
func (s DataScope) Sections() []string {
	var names []string
	for i, n := range scopeNames {
		if s&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// String returns the section names joined by commas, "" for no section.
func (s DataScope) String() string { return strings.Join(s.Sections(), ",") }

// MarshalText stores a scope as its String, so that a referral's scope reads
// the same in the database, in JSON and in the network file.
func (s DataScope) MarshalText() ([]byte, error) {
	if s >= scopeEnd {
		return nil, fmt.Errorf("data scope %#x has unknown sections", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses what MarshalText wrote.
func (s *DataScope) UnmarshalText(text []byte) error {
	var scope DataScope
	if len(text) > 0 {
		for name := range strings.SplitSeq(string(text), ",") {
			sec, ok := ScopeSection(name)
			if !ok {
				return fmt.Errorf("unknown data scope section %q", name)
			}
			scope |= sec
		}
	}
	*s = scope
	return nil
}

// Hub describes the hub itself.
type Hub struct {
	ID      string
	Name    string
	Country string // ISO 3166-1 alpha-2; the domestic agency's country
	// HandlingCodes are the codes a referral may carry, telling the agency
	// what it may do with the information (use it as evidence, pass it on).
	// Agreements pick their default among them.
	HandlingCodes []HandlingCode
}

// HandlingCode is one handling code and what it means.
type HandlingCode struct {
	Code        string
	Description string
}

// Agency is a body that receives referrals.
type Agency struct {
	ID   string // stable: referrals and audit events refer to it
	Name string
	Kind AgencyKind
	// Country is where the agency sits (ISO 3166-1 alpha-2). It is for
	// people; routing uses the agreements' countries.
	Country   string
	Languages []string // BCP 47 tags, such as "es" or "pt-BR"
	Duty      DutyContacts
	// Recipients are the age public keys (age1… or age1pq1…) that sealed
	// deliveries to the agency are encrypted to. An agency's recipients are
	// all classic or all post-quantum, because age will not mix them.
	Recipients []string
}

// DutyContacts are where the hub notifies an agency of a new referral.
type DutyContacts struct {
	Email   []string // at least one
	Webhook string   // an https URL, or empty
}

// Agreement is the terms on which one agency receives referrals. Each agency
// has exactly one agreement, so an agency ID also names its agreement.
type Agreement struct {
	Agency  string // the agency's ID
	Channel Channel
	// Countries are the ISO 3166-1 alpha-2 codes the agreement covers, in
	// the file's order. A fallback agreement covers none (it takes the rest);
	// a domestic agreement may list the hub's own country.
	Countries []string
	DataScope DataScope
	// HandlingCode is the code a referral carries unless an analyst
	// chooses another; one of [Hub.HandlingCodes].
	HandlingCode string
	// AcknowledgeWithin is how long the agency has to acknowledge a
	// referral, by the report's priority: "E" (emergency), "1", "2", "3".
	// All four are set.
	AcknowledgeWithin map[string]time.Duration
	// RetentionDays is how long the agency may keep what it received.
	RetentionDays int
	Dispatch      Dispatch
}

// Covers reports whether the agreement lists country.
func (a *Agreement) Covers(country string) bool { return slices.Contains(a.Countries, country) }

// AcknowledgeDeadline returns how long the agency has to acknowledge a
// referral of the given priority ("E", "1", "2" or "3").
func (a *Agreement) AcknowledgeDeadline(priority string) (time.Duration, bool) {
	d, ok := a.AcknowledgeWithin[priority]
	return d, ok
}

// Network is the hub, its agencies and its agreements, with the lookups that
// routing needs. Build it with [NewNetwork]; never modify it afterwards.
type Network struct {
	Hub        Hub
	Agencies   []*Agency    // in file order
	Agreements []*Agreement // in file order
	// Digest identifies the file the network was read from (hex SHA-256
	// of its bytes), so that audit events and referrals can name the
	// version of the network they were made under. Empty if not from a file.
	Digest string

	agencies   map[string]*Agency
	agreements map[string]*Agreement // by agency ID
	direct     map[string]*Agreement // by country: partner and domestic agreements
	liaison    map[string]*Agreement // by country
	fallback   *Agreement
	domestic   *Agreement
}

// NewNetwork checks the rules that routing depends on and indexes the
// network. It takes ownership of its arguments.
//
// The rules: agency IDs are unique; every agency has exactly one agreement
// and every agreement's agency exists; liaison agreements, and only they,
// are with liaison offices; no country is covered by two direct agreements
// nor by two liaison agreements; there is exactly one fallback agency, and
// its agreement lists no country; there is exactly one domestic agency.
// Package network checks these and much more, with line numbers; NewNetwork
// only guarantees that a Network can be routed on.
func NewNetwork(hub Hub, agencies []*Agency, agreements []*Agreement) (*Network, error) {
	n := &Network{
		Hub:        hub,
		Agencies:   agencies,
		Agreements: agreements,
		agencies:   make(map[string]*Agency, len(agencies)),
		agreements: make(map[string]*Agreement, len(agreements)),
		direct:     make(map[string]*Agreement),
		liaison:    make(map[string]*Agreement),
	}
	var errs []error
	for _, a := range agencies {
		if _, dup := n.agencies[a.ID]; dup {
			errs = append(errs, fmt.Errorf("agency %q is defined twice", a.ID))
		}
		n.agencies[a.ID] = a
	}
	var fallbacks, domestics int
	for _, ag := range agreements {
		a, ok := n.agencies[ag.Agency]
		if !ok {
			errs = append(errs, fmt.Errorf("agreement with unknown agency %q", ag.Agency))
			continue
		}
		if _, dup := n.agreements[ag.Agency]; dup {
			errs = append(errs, fmt.Errorf("agency %q has two agreements", ag.Agency))
			continue
		}
		n.agreements[ag.Agency] = ag
		if (a.Kind == AgencyLiaison) != (ag.Channel == ChannelLiaison) {
			errs = append(errs, fmt.Errorf("agency %q of kind %s cannot have a %s agreement", a.ID, a.Kind, ag.Channel))
			continue
		}
		byCountry := n.direct
		switch a.Kind {
		case AgencyLiaison:
			byCountry = n.liaison
		case AgencyFallback:
			fallbacks++
			n.fallback = ag
			if len(ag.Countries) > 0 {
				errs = append(errs, fmt.Errorf("the fallback agreement of %q must not list countries", a.ID))
			}
		case AgencyDomestic:
			domestics++
			n.domestic = ag
		case AgencyPartner:
		default:
			errs = append(errs, fmt.Errorf("agency %q has unknown kind %q", a.ID, a.Kind))
		}
		for _, c := range ag.Countries {
			if prev, dup := byCountry[c]; dup && prev != ag {
				errs = append(errs, fmt.Errorf("country %s is covered by the %s agreements of both %q and %q", c, ag.Channel, prev.Agency, ag.Agency))
			}
			byCountry[c] = ag
		}
	}
	for _, a := range agencies {
		if _, ok := n.agreements[a.ID]; !ok {
			errs = append(errs, fmt.Errorf("agency %q has no agreement", a.ID))
		}
	}
	if fallbacks != 1 {
		errs = append(errs, fmt.Errorf("the network needs exactly one fallback agency with an agreement, not %d", fallbacks))
	}
	if domestics != 1 {
		errs = append(errs, fmt.Errorf("the network needs exactly one domestic agency with an agreement, not %d", domestics))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid network: %w", err)
	}
	return n, nil
}

// Agency returns the agency with the given ID.
func (n *Network) Agency(id string) (*Agency, bool) {
	a, ok := n.agencies[id]
	return a, ok
}

// AgreementOf returns the agreement of the agency with the given ID.
func (n *Network) AgreementOf(agencyID string) (*Agreement, bool) {
	ag, ok := n.agreements[agencyID]
	return ag, ok
}

// AgreementFor returns the agreement under which a report located in
// country is referred: the direct agreement that covers the country if there
// is one (a partner's, or the domestic agency's for the hub's own country),
// else the liaison agreement that covers it, else the fallback agreement. It
// never returns nil. A code that is no ISO 3166-1 country falls to the
// fallback too.
func (n *Network) AgreementFor(country string) *Agreement {
	if ag, ok := n.direct[country]; ok {
		return ag
	}
	if ag, ok := n.liaison[country]; ok {
		return ag
	}
	return n.fallback
}

// LiaisonFor returns the liaison agreement that lists country, whether or
// not a direct agreement takes precedence over it. An analyst may use it to
// involve a liaison office that supports a partner country.
func (n *Network) LiaisonFor(country string) (*Agreement, bool) {
	ag, ok := n.liaison[country]
	return ag, ok
}

// FallbackAgreement returns the agreement for countries nobody covers.
func (n *Network) FallbackAgreement() *Agreement { return n.fallback }

// DomesticAgreement returns the agreement for reports without a location.
func (n *Network) DomesticAgreement() *Agreement { return n.domestic }

// CoveredCountries returns, sorted, the countries that have access to the
// hub's reports abroad: those whose reports go to a partner or a liaison
// office. The domestic agency's countries are not among them, even if a
// liaison agreement lists one too.
func (n *Network) CoveredCountries() []string {
	var out []string
	for c, ag := range n.direct {
		if ag != n.domestic {
			out = append(out, c)
		}
	}
	for c := range n.liaison {
		if _, direct := n.direct[c]; !direct {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
