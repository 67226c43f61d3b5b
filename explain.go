package guardian

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file turns an Assessment and a Triage into sentences for an
// investigator: what the evidence says, in words, without the numbers and
// element paths an analyst reads in "guardian route explain".
//
// The sentences carry no personal data. An Evidence names an IP address, a
// calling code or a domain in Value; the sentences say "an address in
// Paraguay" and "a telephone number of Germany" instead, and name only the
// country-code domain (".de"), which identifies no one. Notes and triage
// details are fixed words chosen by the rules, never report text.

// maxEvidenceSentences bounds the sentences about one country: a report
// with hundreds of logins from one country says so once, with a count.
const maxEvidenceSentences = 12

// ExplainJurisdiction says in plain sentences where a report belongs and
// why: the most likely country and how far it can be trusted, then each
// piece of evidence, then the evidence that named no country. Times are
// given as dates; [ExplainJurisdictionAt] gives them relative to the
// report.
func ExplainJurisdiction(a *Assessment) []string {
	return ExplainJurisdictionAt(a, time.Time{})
}

// ExplainJurisdictionAt is [ExplainJurisdiction] with the time the report
// was made (a referral's ReceivedAt), so that times read "2 hours before
// the report". A zero time gives dates instead.
func ExplainJurisdictionAt(a *Assessment, reported time.Time) []string {
	if a == nil {
		return nil
	}
	x := explainer{reported: reported, users: countUsers(a)}
	var out []string
	top, ok := a.Top()
	if a.NoLocation || !ok {
		out = append(out, "No evidence in the report names a country: an analyst must place it.")
	} else {
		out = append(out, sentence(fmt.Sprintf("Most likely %s, with %s of the evidence; %s (confidence %s).",
			countryPhrase(top.Country), percent(top.Score), confidenceWords(a.Confidence), strconv.FormatFloat(round(a.Confidence, 2), 'f', -1, 64))))
		if len(a.Countries) > 1 {
			others := make([]string, 0, len(a.Countries)-1)
			for _, c := range a.Countries[1:] {
				others = append(others, countryPhrase(c.Country)+" ("+percent(c.Score)+")")
			}
			out = append(out, "Also "+joinAnd(others)+".")
		}
	}
	if n := len(a.PerUser); n > 0 {
		out = append(out, fmt.Sprintf("The report groups %d reported users; each was placed on their own evidence as well.", n))
	}
	for _, c := range a.Countries {
		var lines []string
		for i := range c.Evidence {
			lines = append(lines, x.evidence(&c.Evidence[i]))
		}
		out = append(out, dedupe(lines, "for "+countryPhrase(c.Country))...)
	}
	var lines []string
	for i := range a.Unresolved {
		lines = append(lines, x.unresolved(&a.Unresolved[i]))
	}
	return append(out, dedupe(lines, "that name no country")...)
}

// confidenceWords reads a confidence as docs/triage.md does.
func confidenceWords(c float64) string {
	switch {
	case c >= 0.7:
		return "the location is well supported"
	case c >= 0.4:
		return "the location needs a look at the evidence"
	default:
		return "the location is a lead, not an answer"
	}
}

type explainer struct {
	reported time.Time
	users    int // reported users named in the evidence, to number them when there are several
}

// countUsers returns how many reported users the evidence of a names.
func countUsers(a *Assessment) int {
	n := 0
	see := func(evs []Evidence) {
		for i := range evs {
			if p, ok := strings.CutPrefix(evs[i].Source, "personOrUserReported["); ok {
				if k, _, ok := strings.Cut(p, "]"); ok {
					if j, err := strconv.Atoi(k); err == nil && j >= n {
						n = j + 1
					}
				}
			}
		}
	}
	for _, c := range a.Countries {
		see(c.Evidence)
	}
	see(a.Unresolved)
	return max(n, len(a.PerUser))
}

