package triage

import (
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
)

// Assess triages a report: its actionability score, urgency, label and
// priority, each rule that applied stored as a reason. a is the report's
// jurisdiction assessment from [Resolve]; files may hold nil for files
// without details. Like Resolve it is pure, safe for concurrent use and
// never fails.
//
// The order of decisions: the actionability rules; the urgency rules and
// the priority they give after review (ReviewPriority); then the priority
// now, which escalation makes a provisional 1 and an unreviewed report E;
// then the label.
func Assess(doc *guardian.ReportDocument, files []*guardian.FileDetails, a guardian.Assessment) guardian.Triage {
	return AssessKnown(doc, files, nil, a, nil)
}

// Provisional is the priority the report's document alone gives it, before
// its files, location and hash lists are known: 1 when the reporter
// escalated it or its incident type, annotations and victims' ages reach
// priority 1's urgency, else 2 or 3. The intake stores it at submit
// (Report.ProvisionalPriority) so that the queue of reports waiting for
// triage can put urgent ones first; triage itself decides the priority.
func Provisional(doc *guardian.ReportDocument) guardian.Priority {
	return AssessKnown(doc, nil, nil, guardian.Assessment{NoLocation: true}, nil).Priority
}

// AssessKnown is [Assess] with what the hash lists say about the report's
// files (hashlist.Matcher): known content lowers the urgency and can make
// the report informational, content no list knows raises it. fileIDs[i]
// is the id of files[i], which k's matches name. The triage keeps k
// (Triage.Known). With k nil it is Assess.
func AssessKnown(doc *guardian.ReportDocument, files []*guardian.FileDetails, fileIDs []string, a guardian.Assessment, k *guardian.KnownContent) guardian.Triage {
	t := guardian.Triage{RulesVersion: RulesVersion, Reasons: make([]guardian.Reason, 0, 16), Known: k}
	apply := func(r rule, w float64, detail string) {
		w = round2(w) // the score is the sum of the stored weights, exactly
		t.Reasons = append(t.Reasons, guardian.Reason{Rule: r.Name, Scale: r.Scale, Weight: w, Detail: detail})
		switch r.Scale {
		case guardian.ScaleActionability:
			t.Score += w
		case guardian.ScaleUrgency:
			t.Urgency += w
		}
	}
	s := survey(doc, files)

	// Actionability.
	if s.uploadPublic > 0 {
		apply(ruleUploadIP, ruleUploadIP.Weight, count(s.uploadPublic, s.uploadAll, "upload addresses public"))
	}
	if s.otherTimed > 0 {
		apply(ruleOtherIP, ruleOtherIP.Weight, plural(s.otherTimed, "other public address", "other public addresses")+" with a time")
	}
	if s.viewed > 0 {
		apply(ruleFileViewed, ruleFileViewed.Weight, count(s.viewed, len(files), "files viewed by the service"))
	}
	if it := doc.IncidentSummary.IncidentDateTime; !it.Time.IsZero() {
		if it.Zoned {
			apply(ruleIncidentTime, ruleIncidentTime.Weight, "incident time with a time zone")
		} else {
			apply(ruleIncidentTime, ruleIncidentTime.Weight*incidentTimeUnzonedFactor, "incident time without a time zone: known to within a day")
		}
	}
	if s.suspectIDs != "" {
		apply(ruleSuspectIdentity, ruleSuspectIdentity.Weight, "reported user identified by "+s.suspectIDs)
	}
	if s.suspectVerified != "" {
		apply(ruleSuspectVerified, ruleSuspectVerified.Weight, s.suspectVerified)
	}
	if top, ok := a.Top(); ok && a.Confidence > 0 {
		apply(ruleLocation, ruleLocation.Weight*a.Confidence, "confidence "+strconv.FormatFloat(a.Confidence, 'f', -1, 64)+" in "+top.Country)
	}
	if s.victimIDs {
		apply(ruleVictim, ruleVictim.Weight, "a victim or intended recipient is identified")
	}
	if s.priorReports > 0 {
		apply(rulePriorReports, rulePriorReports.Weight, plural(s.priorReports, "prior report", "prior reports")+" on the reported user")
	}
	if doc.LawEnforcement != nil {
		apply(ruleLawEnforcement, ruleLawEnforcement.Weight, "the report names a law-enforcement agency")
	}
	t.Score = min(100, round2(t.Score))

	// Urgency.
	aggr := false
	urgent := func(r rule, detail string) {
		if r.Weight == 0 {
			return
		}
		apply(r, r.Weight, detail)
		for _, x := range aggravating {
			if x.Name == r.Name {
				aggr = true
			}
		}
	}
	if r, ok := incidentTypeUrgency[doc.IncidentSummary.IncidentType]; ok {
		urgent(r, "incident type")
	}
	if an := doc.IncidentSummary.ReportAnnotations; an != nil {
		for _, f := range []struct {
			on bool
			r  rule
		}{
			{an.Sextortion, ruleSextortion}, {an.SadisticOnlineExploitation, ruleSadistic},
			{an.CSAMSolicitation, ruleSolicitation}, {an.MinorToMinorInteraction, ruleMinorToMinor},
			{an.Spam, ruleSpam},
		} {
			if f.on {
				urgent(f.r, "report annotation")
			}
		}
	}
	for i, r := range fileAnnotationRules {
		if n := s.annotated[i]; n > 0 {
			urgent(r, count(n, s.reported, "reported files"))
		}
	}
	if s.classification != "" {
		urgent(industryClassificationUrgency[s.classification], "highest industry classification "+s.classification)
	}
	viralBatch := doc.BatchedReport != nil && doc.BatchedReport.Reason == "VIRAL_POTENTIAL_MEME"
	if viralBatch {
		urgent(ruleViralBatch, "batch of potential memes")
	}
	if s.youngVictim {
		urgent(ruleYoungVictim, "a victim or intended recipient under "+strconv.Itoa(youngVictimAge))
	}
	known := knownFiles(files, fileIDs, k)
	switch {
	case known.relevant > 0 && known.matched == known.relevant:
		urgent(ruleKnownContent, count(known.matched, known.relevant, "reported files in hash lists: ")+known.lists)
	case k != nil && k.Lists > 0 && known.relevant > 0 && len(k.Matches) == 0 && s.uploadPublic > 0:
		urgent(ruleNewContent, "no file in "+plural(k.Lists, "hash list", "hash lists")+", uploaded from a public address")
	}
	t.Urgency = round2(t.Urgency)

	// Priority.
	t.ReviewPriority = guardian.Priority3
	switch {
	case t.Urgency >= urgencyPriority1:
		t.ReviewPriority = guardian.Priority1
	case t.Urgency >= urgencyPriority2:
		t.ReviewPriority = guardian.Priority2
	}
	apply(ruleRulesPriority, 0, "urgency "+strconv.FormatFloat(t.Urgency, 'f', -1, 64)+" gives priority "+string(t.ReviewPriority)+" once reviewed")
	t.Priority = t.ReviewPriority
	t.Escalated = strings.TrimSpace(doc.IncidentSummary.EscalateToHighPriority) != ""
	switch {
	case t.Escalated:
		t.Priority = guardian.Priority1
		apply(ruleEscalated, 0, "the service asked for high priority: provisional priority 1 until an analyst confirms")
	case len(files) > 0 && s.viewed == 0:
		t.Priority = guardian.PriorityUnreviewed
		apply(ruleNotReviewed, 0, "no file was viewed by the service: priority E until reviewed under legal authority")
	}
	t.NeedsAnalyst = t.Escalated || t.ReviewPriority == guardian.Priority1

	// Label.
	memeOnly := viralBatch || s.reported > 0 && s.memes == s.reported
	switch {
	case t.Escalated:
		t.Label = guardian.LabelReferral
		apply(ruleLabelEscalated, 0, "escalated reports are always referred")
	case len(files) == 0 && s.suspectIDs == "" && a.NoLocation:
		t.Label = guardian.LabelInformational
		apply(ruleLabelThin, 0, "no files, no identifiers of the reported user and no location")
	case memeOnly && !aggr:
		t.Label = guardian.LabelInformational
		apply(ruleLabelMeme, 0, "only potential memes, with no aggravating annotation")
	case known.relevant > 0 && known.matched == known.relevant && !aggr:
		t.Label = guardian.LabelInformational
		apply(ruleLabelKnown, 0, "only content already in hash lists, with no aggravating annotation")
	default:
		t.Label = guardian.LabelReferral
		apply(ruleLabelReferral, 0, "actionable")
	}
	return t
}

