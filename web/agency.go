package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/api"
)

// The agencies' pages: the inbox, one referral with its content and the
// forms that act on it, and the supervisors' board (the liaison office's
// page is liaison.go, the images images.go). Every handler is one call of
// the API's services, which ask access and record the audit events, and
// one rendering; the forms are plain HTML that works without JavaScript,
// which htmx only speeds up.

func (h *Handler) agencyRoutes() []route {
	return []route{
		{"GET", "/referrals", api.AuthPerson, h.handleInbox},
		{"GET", "/referrals/{id}", api.AuthPerson, h.handleReferral},
		{"POST", "/referrals/{id}/open", api.AuthPerson, h.handleOpen},
		{"POST", "/referrals/{id}/acknowledge", api.AuthPerson, h.handleAcknowledge},
		{"POST", "/referrals/{id}/assign", api.AuthPerson, h.handleAssign},
		{"POST", "/referrals/{id}/messages", api.AuthPerson, h.handleMessage},
		{"POST", "/referrals/{id}/decline", api.AuthPerson, h.handleDecline},
		{"POST", "/referrals/{id}/outcome", api.AuthPerson, h.handleOutcome},
		{"POST", "/referrals/{id}/legal-authority", api.AuthPerson, h.handleLegalAuthority},
		{"GET", "/referrals/{id}/package", api.AuthPerson, h.handlePackage},
		{"GET", "/referrals/{id}/files/{fileId}/preview", api.AuthPerson, h.handlePreview},
		{"GET", "/referrals/{id}/files/{fileId}/blurred", api.AuthPerson, h.handleBlurred},
		{"GET", "/referrals/{id}/files/{fileId}/image", api.AuthPerson, h.handleImage},
		{"GET", "/referrals/{id}/files/{fileId}/download", api.AuthPerson, h.handleDownload},
		{"GET", "/supervision", api.AuthPerson, h.handleSupervision},
		{"GET", "/liaison", api.AuthPerson, h.handleLiaison},
	}
}

// pathID reads the referral id of the path (api.PathID).
func pathID(r *http.Request) int64 { return api.PathID(r, "id") }

func referralPath(id int64) string { return "/referrals/" + strconv.FormatInt(id, 10) }