// party is whom or what a piece of evidence is about, from its source path.
type party struct {
	who        string // "the reported user", "a victim", "a file", ...
	linked     bool   // found in an associated account
	field      string // last element: "phone", "email", "profileUrl", "ipCaptureEvent", ...
	p2p        bool   // a peer-to-peer capture
	cellPhone  bool   // the phone of a cell phone incident
	incidentEm bool   // an e-mail of an e-mail or newsgroup incident
	webPage    bool   // a reported web page
}

func (x *explainer) party(src string) party {
	var p party
	parts := strings.Split(src, "/")
	last := parts[len(parts)-1]
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	p.field = last
	head, idx := parts[0], -1
	if i := strings.IndexByte(head, '['); i >= 0 {
		if j, err := strconv.Atoi(strings.TrimSuffix(head[i+1:], "]")); err == nil {
			idx = j
		}
		head = head[:i]
	}
	p.linked = strings.Contains(src, "/associatedAccount[")
	switch head {
	case "personOrUserReported":
		p.who = "the reported user"
		if x.users > 1 && idx >= 0 {
			p.who = "reported user " + strconv.Itoa(idx+1)
		}
	case "victim":
		p.who = "a victim"
	case "intendedRecipient":
		p.who = "an intended recipient"
	case "file":
		p.who = "a file"
	case "lawEnforcement":
		p.who = "law enforcement"
	case "internetDetails":
		p.who = "the incident"
		p.p2p = strings.Contains(src, "/peer2peerIncident")
		p.cellPhone = strings.Contains(src, "/cellPhoneIncident")
		p.incidentEm = strings.Contains(src, "/emailIncident") || strings.Contains(src, "/newsgroupIncident")
		p.webPage = strings.Contains(src, "/webPageIncident")
	default:
		p.who = "someone in the report"
	}
	return p
}

// subject is the party as the subject of a sentence about its account.
func (p party) subject() string {
	if p.p2p {
		return "a peer-to-peer client of the incident"
	}
	if p.linked {
		return "an account linked to " + p.who
	}
	return p.who
}

// evidence explains one piece of evidence that names a country.
func (x *explainer) evidence(ev *Evidence) string {
	in := countryPhrase(ev.Country)
	p := x.party(ev.Source)
	note, _, _ := strings.Cut(ev.Note, ";")
	var s string
	switch ev.Kind {
	case EvidenceUploadIP:
		if p.who == "a file" {
			s = "A file was uploaded from an address in " + in
		} else {
			s = p.subject() + " uploaded a file from an address in " + in
		}
		s += x.when(ev, true)
	case EvidenceIP:
		switch {
		case p.p2p:
			s = p.subject() + " was seen at an address in " + in
		case note == "login":
			s = p.subject() + " signed in from an address in " + in
		case note == "purchase":
			s = p.subject() + " made a purchase from an address in " + in
		case note == "registration":
			s = p.subject() + " registered from an address in " + in
		default:
			s = "The service recorded an address in " + in + " for " + p.subject()
		}
		s += x.when(ev, true)
	case EvidenceIncidentAddress:
		s = "The incident happened at an address in " + in
	case EvidenceVerifiedLocation:
		s = "The service verified that " + p.subject() + " is in " + in + x.asOf(ev)
	case EvidenceEstimatedLocation:
		s = "The service estimates that " + p.subject() + " is in " + in + x.asOf(ev)
	case EvidenceAddress:
		what := "an address"
		switch note {
		case "home address", "billing address", "shipping address", "business address", "technical address":
			what = article(note)
		}
		s = p.subject() + " has " + what + " in " + in
	case EvidencePhone:
		if p.cellPhone {
			s = "The telephone of the incident has a number of " + in
		} else {
			s = p.subject() + " has a telephone number of " + in
		}
	case EvidenceLegalProcess:
		s = "Law enforcement in " + in + " served legal process about this report: they may already have a case"
	case EvidenceDomain:
		domain := ""
		if isCCDomain(ev.Value) {
			domain = " (" + ev.Value + ")"
		}
		switch {
		case p.webPage:
			s = "A reported web page is on a domain of " + in + domain + ", which says where the site is registered, not where anyone is"
		case p.incidentEm:
			s = "An e-mail address of the incident is on a domain of " + in + domain
		case p.field == "profileUrl":
			s = "A profile of " + p.subject() + " is on a domain of " + in + domain
		default:
			s = p.subject() + " has an e-mail address on a domain of " + in + domain
		}
	default:
		s = "Evidence of kind " + Clip(string(ev.Kind), 32) + " names " + in
	}
	return sentence(s + ".")
}

