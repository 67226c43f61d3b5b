package triage

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
)

// marker says why a piece of evidence lowers the confidence.
type marker uint8

const (
	markNone       marker = iota
	markProxy             // a possible proxy or a pseudo country
	markUnroutable        // an address that locates no one, or is not an address
)

// item is a piece of evidence while resolving.
type item struct {
	ev   guardian.Evidence
	user int // index of the reported user it belongs to; -1 for the report
	mark marker
}

// itemPool recycles the evidence buffers of Resolve: the evidence it
// returns is copied out, so the buffer is scratch.
var itemPool = sync.Pool{New: func() any { s := make([]item, 0, 32); return &s }}

// resolver gathers the evidence of one report.
type resolver struct {
	geo      geo.Resolver
	incident time.Time
	hasTime  bool
	items    []item
	// userIPs are the addresses captured for each reported user of a
	// batched report, to attribute files and peer-to-peer captures.
	userIPs [][]netip.Addr
	batched bool
}

// Resolve decides which countries a report concerns, from everything in it
// and in its files' details, with g for IP addresses. Files may hold nil for
// files without details. It is a pure function of its arguments, safe for
// concurrent use, and never fails: a report with nothing usable gets
// NoLocation.
//
// The reporter's own section (the company and its contact person) and the
// law-enforcement officer's contact details are not evidence: they say
// where the service or the officer is, not the people of the incident.
func Resolve(doc *guardian.ReportDocument, files []*guardian.FileDetails, g geo.Resolver) guardian.Assessment {
	r := resolver{geo: g, batched: doc.BatchedReport != nil}
	if p, ok := itemPool.Get().(*[]item); ok {
		r.items = (*p)[:0]
		defer func() {
			clear(r.items) // drop references to the report's strings
			*p = r.items[:0]
			itemPool.Put(p)
		}()
	}
	if t := doc.IncidentSummary.IncidentDateTime.Time; !t.IsZero() {
		r.incident, r.hasTime = t, true
	}
	if r.batched {
		r.userIPs = make([][]netip.Addr, len(doc.PersonOrUserReported))
	}
	for i := range doc.PersonOrUserReported {
		r.reportedUser(i, &doc.PersonOrUserReported[i])
	}
	for j, f := range files {
		if f == nil || f.IPCaptureEvent == nil {
			continue
		}
		src := "file[" + strconv.Itoa(j) + "]/ipCaptureEvent"
		if f.FileID != "" {
			src = "file[" + f.FileID + "]/ipCaptureEvent"
		}
		// The file's one ipCaptureEvent is its upload address unless the
		// service says it is something else.
		ev := f.IPCaptureEvent
		r.ip(ev, src, -2, 1, ev.EventName == "" || ev.EventName == "Upload", f.UploadedToESPTimestamp)
	}
	for k := range doc.InternetDetails {
		r.internetDetails(k, &doc.InternetDetails[k])
	}
	if le := doc.LawEnforcement; le != nil {
		if sp := le.ServedLegalProcessInternational; sp != nil && sp.Value && sp.FleaCountry != "" {
			r.country(guardian.EvidenceLegalProcess, sp.FleaCountry, "lawEnforcement/servedLegalProcessInternational", -1,
				evidenceWeights[guardian.EvidenceLegalProcess], time.Time{}, "legal process served from this country")
		}
	}
	for i := range doc.IntendedRecipient {
		p := &doc.IntendedRecipient[i]
		src := "intendedRecipient[" + strconv.Itoa(i) + "]"
		r.person(p.IntendedRecipientPerson, src, "/intendedRecipientPerson", -1, 1)
		r.urls(p.ProfileURL, src, "/profileUrl", -1, 1)
		r.ips(p.IPCaptureEvent, src, "/ipCaptureEvent", -1, 1)
		r.location(p.EstimatedLocation, src, -1)
	}
	for i := range doc.Victim {
		v := &doc.Victim[i]
		src := "victim[" + strconv.Itoa(i) + "]"
		r.person(&v.VictimPerson, src, "/victimPerson", -1, 1)
		r.urls(v.ProfileURL, src, "/profileUrl", -1, 1)
		r.ips(v.IPCaptureEvent, src, "/ipCaptureEvent", -1, 1)
		r.location(v.EstimatedLocation, src, -1)
		r.associated(v.AssociatedAccount, src, -1)
	}

	a := r.assess(-1)
	if r.batched {
		a.PerUser = make([]guardian.UserAssessment, len(doc.PersonOrUserReported))
		for i := range doc.PersonOrUserReported {
			u := &doc.PersonOrUserReported[i]
			a.PerUser[i] = guardian.UserAssessment{Index: i, User: cmp.Or(u.ESPIdentifier, u.ScreenName), Assessment: r.assess(i)}
		}
	}
	return a
}