// queryJustification is the justification a link carries (case, reason),
// for the downloads and images a person opens from the referral page;
// none after their consultation of the day.
func queryJustification(r *http.Request) guardian.Justification {
	q := r.URL.Query()
	return guardian.Justification{CaseNumber: q.Get("case"), Reason: q.Get("reason")}
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// agencyNotices are the notices the agency pages' redirects may ask for:
// a fixed set, as noticeKeys.
var agencyNotices = map[string]string{
	"opened": msg("agency.notice.opened"), "acknowledged": msg("agency.notice.acknowledged"),
	"assigned": msg("agency.notice.assigned"), "message": msg("agency.notice.message"),
	"declined": msg("agency.notice.declined"), "outcome": msg("agency.notice.outcome"),
	"authority": msg("agency.notice.authority"),
}

// agencyPage is newPage with the agency pages' own notices.
func (h *Handler) agencyPage(r *http.Request, c *api.Call, title string, data any) *page {
	p := h.newPage(r, c, title, data)
	if k := agencyNotices[r.URL.Query().Get("notice")]; k != "" {
		p.Notice = k
	}
	return p
}

// The words of the referrals' fixed values, by value.
var (
	stateKeys = map[guardian.ReferralState]string{
		guardian.ReferralNew: msg("agency.state.new"), guardian.ReferralDelivered: msg("agency.state.delivered"),
		guardian.ReferralOpened: msg("agency.state.opened"), guardian.ReferralAcknowledged: msg("agency.state.acknowledged"),
		guardian.ReferralClosed: msg("agency.state.closed"), guardian.ReferralWithdrawn: msg("agency.state.withdrawn"),
		guardian.ReferralRerouted: msg("agency.state.re-routed"),
	}
	priorityKeys = map[guardian.Priority]string{
		guardian.PriorityUnreviewed: msg("agency.priority.E"), guardian.Priority1: msg("agency.priority.1"),
		guardian.Priority2: msg("agency.priority.2"), guardian.Priority3: msg("agency.priority.3"),
	}
	labelKeys = map[guardian.Label]string{
		guardian.LabelReferral: msg("agency.label.referral"), guardian.LabelInformational: msg("agency.label.informational"),
	}
	referralReasonKeys = map[guardian.ReferralReason]string{
		guardian.ReasonPartner: msg("agency.reason.partner"), guardian.ReasonLiaison: msg("agency.reason.liaison"),
		guardian.ReasonFallback: msg("agency.reason.fallback"), guardian.ReasonDomestic: msg("agency.reason.domestic"),
		guardian.ReasonNoLocation: msg("agency.reason.no-location"), guardian.ReasonAnalyst: msg("agency.reason.analyst"),
	}
	statusKeys = map[guardian.CaseStatus]string{
		guardian.CaseOngoing: msg("agency.outcome.status.ongoing"), guardian.CaseArrest: msg("agency.outcome.status.arrest"),
		guardian.CaseConviction: msg("agency.outcome.status.conviction"), guardian.CaseReferredElsewhere: msg("agency.outcome.status.referred-elsewhere"),
		guardian.CaseClosed: msg("agency.outcome.status.closed"),
	}
	closureKeys = map[guardian.ClosureReason]string{
		guardian.ClosureSubjectNotFound: msg("agency.outcome.closure.subject-not-found"), guardian.ClosureInsufficientData: msg("agency.outcome.closure.provider-data-insufficient"),
		guardian.ClosureNoCrime: msg("agency.outcome.closure.no-crime"), guardian.ClosureNoProsecutorialMerit: msg("agency.outcome.closure.no-prosecutorial-merit"),
		guardian.ClosurePersonIsAdult: msg("agency.outcome.closure.person-is-adult"), guardian.ClosureAgeUndeterminable: msg("agency.outcome.closure.age-undeterminable"),
		guardian.ClosureFalseReport: msg("agency.outcome.closure.false-report"), guardian.ClosureSubjectDeceased: msg("agency.outcome.closure.subject-deceased"),
		guardian.ClosureOther: msg("agency.outcome.closure.other"),
	}
	usefulnessKeys = map[guardian.Usefulness]string{
		guardian.Useful: msg("agency.outcome.useful.useful"), guardian.UsefulnessStale: msg("agency.outcome.useful.stale"),
		guardian.UsefulnessLimited: msg("agency.outcome.useful.limited"),
	}
	messageKindKeys = map[guardian.MessageKind]string{
		guardian.MessageRequestInfo: msg("agency.message.kind.request-info"), guardian.MessageReply: msg("agency.message.kind.reply"),
		guardian.MessageNote: msg("agency.message.kind.note"),
	}
)

// scopeKeys are the words of a data scope's sections.
var scopeKeys = map[string]string{
	"reporter-contacts": msg("agency.scope.reporter-contacts"), "suspect-details": msg("agency.scope.suspect-details"),
	"victim-details": msg("agency.scope.victim-details"), "files": msg("agency.scope.files"),
	"file-content": msg("agency.scope.file-content"),
}

// listStates are the states an agency's lists may be filtered by, in the
// order of the work.
var listStates = []guardian.ReferralState{
	guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged,
	guardian.ReferralClosed, guardian.ReferralRerouted,
}

var listPriorities = []guardian.Priority{guardian.PriorityUnreviewed, guardian.Priority1, guardian.Priority2, guardian.Priority3}

// option is one choice of a select.
type option struct {
	Value, Key string
	Selected   bool
}

func options[T ~string](all []T, keys map[T]string, selected string) []option {
	out := make([]option, 0, len(all))
	for _, v := range all {
		out = append(out, option{Value: string(v), Key: keys[v], Selected: string(v) == selected})
	}
	return out
}

// listParams are the list parameters a page passes on to the services
// (and keeps in its links): the filters, the page size and the cursor.
func listParams(q url.Values) url.Values {
	out := url.Values{}
	for _, name := range []string{"state", "priority", "limit", "cursor"} {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			out.Set(name, v)
		}
	}
	return out
}

// filterView is the filter form of a list.
type filterView struct {
	P                  *page
	Action             string
	States, Priorities []option
	Limit              string
}

// pager is a list's links: the next page, and back to the first.
type pager struct {
	Next, First string
}