// unresolved explains one piece of evidence that named no country.
func (x *explainer) unresolved(ev *Evidence) string {
	p := x.party(ev.Source)
	var thing string
	switch ev.Kind {
	case EvidenceUploadIP:
		thing = "the upload address of " + p.subject()
		if p.who == "a file" {
			thing = "the upload address of a file"
		}
	case EvidenceIP:
		thing = "an address recorded for " + p.subject()
		if p.p2p {
			thing = "an address of " + p.subject()
		}
	case EvidencePhone:
		thing = "a telephone number of " + p.subject()
		if p.cellPhone {
			thing = "the telephone number of the incident"
		}
	case EvidenceVerifiedLocation, EvidenceEstimatedLocation:
		thing = "the service's location for " + p.subject()
	case EvidenceAddress:
		thing = "a postal address of " + p.subject()
	case EvidenceIncidentAddress:
		thing = "the address of the incident"
	case EvidenceLegalProcess:
		thing = "the country that served legal process"
	default:
		thing = "evidence about " + p.subject()
	}
	note := ev.Note
	var s string
	switch {
	case strings.HasPrefix(note, "possible proxy"):
		exit := ""
		if _, after, ok := strings.Cut(note, "(exit in "); ok && len(after) >= 2 {
			exit = " (its exit is in " + countryPhrase(after[:2]) + ")"
		}
		s = thing + " may be a proxy" + exit + ", so it does not show where anyone is"
	case strings.HasSuffix(note, " address: locates no one"):
		class := strings.TrimSuffix(note, " address: locates no one")
		s = thing + " is " + article(class+" address") + ", which locates no one"
	case note == "not an IP address":
		s = thing + " is not an IP address"
	case note == "no country in the IP database":
		s = thing + " is in no country of the IP database"
	case strings.HasPrefix(note, "pseudo country code "):
		rest := strings.TrimSuffix(strings.TrimPrefix(note, "pseudo country code "), ": no country")
		s = thing + " gives the code " + rest + ", which names no country"
	case note == "not a country code":
		s = thing + " gives a code that is not a country's"
	case note == "":
		s = thing + " names no country"
	default:
		s = thing + " names no country: " + note
	}
	return sentence(s + ".")
}

// when says when an address was seen: relative to the report when its time
// is known, else as a date; and how far from the incident, from the note.
func (x *explainer) when(ev *Evidence, isIP bool) string {
	var s string
	switch {
	case !ev.Time.IsZero() && !x.reported.IsZero():
		s = ", " + relative(ev.Time, x.reported)
	case !ev.Time.IsZero():
		s = ", on " + ev.Time.UTC().Format("2 January 2006 at 15:04 UTC")
	case isIP && strings.Contains(ev.Note, "time unknown"):
		s = ", at a time the report does not give"
	}
	if _, band, ok := strings.Cut(ev.Note, "; within "); ok {
		band, _, _ = strings.Cut(band, ";")
		s += " (within " + band + ")"
	} else if strings.Contains(ev.Note, "over a year from the incident") {
		s += " (over a year from the incident)"
	}
	return s
}

// asOf says when a location was observed, if the report says.
func (x *explainer) asOf(ev *Evidence) string {
	if ev.Time.IsZero() {
		return ""
	}
	if !x.reported.IsZero() {
		return ", as of " + relative(ev.Time, x.reported)
	}
	return ", as of " + ev.Time.UTC().Format("2 January 2006")
}