func (r *resolver) reportedUser(i int, u *guardian.PersonOrUserReported) {
	src := "personOrUserReported[" + strconv.Itoa(i) + "]"
	r.person(u.PersonOrUserReportedPerson, src, "/personOrUserReportedPerson", i, 1)
	r.urls(u.ProfileURL, src, "/profileUrl", i, 1)
	r.ips(u.IPCaptureEvent, src, "/ipCaptureEvent", i, 1)
	r.location(u.EstimatedLocation, src, i)
	r.associated(u.AssociatedAccount, src, i)
}

func (r *resolver) associated(accts []guardian.AssociatedAccount, parent string, user int) {
	for m := range accts {
		a := &accts[m]
		src := parent + "/associatedAccount[" + strconv.Itoa(m) + "]"
		f := associatedAccountFactor
		r.phones(a.Phone, src, "/phone", user, f)
		r.emails(a.Email, src, "/email", user, f)
		r.addresses(a.Address, src, "/address", user, f)
		r.urls(a.ProfileURL, src, "/profileUrl", user, f)
		r.ips(a.IPCaptureEvent, src, "/ipCaptureEvent", user, f)
	}
}

func (r *resolver) internetDetails(k int, d *guardian.InternetDetails) {
	src := "internetDetails[" + strconv.Itoa(k) + "]"
	switch {
	case d.WebPageIncident != nil:
		r.urls(d.WebPageIncident.URL, src, "/webPageIncident/url", -1, webPageDomainFactor)
	case d.EmailIncident != nil:
		r.emails(d.EmailIncident.EmailAddress, src, "/emailIncident/emailAddress", -1, 1)
	case d.NewsgroupIncident != nil:
		r.emails(d.NewsgroupIncident.EmailAddress, src, "/newsgroupIncident/emailAddress", -1, 1)
	case d.CellPhoneIncident != nil:
		// Latitude and longitude would need a map of borders, which the
		// hub does not carry; analysts see them in the report.
		if p := d.CellPhoneIncident.PhoneNumber; p != nil {
			r.phone(p, src+"/cellPhoneIncident/phoneNumber", -1, 1)
		}
	case d.NonInternetIncident != nil:
		for m := range d.NonInternetIncident.IncidentAddress {
			r.address(&d.NonInternetIncident.IncidentAddress[m], src+"/nonInternetIncident/incidentAddress["+strconv.Itoa(m)+"]", -1, 1, true)
		}
	case d.Peer2PeerIncident != nil:
		// Captures of a peer-to-peer client: the reported user's, but
		// which one only the address can tell in a batched report.
		r.ips(d.Peer2PeerIncident.IPCaptureEvent, src, "/peer2peerIncident/ipCaptureEvent", -2, 1)
	}
}

// The methods below take the path of the parent element and the name of
// the child, and build a source path only for evidence they add: most
// elements are absent, and resolution runs for every report.

func (r *resolver) person(p *guardian.Person, parent, name string, user int, f float64) {
	if p == nil || len(p.Phone)+len(p.Email)+len(p.Address) == 0 {
		return
	}
	src := parent + name
	r.phones(p.Phone, src, "/phone", user, f)
	r.emails(p.Email, src, "/email", user, f)
	r.addresses(p.Address, src, "/address", user, f)
}

func (r *resolver) phones(ps []guardian.Phone, parent, name string, user int, f float64) {
	for m := range ps {
		r.phone(&ps[m], path(parent, name, m), user, f)
	}
}

func (r *resolver) emails(es []guardian.Email, parent, name string, user int, f float64) {
	for m := range es {
		r.domain(emailHost(es[m].Value), parent, name, m, user, f)
	}
}