func pagerOf(path string, params url.Values, next string) pager {
	var pg pager
	if next != "" {
		np := cloneValues(params)
		np.Set("cursor", next)
		pg.Next = path + "?" + np.Encode()
	}
	if params.Get("cursor") != "" {
		fp := cloneValues(params)
		fp.Del("cursor")
		pg.First = path + "?" + fp.Encode()
	}
	return pg
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// rowView is a referral as a list shows it.
type rowView struct {
	api.ReferralView
	StateKey, LabelKey string
	AssigneeName       string
}

// tableView is a table of referrals; ID and Refresh make its body reload
// itself every 20 seconds through htmx (the rows block only).
type tableView struct {
	P              *page
	ID, Refresh    string
	Caption, Empty string
	Rows           []rowView
}

// rows turns referrals into rows, naming their assignees from the
// agency's people.
func (h *Handler) rows(ctx context.Context, c *api.Call, refs []api.ReferralView) ([]rowView, error) {
	names := map[string]string{}
	if slices.ContainsFunc(refs, func(v api.ReferralView) bool { return v.Assignee != "" }) {
		people, err := h.API.Assignees(ctx, c)
		if err != nil {
			return nil, err
		}
		for _, u := range people {
			names[strconv.FormatInt(u.ID, 10)] = personName(u)
		}
	}
	out := make([]rowView, 0, len(refs))
	for _, v := range refs {
		rv := rowView{ReferralView: v, StateKey: stateKeys[v.State], LabelKey: labelKeys[v.Label], AssigneeName: names[v.Assignee]}
		if rv.AssigneeName == "" {
			rv.AssigneeName = v.Assignee
		}
		out = append(out, rv)
	}
	return out, nil
}

func personName(u *guardian.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Name
}

// inboxView is the inbox page.
type inboxView struct {
	Filters  filterView
	Pager    pager
	Rows     []rowView
	Self     string
	Query    string
	Searched bool
	Matches  []rowView
}

// Table is the inbox's table, for the templates.
func (v *inboxView) Table(p *page) tableView {
	return tableView{P: p, ID: "inbox-rows", Refresh: v.Self, Caption: msg("agency.inbox.caption"), Empty: msg("agency.inbox.empty"), Rows: v.Rows}
}

// FilterForm is the inbox's filter form, for the templates.
func (v *inboxView) FilterForm(p *page) filterView { f := v.Filters; f.P = p; return f }

func filtersOf(action string, q url.Values) filterView {
	return filterView{Action: action, States: options(listStates, stateKeys, q.Get("state")),
		Priorities: options(listPriorities, priorityKeys, q.Get("priority")), Limit: q.Get("limit")}
}

// handleInbox shows the person's referrals, most urgent first, with the
// filters, the search and the next page; the rows alone to the table's
// own htmx refresh.
func (h *Handler) handleInbox(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	ctx := r.Context()
	q := r.URL.Query()
	params := listParams(q)
	list, err := h.API.ListReferrals(ctx, c, params)
	if err != nil {
		return err
	}
	v := &inboxView{Filters: filtersOf("/referrals", q), Pager: pagerOf("/referrals", params, list.NextCursor),
		Self: "/referrals?" + params.Encode()}
	if v.Rows, err = h.rows(ctx, c, list.Referrals); err != nil {
		return err
	}
	p := h.agencyPage(r, c, msg("agency.inbox.title"), v)
	if isHTMX(r) && r.Header.Get("HX-Target") == "inbox-rows" {
		return h.renderBlock(w, http.StatusOK, "inbox", "inbox_rows", p)
	}
	if s := strings.TrimSpace(q.Get("q")); s != "" {
		v.Searched, v.Query = true, guardian.Clip(s, 40)
		id, _ := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
		found, err := h.API.SearchReferrals(ctx, c, id)
		if err != nil {
			return err
		}
		if v.Matches, err = h.rows(ctx, c, found); err != nil {
			return err
		}
	}
	return h.render(w, r, http.StatusOK, "inbox", p)
}

// referralView is the referral page.
type referralView struct {
	D                                          api.ReferralDetail
	StateKey, PriorityKey, LabelKey, ReasonKey string
	ReviewKey                                  string
	ScopeKeys                                  []string
	Own                                        bool // the agency's own referral, not seen through an escalation
	AssigneeName                               string
	Outcome                                    *outcomeView

	// The content: the prompt for a justification, or why it cannot be
	// shown, or the document and the files.
	Prompt      bool
	PromptError string
	Blocked     string
	Shown       bool
	Sections    []section
	Files       []fileRow
	Locked      []fileRow // files a legal authority would open
	LegalForm   bool

	Messages []messageView

	CanAcknowledge, CanAssign, CanDecline, CanOutcome, CanPackage bool
	Assignees                                                     []option
	Statuses, Closures, Usefulness, Kinds                         []option
}

type countryView struct{ Code, Name string }

type outcomeView struct {
	*guardian.Outcome
	StatusKey, ClosureKey, UsefulnessKey string
}

type messageView struct {
	*guardian.Message
	KindKey string
}

// referralOptions are what a referral page shows beyond the referral: a
// file's preview asked without JavaScript, or the prompt's error.
type referralOptions struct {
	preview     map[string]string // file id → "blurred" or "original"
	promptError string
}

// referralPage gathers the referral page: the referral, then its content
// if the person has consulted it today (else the prompt), its messages and
// what they may do with it.
func (h *Handler) referralPage(ctx context.Context, c *api.Call, id int64, o referralOptions) (*referralView, error) {
	d, err := h.API.Referral(ctx, c, id)
	if err != nil {
		return nil, err
	}
	v := &referralView{D: d, StateKey: stateKeys[d.State], PriorityKey: priorityKeys[d.Priority], LabelKey: labelKeys[d.Label],
		ReasonKey: referralReasonKeys[d.Reason], PromptError: o.promptError}
	// Only the referral's own agency acts on it: not a liaison office that
	// sees it through an escalation, nor the hub.
	v.Own = c.Caller() != nil && c.Caller().Agency != nil && !d.ViaEscalation
	for _, s := range d.DataScope {
		if k := scopeKeys[s]; k != "" {
			v.ScopeKeys = append(v.ScopeKeys, k)
		}
	}
	if d.Triage != nil {
		v.ReviewKey = priorityKeys[d.Triage.ReviewPriority]
	}
	if d.Outcome != nil {
		v.Outcome = &outcomeView{Outcome: d.Outcome, StatusKey: statusKeys[d.Outcome.Status],
			ClosureKey: closureKeys[d.Outcome.ClosureReason], UsefulnessKey: usefulnessKeys[d.Outcome.Usefulness]}
	}
	if err := h.referralContent(ctx, c, v, o); err != nil {
		return nil, err
	}
	msgs, err := h.API.Messages(ctx, c, id, "")
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		v.Messages = append(v.Messages, messageView{Message: m, KindKey: messageKindKeys[m.Kind]})
	}
	working := d.State == guardian.ReferralDelivered || d.State == guardian.ReferralOpened
	v.CanAcknowledge = v.Own && working
	v.CanAssign = v.Own && (working || d.State == guardian.ReferralAcknowledged)
	v.CanDecline = v.CanAssign
	v.CanOutcome = v.Own && d.State == guardian.ReferralAcknowledged
	v.CanPackage = v.Own && d.State != guardian.ReferralRerouted
	if v.CanAssign || d.Assignee != "" {
		people, err := h.API.Assignees(ctx, c)
		if err != nil {
			return nil, err
		}
		supervisor := c.User().HasRole(guardian.RoleAgencySupervisor)
		for _, u := range people {
			uid := strconv.FormatInt(u.ID, 10)
			if uid == d.Assignee {
				v.AssigneeName = personName(u)
			}
			if supervisor || u.ID == c.User().ID {
				v.Assignees = append(v.Assignees, option{Value: uid, Key: personName(u), Selected: uid == d.Assignee})
			}
		}
	}
	v.Statuses = options(guardian.CaseStatuses(), statusKeys, "")
	v.Closures = options(guardian.ClosureReasons(), closureKeys, "")
	v.Usefulness = options(guardian.Usefulnesses(), usefulnessKeys, "")
	v.Kinds = options([]guardian.MessageKind{guardian.MessageRequestInfo, guardian.MessageNote, guardian.MessageReply}, messageKindKeys, "")
	return v, nil
}