// relative says how long before or after the report t was.
func relative(t, reported time.Time) string {
	d := reported.Sub(t)
	switch {
	case d.Abs() < time.Minute:
		return "at the time of the report"
	case d > 0:
		return HumanDuration(d) + " before the report"
	default:
		return HumanDuration(-d) + " after the report"
	}
}

// HumanDuration rounds d to the unit a person would use: "40 minutes",
// "2 hours", "3 days", "5 months", "2 years". Negative durations are read
// as their length.
func HumanDuration(d time.Duration) string {
	d = d.Abs()
	const (
		day   = 24 * time.Hour
		month = 30*day + 10*time.Hour + 30*time.Minute // 365.25 days / 12, near enough
		year  = 365*day + 6*time.Hour
	)
	units := []struct {
		below time.Duration // use this unit below this length
		unit  time.Duration
		name  string
	}{
		{time.Hour, time.Minute, "minute"},
		{day, time.Hour, "hour"},
		{60 * day, day, "day"},
		{2 * year, month, "month"},
		{math.MaxInt64, year, "year"},
	}
	if d < 30*time.Second {
		return "less than a minute"
	}
	for i, u := range units {
		if d >= u.below {
			continue
		}
		n := int64(math.Round(float64(d) / float64(u.unit)))
		// Rounding up may reach the next unit: 59.6 minutes is an hour.
		if i+1 < len(units) && time.Duration(n)*u.unit >= u.below && u.below%units[i+1].unit == 0 {
			n, u = int64(u.below/units[i+1].unit), units[i+1]
		}
		if n == 1 {
			return "1 " + u.name
		}
		return strconv.FormatInt(n, 10) + " " + u.name + "s"
	}
	return "" // unreachable: the last unit has no bound
}

// isCCDomain reports whether s is a country-code domain as the resolver
// records it (".de"), safe to show.
func isCCDomain(s string) bool {
	return len(s) == 3 && s[0] == '.' && s[1] >= 'a' && s[1] <= 'z' && s[2] >= 'a' && s[2] <= 'z'
}

// ExplainTriage says in plain sentences how urgent a report is and why:
// its priority, whether it is referred, and each rule that applied, in the
// order applied.
func ExplainTriage(t *Triage) []string {
	if t == nil {
		return nil
	}
	out := []string{priorityWords(t)}
	out = append(out, fmt.Sprintf("Actionability %s of 100: how much an agency could do with the report.", strconv.FormatFloat(round(t.Score, 1), 'f', -1, 64)))
	for i := range t.Reasons {
		out = append(out, explainReason(&t.Reasons[i], t))
	}
	return out
}

// priorityWords says the priority and what it means now.
func priorityWords(t *Triage) string {
	meaning := map[Priority]string{
		Priority1: "a child may be in imminent danger",
		Priority2: "serious, act soon",
		Priority3: "act in turn",
	}
	switch {
	case t.Priority == PriorityUnreviewed:
		s := "Priority E: the reporting service did not look at the content, so nobody can yet say how urgent it is"
		if m, ok := meaning[t.ReviewPriority]; ok {
			s += "; once reviewed, the rules give priority " + string(t.ReviewPriority) + " (" + m + ")"
		}
		return s + "."
	case t.Escalated && t.Priority == Priority1:
		s := "Priority 1 for now: the service asked for high priority, and an analyst confirms or lowers it"
		if t.ReviewPriority != Priority1 {
			if m, ok := meaning[t.ReviewPriority]; ok {
				s += "; the rules alone give priority " + string(t.ReviewPriority) + " (" + m + ")"
			}
		}
		return s + "."
	}
	if m, ok := meaning[t.Priority]; ok {
		return "Priority " + string(t.Priority) + ": " + m + "."
	}
	return "Priority " + Clip(string(t.Priority), 8) + "."
}