// knownSurvey is what the known-content rules need: the files that count
// (no details, or relevance Reported), how many of them are in a hash
// list, and the lists and categories they are in, in words.
type knownSurvey struct {
	relevant, matched int
	lists             string
}

// maxListsNamed bounds the lists a known-content reason names.
const maxListsNamed = 3

func knownFiles(files []*guardian.FileDetails, fileIDs []string, k *guardian.KnownContent) knownSurvey {
	var s knownSurvey
	if k == nil || k.Lists == 0 || len(fileIDs) != len(files) {
		return s
	}
	matched := k.MatchedFiles()
	for i, f := range files {
		if f != nil && f.Relevance() != guardian.RelevanceReported {
			continue
		}
		s.relevant++
		if matched[fileIDs[i]] {
			s.matched++
		}
	}
	// The lists and categories, each once with its closest match, in the
	// order of the matches.
	var keys []string
	closest := map[string]int{}
	for _, m := range k.Matches {
		c := m.List
		if m.Category != "" {
			c += " category " + m.Category
		}
		if d, ok := closest[c]; !ok || m.Distance < d {
			if !ok {
				keys = append(keys, c)
			}
			closest[c] = m.Distance
		}
	}
	var named []string
	for _, c := range keys {
		named = append(named, c+" at distance "+strconv.Itoa(closest[c]))
	}
	if len(named) > maxListsNamed {
		named = append(named[:maxListsNamed], strconv.Itoa(len(named)-maxListsNamed)+" more")
	}
	s.lists = strings.Join(named, "; ")
	return s
}