// referralContent fills in the content part of the referral page: the
// document and files once the person has consulted the referral today,
// the prompt before, or why it is not for them.
func (h *Handler) referralContent(ctx context.Context, c *api.Call, v *referralView, o referralOptions) error {
	id := v.D.ID
	if v.D.State == guardian.ReferralRerouted {
		// The agency sent it back: it keeps the metadata and the
		// messages, not the content (access refuses it).
		return nil
	}
	consulted, err := h.API.Consulted(ctx, c, id)
	if err != nil {
		return err
	}
	if !consulted {
		v.Prompt = true
		return nil
	}
	content, err := h.API.Content(ctx, c, id, guardian.Justification{})
	if why, ok := refusedContent(err); ok {
		v.Blocked = why
		return nil
	} else if err != nil {
		return err
	}
	files, images, err := h.API.ImageFiles(ctx, c, id, guardian.Justification{})
	if err != nil {
		return err
	}
	v.Shown = true
	v.Sections = documentSections(content.Document)
	for _, f := range files.Files {
		row := fileRow{FileView: f, ReferralID: id, Image: images[f.ID] && !f.Locked, View: o.preview[f.ID], Notes: notesOf(f.Details)}
		v.Files = append(v.Files, row)
		if f.Locked && !f.ViewedByReporter {
			v.Locked = append(v.Locked, row)
		}
	}
	v.LegalForm = v.Own && len(v.Locked) > 0 && slices.Contains(v.D.DataScope, "file-content")
	return nil
}