// ruleWords are the sentences of the triage rules of docs/triage.md, by
// rule name. "%s" stands for the reason's detail (fixed words chosen by
// the rule, such as "2 of 3 upload addresses public"), less the words
// the sentence already says (ruleTrim).
var ruleWords = map[string]string{
	// Actionability.
	"upload-ip-present":     "The address a file was uploaded from is public, so the service can be asked who used it (%s).",
	"other-ip":              "The report has %s.",
	"file-viewed":           "The service looked at the content itself (%s).",
	"incident-time":         "The report gives the time of the incident.",
	"suspect-identifiers":   "The reported user can be identified by %s.",
	"suspect-verified":      "The reported user has a verified or device-bound identifier: %s.",
	"location-confidence":   "", // built from the reason
	"victim-identified":     "A victim or intended recipient is identified.",
	"prior-reports":         "The reported user has been reported before (%s).",
	"law-enforcement-aware": "The report names a law-enforcement agency that already knows of it.",
	// Urgency: incident types.
	"incident-trafficking":      "The incident is child sex trafficking.",
	"incident-molestation":      "The incident is child sexual molestation: hands-on abuse.",
	"incident-sex-tourism":      "The incident is child sex tourism.",
	"incident-enticement":       "The incident is online enticement of a child for sexual acts: contact with a child.",
	"incident-obscene-material": "The incident is unsolicited obscene material sent to a child.",
	"incident-csam":             "The incident is child sexual abuse material (possession, manufacture or distribution).",
	// Urgency: report annotations.
	"sextortion":            "The service flagged sextortion: a child is being coerced, with a high risk of self-harm.",
	"sadistic-exploitation": "The service flagged sadistic online exploitation.",
	"csam-solicitation":     "The service flagged solicitation of child sexual abuse material.",
	"minor-to-minor":        "The service flagged an interaction between minors: usually there is no adult offender.",
	"spam":                  "The service flagged the report as spam.",
	"viral-meme-batch":      "The report is a batch of potential memes.",
	"young-victim":          "A victim or intended recipient is a young child (%s).",
	// Urgency: known content (docs/known-content.md).
	"known-content": "The files are already in hash lists of known, widely circulated content (%s).",
	"new-content":   "No file is in any hash list of known content, and the content came from a public address: it may be new material of a child abused now (%s).",
	// Urgency: file annotations.
	"physical-harm":    "Files show physical harm (%s).",
	"infant":           "Files show an infant or toddler (%s).",
	"live-streaming":   "Files come from a live stream, so the abuse may be going on now (%s).",
	"violence-gore":    "Files show violence or gore (%s).",
	"bestiality":       "Files show bestiality (%s).",
	"self-production":  "Files may be self-produced, which is often coerced and a sign of sextortion (%s).",
	"generative-ai":    "Files may be generated by AI (%s).",
	"drawn-or-virtual": "Files are drawn or virtual, with no real child depicted (%s).",
	"viral":            "Files are viral, widely shared (%s).",
	"potential-meme":   "Files are potential memes, often shared without malice (%s).",
	// Urgency: industry classification.
	"classification-a1": "The most severe file is classified A1: a prepubescent child, a sex act.",
	"classification-a2": "The most severe file is classified A2: a prepubescent child, lascivious exhibition.",
	"classification-b1": "The most severe file is classified B1: a pubescent child, a sex act.",
	"classification-b2": "The most severe file is classified B2: a pubescent child, lascivious exhibition.",
	// Priority.
	"rules-priority": "", // built from the triage
	"escalated":      "The service asked for high priority: the report is a provisional priority 1 until an analyst confirms or lowers it.",
	"not-reviewed":   "The service viewed none of the files: priority E until someone reviews them under legal authority.",
	// Label.
	"referral-escalated":           "Referred: escalated reports are always referred.",
	"thin-report":                  "Not referred: no files, no identifier of the reported user and no location.",
	"meme-without-malice":          "Not referred: only potential memes, with nothing that makes them worse.",
	"known-content-without-malice": "Not referred: only content already in hash lists, with nothing that makes it worse.",
	"referral":                     "Referred: the report is actionable.",
}