func (r *resolver) urls(us []string, parent, name string, user int, f float64) {
	for m, u := range us {
		r.domain(urlHost(u), parent, name, m, user, f)
	}
}

func (r *resolver) addresses(as []guardian.Address, parent, name string, user int, f float64) {
	for m := range as {
		r.address(&as[m], path(parent, name, m), user, f, false)
	}
}

func (r *resolver) ips(evs []guardian.IPCaptureEvent, parent, name string, user int, f float64) {
	for m := range evs {
		ev := &evs[m]
		r.ip(ev, path(parent, name, m), user, f, ev.EventName == "Upload", nil)
	}
}

// path returns parent+name+"[m]".
func path(parent, name string, m int) string {
	if m < len(indexes) {
		return parent + name + indexes[m]
	}
	return parent + name + "[" + strconv.Itoa(m) + "]"
}

var indexes = func() []string {
	s := make([]string, 16)
	for i := range s {
		s[i] = "[" + strconv.Itoa(i) + "]"
	}
	return s
}()

func (r *resolver) add(it item) { r.items = append(r.items, it) }

// ip adds the evidence of one captured address. user -2 means "find the
// reported user by address" (files and peer-to-peer captures).
func (r *resolver) ip(ev *guardian.IPCaptureEvent, src string, user int, f float64, upload bool, alt *guardian.DateTime) {
	it := item{user: max(user, -1), ev: guardian.Evidence{Kind: guardian.EvidenceIP, Source: src}}
	event := ev.EventName
	if upload {
		it.ev.Kind = guardian.EvidenceUploadIP
	}
	t := ev.DateTime
	if t == nil {
		t = alt
	}
	if t != nil {
		it.ev.Time = t.Time
	}
	addr, ok := parseIP(ev.IPAddress)
	if !ok {
		it.ev.Note, it.mark = "not an IP address", markUnroutable
		r.add(it)
		return
	}
	it.ev.Value = addr.String()
	if user == -2 {
		it.user = r.userOf(addr)
	} else if r.batched && user >= 0 {
		r.userIPs[user] = append(r.userIPs[user], addr)
	}
	if c := geo.Classify(addr); c != geo.Public {
		it.ev.Note, it.mark = classNotes[c], markUnroutable
		r.add(it)
		return
	}
	code, note, mark := normCountry(r.geo.Country(addr))
	if ev.PossibleProxy != nil && *ev.PossibleProxy {
		it.ev.Note, it.mark = "possible proxy: its country is not the user's", markProxy
		if code != "" {
			it.ev.Note = "possible proxy (exit in " + code + "): its country is not the user's"
		}
		r.add(it)
		return
	}
	if code == "" {
		it.ev.Note, it.mark = note, mark
		if note == "not a country code" {
			it.ev.Note = "no country in the IP database"
		}
		r.add(it)
		return
	}
	rec, recNote := r.recency(t, true)
	w := evidenceWeights[it.ev.Kind] * f * rec
	eventNote := "upload"
	if !upload {
		ef, ok := ipEventFactors[event]
		if !ok {
			ef = ipEventFactors[""]
		}
		w *= ef
		eventNote = eventNotes[event]
	}
	it.ev.Country, it.ev.Weight = code, round2(w)
	it.ev.Note = eventNote + recNote + partyNote(f)
	r.add(it)
}

// userOf returns the reported user of a batched report that was captured
// at addr, or -1.
func (r *resolver) userOf(addr netip.Addr) int {
	for u, ips := range r.userIPs {
		if slices.Contains(ips, addr) {
			return u
		}
	}
	return -1
}

var classNotes = func() map[geo.Class]string {
	m := map[geo.Class]string{}
	for c := geo.Private; c <= geo.Reserved; c++ {
		m[c] = c.String() + " address: locates no one"
	}
	return m
}()

var eventNotes = map[string]string{
	"Login": "login", "Purchase": "purchase", "Registration": "registration",
	"Other": "other event", "Unknown": "unknown event", "": "no event given", "Upload": "upload",
}

func partyNote(f float64) string {
	if f == associatedAccountFactor {
		return "; associated account"
	}
	return ""
}