// refusedContent says whether err is access refusing content for a
// reason the person is told on the page (vetting, scope, ...), rather
// than the referral being unknown.
func refusedContent(err error) (string, bool) {
	var ref *access.Refusal
	if errors.As(err, &ref) && ref.Code != guardian.ENOTFOUND && ref.Code != guardian.EUNAUTHORIZED {
		return ref.Message, true
	}
	return "", false
}

// CountryNames names the referral's countries in the page's language.
func (v *referralView) CountryNames(p *page) []countryView { return countryNames(p, v.D.Countries) }

func countryNames(p *page, codes []string) []countryView {
	namer := display.Regions(p.tag)
	out := make([]countryView, 0, len(codes))
	for _, code := range codes {
		name := code
		if reg, err := language.ParseRegion(code); err == nil {
			if n := namer.Name(reg); n != "" {
				name = n
			}
		}
		out = append(out, countryView{Code: code, Name: name})
	}
	return out
}

func (h *Handler) showReferral(w http.ResponseWriter, r *http.Request, c *api.Call, status int, o referralOptions) error {
	v, err := h.referralPage(r.Context(), c, pathID(r), o)
	if err != nil {
		return err
	}
	return h.render(w, r, status, "referral", h.agencyPage(r, c, msg("agency.referral.title"), v))
}

// handleReferral shows one referral.
func (h *Handler) handleReferral(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	return h.showReferral(w, r, c, http.StatusOK, referralOptions{})
}

// handleOpen records why the person opens the referral (the API's Content
// records the consultation), then shows it again, with its content.
func (h *Handler) handleOpen(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	id := pathID(r)
	j := guardian.Justification{CaseNumber: r.PostFormValue("case"), Reason: r.PostFormValue("reason")}
	if _, err := h.API.Content(r.Context(), c, id, j); err != nil {
		var ref *access.Refusal
		if errors.As(err, &ref) && ref.Reason == access.ReasonJustification {
			return h.showReferral(w, r, c, http.StatusBadRequest, referralOptions{promptError: ref.Message})
		}
		return err
	}
	redirect(w, r, referralPath(id)+"?notice=opened#content")
	return nil
}

// handleAcknowledge acknowledges the referral: one click.
func (h *Handler) handleAcknowledge(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if _, err := h.API.Acknowledge(r.Context(), c, pathID(r)); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=acknowledged")
	return nil
}

// handleAssign gives the referral to a person of the agency.
func (h *Handler) handleAssign(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	uid, _ := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
	if _, err := h.API.Assign(r.Context(), c, pathID(r), uid); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=assigned")
	return nil
}

// handleMessage adds a message to the agency's thread with the hub.
func (h *Handler) handleMessage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	kind := guardian.MessageKind(r.PostFormValue("kind"))
	if _, err := h.API.SendMessage(r.Context(), c, pathID(r), "", kind, r.PostFormValue("body")); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=message#messages")
	return nil
}

// handleDecline sends the referral back as not the agency's jurisdiction.
func (h *Handler) handleDecline(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	d := guardian.Decline{Reason: r.PostFormValue("reason"), SuggestedCountry: r.PostFormValue("country")}
	if _, err := h.API.Decline(r.Context(), c, pathID(r), d); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=declined")
	return nil
}

// handleOutcome records the agency's outcome, from the one form.
func (h *Handler) handleOutcome(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	req := api.OutcomeRequest{
		Status: guardian.CaseStatus(r.PostFormValue("status")), VictimIdentified: formBool(r, "victimIdentified"),
		MoreVictims: formBool(r, "moreVictims"), ClosureReason: guardian.ClosureReason(r.PostFormValue("closureReason")),
		Usefulness: guardian.Usefulness(r.PostFormValue("usefulness")), Note: r.PostFormValue("note"),
	}
	if _, err := h.API.RecordOutcome(r.Context(), c, pathID(r), req); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=outcome")
	return nil
}

// formBool reads a yes/no/unknown choice: nil unless yes or no.
func formBool(r *http.Request, name string) *bool {
	switch r.PostFormValue(name) {
	case "yes":
		b := true
		return &b
	case "no":
		b := false
		return &b
	}
	return nil
}