// fileAnnotationRules are indexed like reportSurvey.annotated.
var fileAnnotationRules = [...]rule{
	rulePhysicalHarm, ruleInfant, ruleLiveStreaming, ruleViolenceGore, ruleBestiality,
	ruleSelfProduction, ruleGenerativeAI, ruleAnime, ruleViral, rulePotentialMeme,
}

// reportSurvey is what the triage rules need to know about a report,
// gathered in one pass.
type reportSurvey struct {
	uploadAll, uploadPublic int // upload addresses, and those that are public
	otherTimed              int // other public addresses with a time
	viewed                  int // files the service viewed
	reported, memes         int // files of relevance Reported, and of those potential memes
	annotated               [len(fileAnnotationRules)]int
	classification          string // highest industry classification of a reported file
	suspectIDs              string // kinds of identifiers of the reported users, "" if none
	suspectVerified         string
	priorReports            int
	victimIDs               bool
	youngVictim             bool
}

func survey(doc *guardian.ReportDocument, files []*guardian.FileDetails) reportSurvey {
	var s reportSurvey
	ip := func(ev *guardian.IPCaptureEvent, upload bool) {
		public := false
		if addr, ok := parseIP(ev.IPAddress); ok {
			public = geo.Classify(addr) == geo.Public
		}
		switch {
		case upload:
			s.uploadAll++
			if public {
				s.uploadPublic++
			}
		case public && ev.DateTime != nil:
			s.otherTimed++
		}
	}
	ips := func(evs []guardian.IPCaptureEvent) {
		for i := range evs {
			ip(&evs[i], evs[i].EventName == "Upload")
		}
	}
	for _, f := range files {
		if f == nil {
			continue
		}
		if ev := f.IPCaptureEvent; ev != nil {
			ip(ev, ev.EventName == "" || ev.EventName == "Upload")
		}
		if f.FileViewedByESP != nil && *f.FileViewedByESP {
			s.viewed++
		}
		if f.Relevance() != guardian.RelevanceReported {
			continue
		}
		s.reported++
		if f.IsPotentialMeme() {
			s.memes++
		}
		if an := f.FileAnnotations; an != nil {
			for i, on := range [...]bool{an.PhysicalHarm, an.Infant, an.LiveStreaming, an.ViolenceGore, an.Bestiality,
				an.PossibleSelfProduction, an.GenerativeAI, an.AnimeDrawingVirtualHentai, an.Viral, an.PotentialMeme} {
				if on {
					s.annotated[i]++
				}
			}
		} else if f.IsPotentialMeme() {
			s.annotated[len(fileAnnotationRules)-1]++ // the top-level potentialMeme element
		}
		if c := f.IndustryClassification; c != "" && (s.classification == "" || c < s.classification) {
			s.classification = c // "A1" < "A2" < "B1" < "B2", most severe first
		}
	}
	for i := range doc.InternetDetails {
		if p := doc.InternetDetails[i].Peer2PeerIncident; p != nil {
			ips(p.IPCaptureEvent)
		}
	}
	var ids idKinds
	for i := range doc.PersonOrUserReported {
		u := &doc.PersonOrUserReported[i]
		ips(u.IPCaptureEvent)
		ids.user(u)
		s.priorReports += len(u.PriorCTReports)
		for j := range u.AssociatedAccount {
			ips(u.AssociatedAccount[j].IPCaptureEvent)
			s.priorReports += len(u.AssociatedAccount[j].PriorCTReport)
		}
	}
	s.suspectIDs, s.suspectVerified = ids.describe()
	for i := range doc.Victim {
		v := &doc.Victim[i]
		s.victimIDs = s.victimIDs || v.ESPIdentifier != "" || v.ScreenName != "" || personIdentified(&v.VictimPerson)
		s.youngVictim = s.youngVictim || young(&v.VictimPerson, doc)
	}
	for i := range doc.IntendedRecipient {
		p := &doc.IntendedRecipient[i]
		s.victimIDs = s.victimIDs || p.ESPIdentifier != "" || p.ScreenName != "" || personIdentified(p.IntendedRecipientPerson)
		s.youngVictim = s.youngVictim || young(p.IntendedRecipientPerson, doc)
	}
	return s
}