// ruleTrim are the words of a rule's detail that its sentence already
// says: a prefix and a suffix.
var ruleTrim = map[string][2]string{
	"suspect-identifiers": {"reported user identified by ", ""},
	"suspect-verified":    {"reported user has a verified or device-bound identifier: ", ""},
	"prior-reports":       {"", " on the reported user"},
	"file-viewed":         {"", " by the service"},
	"young-victim":        {"a victim or intended recipient ", ""},
}

// explainReason says one triage reason in words.
func explainReason(r *Reason, t *Triage) string {
	words, known := ruleWords[r.Rule]
	detail := Clip(r.Detail, 200)
	if trim, ok := ruleTrim[r.Rule]; ok {
		detail = strings.TrimSuffix(strings.TrimPrefix(detail, trim[0]), trim[1])
	}
	var s string
	switch {
	case r.Rule == "rules-priority":
		s = fmt.Sprintf("The urgency of the report is %s, which gives priority %s once the content is reviewed.",
			strconv.FormatFloat(round(t.Urgency, 1), 'f', -1, 64), t.ReviewPriority)
	case r.Rule == "location-confidence":
		s = "How sure the location is"
		if i := strings.LastIndex(r.Detail, " in "); i >= 0 && len(r.Detail)-i == 6 {
			s = "How sure the location in " + countryPhrase(r.Detail[i+4:]) + " is"
		}
		s += " adds to what an agency can do."
	case r.Rule == "incident-time" && strings.Contains(r.Detail, "without a time zone"):
		s = "The report gives the time of the incident, without a time zone: it is known to within a day."
	case !known:
		// A rule newer than this table: its detail is still fixed words.
		s = "Rule " + Clip(r.Rule, 40) + " applied"
		if detail != "" {
			s += ": " + detail
		}
		s += "."
	case strings.Contains(words, "%s"):
		if detail == "" {
			words, detail = strings.Replace(words, " (%s)", "", 1), "details not recorded"
		}
		s = strings.Replace(words, "%s", detail, 1)
	default:
		s = words
	}
	if r.Weight != 0 && (r.Scale == ScaleUrgency || r.Scale == ScaleActionability) {
		// "Files show violence (1 of 2 reported files; urgency +25)."
		w := string(r.Scale) + " " + signed(r.Weight)
		if strings.HasSuffix(s, ").") {
			s = s[:len(s)-2] + "; " + w + ")."
		} else {
			s = strings.TrimSuffix(s, ".") + " (" + w + ")."
		}
	}
	return s
}

// signed formats a weight with its sign: "+45", "-10", "+9.4".
func signed(w float64) string {
	s := strconv.FormatFloat(round(w, 1), 'f', -1, 64)
	if w > 0 {
		return "+" + s
	}
	return s
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// percent formats a share from 0 to 1 as a whole percentage.
func percent(x float64) string {
	return strconv.Itoa(int(math.Round(x*100))) + "%"
}

// article puts "a" or "an" before a noun phrase.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// joinAnd joins items as English does: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// sentence capitalises the first letter.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// dedupe collapses repeated sentences into one with a count, keeping the
// order of first appearance, and bounds them: at most maxEvidenceSentences,
// the last saying how many pieces of evidence (what) were left out.
func dedupe(lines []string, what string) []string {
	counts := make(map[string]int, len(lines))
	var order []string
	for _, l := range lines {
		if counts[l] == 0 {
			order = append(order, l)
		}
		counts[l]++
	}
	left := 0
	if len(order) > maxEvidenceSentences {
		for _, l := range order[maxEvidenceSentences-1:] {
			left += counts[l]
		}
		order = order[:maxEvidenceSentences-1]
	}
	out := make([]string, 0, len(order)+1)
	for _, l := range order {
		if n := counts[l]; n > 1 {
			l = strings.TrimSuffix(l, ".") + " (" + strconv.Itoa(n) + " times)."
		}
		out = append(out, l)
	}
	if left > 0 {
		out = append(out, fmt.Sprintf("And %d more pieces of evidence %s.", left, what))
	}
	return out
}