// handleLegalAuthority records the warrant or order that opens the
// files ticked.
func (h *Handler) handleLegalAuthority(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	if err := r.ParseForm(); err != nil {
		return guardian.Errorf(guardian.EINVALID, "The form could not be read.")
	}
	if _, err := h.API.RecordLegalAuthority(r.Context(), c, pathID(r), r.PostForm.Get("reference"), r.PostForm["file"]); err != nil {
		return err
	}
	redirect(w, r, referralPath(pathID(r))+"?notice=authority#files")
	return nil
}

// handlePackage downloads the referral's sealed package, with the
// justification of the link or the person's consultation of the day.
func (h *Handler) handlePackage(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	return h.API.WritePackage(r.Context(), c, pathID(r), queryJustification(r), w)
}

// handlePreview shows one image file blurred, or as it is when the person
// unblurs it: to htmx, the file's figure alone; without JavaScript, the
// referral page with that figure open.
func (h *Handler) handlePreview(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	fileID := r.PathValue("fileId")
	view := "blurred"
	if r.URL.Query().Get("view") == "original" {
		view = "original"
	}
	if !isHTMX(r) {
		return h.showReferral(w, r, c, http.StatusOK, referralOptions{preview: map[string]string{fileID: view}})
	}
	// The figure names only what the path does, but a referral the person
	// cannot see has no figure either.
	if _, err := h.API.Referral(r.Context(), c, pathID(r)); err != nil {
		return err
	}
	fig := &figureView{ReferralID: pathID(r), FileID: fileID, View: view}
	return h.renderBlock(w, http.StatusOK, "referral", "referral_figure", h.newPage(r, c, msg("agency.referral.title"), fig))
}

// supervisionView is the agency supervisors' board.
type supervisionView struct {
	Counts  []countView
	Overdue []rowView
	Rows    []rowView
	Filters filterView
	Pager   pager
}

type countView struct {
	Key, Link string
	N         int
}

func (v *supervisionView) OverdueTable(p *page) tableView {
	return tableView{P: p, Caption: msg("agency.supervision.overdue"), Empty: msg("agency.supervision.overdue.none"), Rows: v.Overdue}
}

func (v *supervisionView) Table(p *page) tableView {
	return tableView{P: p, Caption: msg("agency.supervision.all"), Empty: msg("agency.inbox.empty"), Rows: v.Rows}
}

func (v *supervisionView) FilterForm(p *page) filterView { f := v.Filters; f.P = p; return f }

// maxOverdue bounds the overdue referrals the board lists first.
const maxOverdue = 50

// handleSupervision shows the agency's referrals by state and deadline:
// the counts, the overdue ones first, then every one, most urgent first.
func (h *Handler) handleSupervision(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	ctx := r.Context()
	q := r.URL.Query()
	params := listParams(q)
	all, err := h.API.SupervisionBoard(ctx, c, url.Values{"limit": {"1"}})
	if err != nil {
		return err
	}
	overdue, err := h.API.SupervisionBoard(ctx, c, url.Values{
		"state":          {string(guardian.ReferralDelivered) + "," + string(guardian.ReferralOpened)},
		"deadlineBefore": {c.Now().UTC().Format(time.RFC3339Nano)}, "limit": {strconv.Itoa(maxOverdue)},
	})
	if err != nil {
		return err
	}
	board, err := h.API.SupervisionBoard(ctx, c, params)
	if err != nil {
		return err
	}
	v := &supervisionView{Filters: filtersOf("/supervision", q), Pager: pagerOf("/supervision", params, board.NextCursor)}
	for _, s := range listStates {
		v.Counts = append(v.Counts, countView{Key: stateKeys[s], N: all.Counts[s], Link: "/supervision?state=" + url.QueryEscape(string(s))})
	}
	if v.Overdue, err = h.rows(ctx, c, overdue.Referrals); err != nil {
		return err
	}
	if v.Rows, err = h.rows(ctx, c, board.Referrals); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "supervision", h.agencyPage(r, c, msg("agency.supervision.title"), v))
}

// The report's content as the page shows it. The document is walked
// field by field in its own order, so that every section the data scope
// lets out is shown without a template per element: a node per field
// that holds something, named by its schema element.

// section is one section of the report document.
type section struct {
	Key   string // the section's heading
	Nodes []node
}

// node is one element of the document: a value, or a group of nodes.
type node struct {
	Label    string
	Value    string
	Bool     *bool
	Children []node
}