// idKinds records which kinds of identifiers the reported users have.
type idKinds struct {
	service, screen, name, email, phone, profile, device bool
	verifiedEmail, verifiedPhone                         bool
}

func (k *idKinds) user(u *guardian.PersonOrUserReported) {
	k.service = k.service || u.ESPIdentifier != ""
	k.screen = k.screen || u.ScreenName != "" || len(u.DisplayName) > 0
	k.profile = k.profile || len(u.ProfileURL) > 0
	k.device = k.device || len(u.DeviceID) > 0
	if p := u.PersonOrUserReportedPerson; p != nil {
		k.name = k.name || p.FirstName != "" || p.LastName != ""
		k.email = k.email || len(p.Email) > 0
		k.phone = k.phone || len(p.Phone) > 0
		for _, e := range p.Email {
			k.verifiedEmail = k.verifiedEmail || e.Verified != nil && *e.Verified
		}
		for _, ph := range p.Phone {
			k.verifiedPhone = k.verifiedPhone || ph.Verified != nil && *ph.Verified
		}
	}
}

// describe lists the kinds found, in fixed words.
func (k *idKinds) describe() (ids, verified string) {
	var b []string
	for _, x := range []struct {
		on   bool
		word string
	}{
		{k.service, "service ID"}, {k.screen, "screen or display name"}, {k.name, "name"},
		{k.email, "e-mail"}, {k.phone, "phone"}, {k.profile, "profile URL"}, {k.device, "device ID"},
	} {
		if x.on {
			b = append(b, x.word)
		}
	}
	ids = strings.Join(b, ", ")
	var v []string
	if k.verifiedEmail {
		v = append(v, "e-mail")
	}
	if k.verifiedPhone {
		v = append(v, "phone")
	}
	if k.device {
		v = append(v, "device ID")
	}
	if len(v) > 0 {
		verified = "reported user has a verified or device-bound identifier: " + strings.Join(v, ", ")
	}
	return ids, verified
}

func personIdentified(p *guardian.Person) bool {
	return p != nil && (p.FirstName != "" || p.LastName != "" || p.Age != nil || p.DateOfBirth != nil ||
		len(p.Email) > 0 || len(p.Phone) > 0 || len(p.Address) > 0)
}

// young reports whether a person is under youngVictimAge, by age or by date
// of birth at the incident time.
func young(p *guardian.Person, doc *guardian.ReportDocument) bool {
	if p == nil {
		return false
	}
	if p.Age != nil {
		return *p.Age < youngVictimAge
	}
	at := doc.IncidentSummary.IncidentDateTime.Time
	if p.DateOfBirth == nil || p.DateOfBirth.Time.IsZero() || at.IsZero() {
		return false
	}
	return at.Before(p.DateOfBirth.Time.AddDate(youngVictimAge, 0, 0))
}

func count(n, of int, what string) string {
	return strconv.Itoa(n) + " of " + strconv.Itoa(of) + " " + what
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