// recency returns the factor for an observation at t and a note starting
// with "; ". Without t, IP evidence gets recencyUnknown and other evidence
// is not scaled.
func (r *resolver) recency(t *guardian.DateTime, isIP bool) (float64, string) {
	if t == nil || t.Time.IsZero() || !r.hasTime {
		if isIP {
			return recencyUnknown, "; time unknown"
		}
		return 1, ""
	}
	d := t.Time.Sub(r.incident)
	if d < 0 {
		d = -d
	}
	for i, b := range recencyBands {
		if d <= b.Within {
			return b.Factor, recencyNotes[i]
		}
	}
	return recencyOldest, "; over a year from the incident"
}

var recencyNotes = []string{
	"; within a day of the incident",
	"; within a week of the incident",
	"; within 30 days of the incident",
	"; within a year of the incident",
}

// country adds evidence that a report states as a country code.
func (r *resolver) country(kind guardian.EvidenceKind, code, src string, user int, w float64, t time.Time, note string) {
	it := item{user: user, ev: guardian.Evidence{Kind: kind, Value: code, Source: src, Time: t}}
	c, n, mark := normCountry(code)
	if c == "" {
		it.ev.Note, it.mark = n, mark
	} else {
		it.ev.Country, it.ev.Weight, it.ev.Note = c, round2(w), note
	}
	r.add(it)
}

func (r *resolver) location(l *guardian.EstimatedLocation, parent string, user int) {
	if l == nil || l.CountryCode == "" {
		return
	}
	src := parent + "/estimatedLocation"
	kind, note := guardian.EvidenceEstimatedLocation, "the service's estimate"
	if l.Verified != nil && *l.Verified {
		kind, note = guardian.EvidenceVerifiedLocation, "verified by the service"
	}
	rec, recNote := r.recency(l.Timestamp, false)
	var t time.Time
	if l.Timestamp != nil {
		t = l.Timestamp.Time
	}
	r.country(kind, l.CountryCode, src, user, evidenceWeights[kind]*rec, t, note+recNote)
}

func (r *resolver) address(a *guardian.Address, src string, user int, f float64, incident bool) {
	code, note := a.Country, ""
	if code == "" && a.State != "" {
		// The schema's state list is the USA's; three of its entries are
		// countries of their own in ISO 3166-1.
		code, note = "US", "; country from the US state"
		if c, ok := usTerritories[a.State]; ok {
			code, note = c, "; country from the US territory"
		}
	}
	if code == "" {
		return
	}
	if incident {
		r.country(guardian.EvidenceIncidentAddress, code, src, user, evidenceWeights[guardian.EvidenceIncidentAddress]*f, time.Time{}, "where the incident happened"+note)
		return
	}
	tf, ok := addressTypeFactors[a.Type]
	if !ok {
		tf = addressTypeFactors[""]
	}
	r.country(guardian.EvidenceAddress, code, src, user, evidenceWeights[guardian.EvidenceAddress]*f*tf, time.Time{}, addressNotes[a.Type]+note+partyNote(f))
}

var addressNotes = map[string]string{
	"Home": "home address", "": "address of no stated type", "Billing": "billing address",
	"Shipping": "shipping address", "Business": "business address", "Technical": "technical address",
}

func (r *resolver) phone(p *guardian.Phone, src string, user int, f float64) {
	res := phoneCountry(p)
	it := item{user: user, ev: guardian.Evidence{Kind: guardian.EvidencePhone, Value: res.code, Source: src, Note: res.note}}
	if res.country != "" {
		if c, _, _ := normCountry(res.country); c != "" {
			it.ev.Country, it.ev.Weight = c, round2(evidenceWeights[guardian.EvidencePhone]*f)
			it.ev.Note += partyNote(f)
		}
	}
	r.add(it)
}

// domain adds the country of a host's country-code domain, if it has one.
// Generic domains (.com, .org, and the country codes sold as generic) are
// no evidence at all, not even unresolved: they are the norm.
func (r *resolver) domain(host, parent, name string, m, user int, f float64) {
	c, d := domainCountry(host)
	if c == "" {
		return
	}
	r.add(item{user: user, ev: guardian.Evidence{
		Kind: guardian.EvidenceDomain, Country: c, Value: d, Source: path(parent, name, m),
		Weight: round2(evidenceWeights[guardian.EvidenceDomain] * f), Note: "country-code domain" + partyNote(f),
	}})
}