// sectionKeys are the headings of the document's sections, by element.
var sectionKeys = map[string]string{
	"batchedReport":        msg("agency.section.batchedReport"),
	"incidentSummary":      msg("agency.section.incidentSummary"),
	"internetDetails":      msg("agency.section.internetDetails"),
	"lawEnforcement":       msg("agency.section.lawEnforcement"),
	"reporter":             msg("agency.section.reporter"),
	"personOrUserReported": msg("agency.section.personOrUserReported"),
	"intendedRecipient":    msg("agency.section.intendedRecipient"),
	"victim":               msg("agency.section.victim"),
	"additionalInfo":       msg("agency.section.additionalInfo"),
}

// maxDepth bounds the walk; the schema nests five deep at most.
const maxDepth = 8

// documentSections returns the sections of doc that hold something.
func documentSections(doc *guardian.ReportDocument) []section {
	if doc == nil {
		return nil
	}
	v := reflect.ValueOf(doc).Elem()
	var out []section
	for i := range v.NumField() {
		name := jsonName(v.Type().Field(i))
		if name == "" {
			continue
		}
		nodes := walk(v.Field(i), name, 0)
		if len(nodes) == 0 {
			continue
		}
		// A section that is one group shows its fields directly.
		if len(nodes) == 1 && len(nodes[0].Children) > 0 {
			nodes = nodes[0].Children
		}
		key := sectionKeys[name]
		if key == "" {
			key = msg("agency.section.other")
		}
		out = append(out, section{Key: key, Nodes: nodes})
	}
	return out
}

// jsonName is a field's JSON name, "" for a field never shown.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = f.Name
	}
	return name
}

var textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()

// walk returns the nodes of v, the field name: none when it holds
// nothing.
func walk(v reflect.Value, name string, depth int) []node {
	if depth > maxDepth {
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	label := words(name)
	if v.Type().Implements(textMarshaler) {
		b, err := v.Interface().(interface{ MarshalText() ([]byte, error) }).MarshalText()
		if err != nil || len(b) == 0 {
			return nil
		}
		return []node{{Label: label, Value: string(b)}}
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		return []node{{Label: label, Value: v.String()}}
	case reflect.Bool:
		b := v.Bool()
		return []node{{Label: label, Bool: &b}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return []node{{Label: label, Value: strconv.FormatInt(v.Int(), 10)}}
	case reflect.Float32, reflect.Float64:
		return []node{{Label: label, Value: strconv.FormatFloat(v.Float(), 'f', -1, 64)}}
	case reflect.Slice:
		var out []node
		for i := range v.Len() {
			for _, n := range walk(v.Index(i), name, depth+1) {
				if v.Len() > 1 {
					n.Label += " " + strconv.Itoa(i+1)
				}
				out = append(out, n)
			}
		}
		return out
	case reflect.Struct:
		var children []node
		for i := range v.NumField() {
			if fn := jsonName(v.Type().Field(i)); fn != "" {
				children = append(children, walk(v.Field(i), fn, depth+1)...)
			}
		}
		switch {
		case len(children) == 0:
			return nil
		case len(children) == 1 && children[0].Label == "Value":
			// An element's text without its attributes reads as the text.
			c := children[0]
			return []node{{Label: label, Value: c.Value, Bool: c.Bool}}
		}
		return []node{{Label: label, Children: children}}
	}
	return nil
}

// words turns an element's name into words: incidentType → Incident
// type, espIdentifier → ESP identifier.
func words(name string) string {
	var parts []string
	start := 0
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' && (name[i-1] < 'A' || name[i-1] > 'Z' || i+1 < len(name) && name[i+1] >= 'a' && name[i+1] <= 'z') {
			parts = append(parts, name[start:i])
			start = i
		}
	}
	parts = append(parts, name[start:])
	for i, w := range parts {
		switch lw := strings.ToLower(w); {
		case acronyms[lw]:
			parts[i] = strings.ToUpper(lw)
		case i == 0:
			parts[i] = strings.ToUpper(lw[:1]) + lw[1:]
		default:
			parts[i] = lw
		}
	}
	return strings.Join(parts, " ")
}

// acronyms are the schema's abbreviations, written in capitals.
var acronyms = map[string]bool{"esp": true, "ip": true, "url": true, "id": true, "ct": true, "le": true, "im": true, "ai": true, "flea": true}

// fileRow is a file as the referral page lists it.
type fileRow struct {
	api.FileView
	ReferralID int64
	// Image: the intake decoded it as an image and it is open to the
	// person: it gets a blurred preview rather than a download.
	Image bool
	// View is the preview shown without JavaScript: "", "blurred" or
	// "original".
	View  string
	Notes *fileNotes
}

// Figure is the file's preview block, for the templates.
func (f fileRow) Figure(p *page) figureCtx {
	return figureCtx{P: p, figureView: figureView{ReferralID: f.ReferralID, FileID: f.ID, View: f.View}}
}

// figureView is one image file's preview: a button, the blurred picture,
// or the picture itself.
type figureView struct {
	ReferralID int64
	FileID     string
	View       string
}

type figureCtx struct {
	P *page
	figureView
}

// Base is the path of the file's routes.
func (f figureView) Base() string {
	return referralPath(f.ReferralID) + "/files/" + url.PathEscape(f.FileID)
}

// Ctx is the figure with its page, for the htmx answer's block.
func (f *figureView) Ctx(p *page) figureCtx { return figureCtx{P: p, figureView: *f} }

// fileNotes are the reporting service's annotations of a file
// (guardian.FileDetails), the known fields in words.
type fileNotes struct {
	OriginalName, Location, Uploaded, Relevance, Industry string
	Viewed, ExifViewed, Public                            *bool
	Meme                                                  bool
	Annotations                                           []string // keys
	Hashes                                                []guardian.FileHash
	Metadata                                              []guardian.FileMetadata
	Other                                                 []node // IP capture, devices
	Additional                                            []string
}

var annotationKeys = []struct {
	key string
	set func(*guardian.FileAnnotations) bool
}{
	{msg("agency.file.annotation.anime"), func(a *guardian.FileAnnotations) bool { return a.AnimeDrawingVirtualHentai }},
	{msg("agency.file.annotation.viral"), func(a *guardian.FileAnnotations) bool { return a.Viral }},
	{msg("agency.file.annotation.self-production"), func(a *guardian.FileAnnotations) bool { return a.PossibleSelfProduction }},
	{msg("agency.file.annotation.physical-harm"), func(a *guardian.FileAnnotations) bool { return a.PhysicalHarm }},
	{msg("agency.file.annotation.violence"), func(a *guardian.FileAnnotations) bool { return a.ViolenceGore }},
	{msg("agency.file.annotation.bestiality"), func(a *guardian.FileAnnotations) bool { return a.Bestiality }},
	{msg("agency.file.annotation.live-streaming"), func(a *guardian.FileAnnotations) bool { return a.LiveStreaming }},
	{msg("agency.file.annotation.infant"), func(a *guardian.FileAnnotations) bool { return a.Infant }},
	{msg("agency.file.annotation.generative-ai"), func(a *guardian.FileAnnotations) bool { return a.GenerativeAI }},
}

// notesOf reads a file's details; nil when there are none (or they do
// not read as file details, which the intake's validation prevents).
func notesOf(raw []byte) *fileNotes {
	if len(raw) == 0 {
		return nil
	}
	var d guardian.FileDetails
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil
	}
	n := &fileNotes{OriginalName: d.OriginalFileName, Location: d.LocationOfFile, Relevance: d.Relevance(),
		Industry: d.IndustryClassification, Viewed: d.FileViewedByESP, ExifViewed: d.ExifViewedByESP, Public: d.PubliclyAvailable,
		Meme: d.IsPotentialMeme(), Hashes: d.OriginalFileHash, Metadata: d.Details, Additional: d.AdditionalInfo}
	if d.UploadedToESPTimestamp != nil {
		n.Uploaded = d.UploadedToESPTimestamp.Lexical
	}
	if d.FileAnnotations != nil {
		for _, a := range annotationKeys {
			if a.set(d.FileAnnotations) {
				n.Annotations = append(n.Annotations, a.key)
			}
		}
	}
	n.Other = append(walk(reflect.ValueOf(d.IPCaptureEvent), "ipCaptureEvent", 0), walk(reflect.ValueOf(d.DeviceID), "deviceId", 0)...)
	return n
}

// nodesCtx is a list of nodes with its page, for the templates.
type nodesCtx struct {
	P     *page
	Nodes []node
}

// With is the node's children with the page, for the templates.
func (n node) With(p *page) nodesCtx { return nodesCtx{P: p, Nodes: n.Children} }

// With is the section's nodes with the page, for the templates.
func (s section) With(p *page) nodesCtx { return nodesCtx{P: p, Nodes: s.Nodes} }

// NodesOf is nodes with the page, for the templates.
func (v *referralView) NodesOf(p *page, nodes []node) nodesCtx { return nodesCtx{P: p, Nodes: nodes} }