// parseIP reads an address as services write them: bare, with a zone, or
// with a port ("198.51.100.7:443", "[2001:db8::1]:443").
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone(""), true
	}
	return netip.Addr{}, false
}

// assess ranks the countries of the evidence of one user (or of the whole
// report, for user -1 — every item).
func (r *resolver) assess(user int) guardian.Assessment {
	a := guardian.Assessment{RulesVersion: RulesVersion}
	type acc struct {
		code string
		w    float64
		best int // strongest kind, for ties
		n    int // items
	}
	var buf [8]acc
	accs := buf[:0]
	var proxies, unroutable, unresolved, resolved int
	var total float64
	mine := func(it *item) bool { return user < 0 || it.user == user }
	for i := range r.items {
		it := &r.items[i]
		if !mine(it) {
			continue
		}
		switch it.mark {
		case markProxy:
			proxies++
		case markUnroutable:
			unroutable++
		}
		if it.ev.Country == "" {
			unresolved++
			continue
		}
		resolved++
		total += it.ev.Weight
		k := 0
		for k < len(accs) && accs[k].code != it.ev.Country {
			k++
		}
		if k == len(accs) {
			accs = append(accs, acc{code: it.ev.Country, best: len(kindRank)})
		}
		accs[k].w += it.ev.Weight
		accs[k].best = min(accs[k].best, kindRank[it.ev.Kind])
		accs[k].n++
	}
	// One backing array for all the evidence of the assessment: the slices
	// handed out below are windows of it.
	all := make([]guardian.Evidence, 0, resolved+unresolved)
	if unresolved > 0 {
		for i := range r.items {
			if it := &r.items[i]; mine(it) && it.ev.Country == "" {
				all = append(all, it.ev)
			}
		}
		a.Unresolved = all[:unresolved:unresolved]
	}
	if len(accs) == 0 || total <= 0 {
		a.NoLocation = true
		a.Countries = []guardian.CountryScore{}
		return a
	}
	slices.SortFunc(accs, func(x, y acc) int {
		return cmp.Or(cmp.Compare(y.w, x.w), cmp.Compare(x.best, y.best), strings.Compare(x.code, y.code))
	})
	a.Countries = make([]guardian.CountryScore, len(accs))
	for k, c := range accs {
		start := len(all)
		for i := range r.items {
			if it := &r.items[i]; mine(it) && it.ev.Country == c.code {
				all = append(all, it.ev)
			}
		}
		ev := all[start:len(all):len(all)]
		slices.SortStableFunc(ev, func(x, y guardian.Evidence) int { return cmp.Compare(y.Weight, x.Weight) })
		a.Countries[k] = guardian.CountryScore{Country: c.code, Score: round3(c.w / total), Weight: round2(c.w), Evidence: ev}
	}
	top := accs[0]
	agreement := top.w / total
	support := 1 - math.Exp(-top.w/supportScale)
	markers := max(markersFloor, math.Pow(proxyFactor, float64(proxies))*math.Pow(unroutableFactor, float64(unroutable)))
	a.Confidence = round3(agreement * support * markers)
	a.ConfidenceFactors = []guardian.ConfidenceFactor{
		{Name: "agreement", Value: round3(agreement), Detail: top.code + "'s share of all country evidence"},
		{Name: "support", Value: round3(support), Detail: "strength of " + top.code + "'s own evidence (weight " + strconv.FormatFloat(round2(top.w), 'f', -1, 64) + ")"},
		{Name: "markers", Value: round3(markers), Detail: strconv.Itoa(proxies) + " proxy or pseudo-country signals, " + strconv.Itoa(unroutable) + " addresses that locate no one"},
	}
	return a
}

// kindRank orders evidence kinds from strongest, to break ties between
// countries of equal weight.
var kindRank = map[guardian.EvidenceKind]int{
	guardian.EvidenceUploadIP: 0, guardian.EvidenceIncidentAddress: 1, guardian.EvidenceVerifiedLocation: 2,
	guardian.EvidenceIP: 3, guardian.EvidenceAddress: 4, guardian.EvidenceEstimatedLocation: 5,
	guardian.EvidencePhone: 6, guardian.EvidenceLegalProcess: 7, guardian.EvidenceDomain: 8,
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
