package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/sealed"
)

// Opening content. Every request that shows a report's content to a
// person carries the justification in two headers, since every such
// request is a GET (a download must be a plain link for a browser):
//
//	Guardian-Justification-Case:   the case number at the caller's agency
//	Guardian-Justification-Reason: why, in words
//
// One of them is enough; neither is needed once the person has consulted
// the referral that day (UTC), when the first consultation was recorded.
const (
	HeaderJustificationCase   = "Guardian-Justification-Case"
	HeaderJustificationReason = "Guardian-Justification-Reason"
)

func justificationOf(r *http.Request) guardian.Justification {
	return guardian.Justification{
		CaseNumber: r.Header.Get(HeaderJustificationCase),
		Reason:     r.Header.Get(HeaderJustificationReason),
	}
}

// authorizeOpen asks access for req, an action that shows content, with
// the request's justification headers. A person who has consulted the
// referral today (guardian.ConsultationDay) is not asked again; tokens
// never consult, they get no content. A justification sent anyway is
// checked all the same, since it enters the audit log.
func (h *Handler) authorizeOpen(ctx context.Context, j guardian.Justification, c *Call, req access.Request, id int64) (access.Grant, guardian.Justification, error) {
	if req.Referral != nil && c.user != nil {
		done, err := h.Access.HasConsultation(ctx, c.user.ID, req.Referral.ID, guardian.ConsultationDay(c.now))
		if err != nil {
			return access.Grant{}, j, err
		}
		req.Consulted = done
	}
	req.Justification = j
	g, err := h.authorize(ctx, c, req, id)
	if err != nil {
		return g, j, err
	}
	if j != (guardian.Justification{}) {
		if err := j.Validate(); err != nil {
			ref := &access.Refusal{Code: guardian.EINVALID, Reason: access.ReasonJustification, Message: guardian.ErrorMessage(err)}
			h.recordRefusal(ctx, c, req.Action, "referral", id, ref)
			return access.Grant{}, j, ref
		}
	}
	return g, j, nil
}

// openedBecause is the justification an opening records: the one given,
// or, for a person who gave none, their consultation earlier that day.
func openedBecause(c *Call, j guardian.Justification) string {
	if s := j.String(); s != "" || c.user == nil {
		return s
	}
	return "consulted earlier today"
}

// recordOpen records what opening content leaves behind: the person's
// consultation (once a day, if the grant asks for it) and, the first time
// the referral's own agency opens it, the referral's move to opened.
func (h *Handler) recordOpen(ctx context.Context, c *Call, ref *guardian.Referral, g access.Grant, j guardian.Justification) error {
	if g.RecordConsultation && c.user != nil {
		ev := referralEvent(c, ref, guardian.CategoryConsultation, "referral.open")
		ev.Justification = openedBecause(c, j)
		if _, err := h.Access.RecordConsultation(ctx, c.user.ID, ref.ID, ev); err != nil {
			return err
		}
	}
	if g.Hub || g.ViaEscalation || ref.State != guardian.ReferralDelivered {
		return nil
	}
	ev := referralEvent(c, ref, guardian.CategoryConsultation, "referral.open")
	ev.Justification = openedBecause(c, j)
	if _, err := h.Delivery.MarkReferralOpened(ctx, ref.ID, ev); err != nil {
		return err
	}
	return nil
}

// findReport reads the report behind a referral.
func (h *Handler) findReport(ctx context.Context, ref *guardian.Referral) (*guardian.Report, error) {
	rep, err := h.Store.FindReportByID(ctx, ref.ReportID)
	if err != nil {
		return nil, fmt.Errorf("read report %d of referral %d: %w", ref.ReportID, ref.ID, err)
	}
	return rep, nil
}

// openReport reads the report behind a referral and decodes its document.
func (h *Handler) openReport(ctx context.Context, ref *guardian.Referral) (*guardian.Report, *guardian.ReportDocument, error) {
	rep, err := h.findReport(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	var doc guardian.ReportDocument
	if err := json.Unmarshal(rep.Document, &doc); err != nil {
		return nil, nil, fmt.Errorf("decode report %d: %w", rep.ID, err)
	}
	return rep, &doc, nil
}

type ContentView struct {
	ReferralID int64                    `json:"referralId"`
	ReportID   int64                    `json:"reportId"`
	Scope      []string                 `json:"scope"`
	Document   *guardian.ReportDocument `json:"document"`
}

func (h *Handler) handleContent(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := h.Content(r.Context(), c, PathID(r, "id"), justificationOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Content opens a referral's report for the caller: the sections its data
// scope allows, with the justification recorded as a consultation.
func (h *Handler) Content(ctx context.Context, c *Call, id int64, j guardian.Justification) (ContentView, error) {
	ref, id, err := h.loadReferral(ctx, id)
	if err != nil {
		return ContentView{}, err
	}
	g, j, err := h.authorizeOpen(ctx, j, c, access.Request{Action: access.OpenContent, Referral: ref}, id)
	if err != nil {
		return ContentView{}, err
	}
	_, doc, err := h.openReport(ctx, ref)
	if err != nil {
		return ContentView{}, err
	}
	if err := h.recordOpen(ctx, c, ref, g, j); err != nil {
		return ContentView{}, err
	}
	return ContentView{ReferralID: ref.ID, ReportID: ref.ReportID, Scope: sections(g.Scope), Document: g.Redact(doc)}, nil
}

func sections(s guardian.DataScope) []string {
	if out := s.Sections(); out != nil {
		return out
	}
	return []string{}
}

// FileView is a file as listed: never its blob key or wrapped key.
type FileView struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Size             int64           `json:"size"`
	MD5              string          `json:"md5"`
	SHA1             string          `json:"sha1"`
	SHA256           string          `json:"sha256"`
	UploadedAt       time.Time       `json:"uploadedAt"`
	Details          json.RawMessage `json:"details,omitempty"`
	ViewedByReporter bool            `json:"viewedByReporter"`
	// Locked is true when the caller cannot open the file's content
	// (access.Grant.Opens): the agreement does not include content, or the
	// reporting service did not view it and no legal authority of the
	// agency covers it.
	Locked bool `json:"locked"`
}

type FileList struct {
	Files []FileView `json:"files"`
}

// fileFacts returns what access needs to know of each of the report's
// files.
func (h *Handler) fileFacts(ctx context.Context, ref *guardian.Referral, files []*guardian.File) (map[string]*access.File, error) {
	las, err := h.Access.FindLegalAuthorities(ctx, ref.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*access.File, len(files))
	for _, f := range files {
		var d *guardian.FileDetails
		if len(f.Details) > 0 {
			d = new(guardian.FileDetails)
			if err := json.Unmarshal(f.Details, d); err != nil {
				return nil, fmt.Errorf("decode details of file %s: %w", f.ID, err)
			}
		}
		out[f.ID] = access.FileFacts(d, f.ID, las)
	}
	return out, nil
}

func (h *Handler) handleFiles(w http.ResponseWriter, r *http.Request, c *Call) error {
	out, err := h.Files(r.Context(), c, PathID(r, "id"), justificationOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Files lists a referral's files as the caller may see them. File names
// and details are the report's content: listing them is opening it.
func (h *Handler) Files(ctx context.Context, c *Call, id int64, j guardian.Justification) (FileList, error) {
	ref, id, err := h.loadReferral(ctx, id)
	if err != nil {
		return FileList{}, err
	}
	g, j, err := h.authorizeOpen(ctx, j, c, access.Request{Action: access.OpenContent, Referral: ref}, id)
	if err != nil {
		return FileList{}, err
	}
	rep, err := h.findReport(ctx, ref)
	if err != nil {
		return FileList{}, err
	}
	files := g.Files(rep.Files)
	facts, err := h.fileFacts(ctx, ref, files)
	if err != nil {
		return FileList{}, err
	}
	if err := h.recordOpen(ctx, c, ref, g, j); err != nil {
		return FileList{}, err
	}
	out := FileList{Files: []FileView{}}
	for _, f := range files {
		out.Files = append(out.Files, fileViewOf(f, g, facts[f.ID]))
	}
	return out, nil
}

func fileViewOf(f *guardian.File, g access.Grant, facts *access.File) FileView {
	return FileView{ID: f.ID, Name: f.Name, Size: f.Size, MD5: f.MD5, SHA1: f.SHA1, SHA256: f.SHA256, UploadedAt: f.UploadedAt,
		Details: f.Details, ViewedByReporter: facts.ViewedByReporter, Locked: !g.Opens(facts)}
}

// openFile returns a reader of a file's plaintext, decrypted as it is read.
func (h *Handler) openFile(rep *guardian.Report, f *guardian.File) (io.ReadCloser, error) {
	if rep.WrappedKey == nil {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "This report's files have been erased.")
	}
	// The data key is bound to the report's reporter, as the intake
	// wrapped it (server's reporterContext).
	dk, err := h.MasterKey.UnwrapDataKey(rep.WrappedKey, rep.ReporterID)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key of report %d: %w", rep.ID, err)
	}
	fk, err := dk.UnwrapFileKey(f.WrappedKey, f.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("unwrap key of file %s: %w", f.ID, err)
	}
	return h.Evidence.OpenBlob(f.BlobKey, fk)
}

func (h *Handler) handleFile(w http.ResponseWriter, r *http.Request, c *Call) error {
	file, rc, err := h.OpenFile(r.Context(), c, PathID(r, "id"), r.PathValue("fileId"), justificationOf(r), ViewDownload)
	if err != nil {
		return err
	}
	defer rc.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": sealed.SanitizeName(file.Name)}))
	hd.Set("Content-Length", strconv.FormatInt(file.Size, 10))
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	return CopyFile(w, rc, file)
}

// CopyFile copies an opened file to w and checks that all of it came.
func CopyFile(w io.Writer, rc io.Reader, file *guardian.File) error {
	n, err := io.Copy(w, rc)
	if err == nil && n != file.Size {
		err = fmt.Errorf("file %s: read %d bytes, recorded %d", file.ID, n, file.Size)
	}
	if err != nil {
		return fmt.Errorf("stream file %s: %w", file.ID, err)
	}
	return nil
}

// How a file was shown, as its file.view event records (Reason): an
// auditor must tell a blurred preview from the picture itself.
const (
	ViewDownload = "download" // the bytes, as an attachment
	ViewBlurred  = "blurred"  // a blurred greyscale rendering made on the hub
	ViewOriginal = "original" // the image itself, on a page
)

// OpenFile opens one file of a referral's report for the caller, and
// records the view (a file.view event with the justification, and how the
// file is shown: ViewDownload, ViewBlurred or ViewOriginal). The caller
// closes the reader, which decrypts as it is read.
func (h *Handler) OpenFile(ctx context.Context, c *Call, id int64, fileID string, j guardian.Justification, view string) (*guardian.File, io.ReadCloser, error) {
	ref, id, err := h.loadReferral(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var rep *guardian.Report
	var file *guardian.File
	var facts *access.File
	// The report is read only for a referral the caller sees, so that
	// another agency's referral costs no more time than an unknown one.
	if ref != nil && !c.caller.CanSee(ref, ref.Escalated()) {
		ref = nil
	}
	if ref != nil {
		if rep, err = h.findReport(ctx, ref); err != nil {
			return nil, nil, err
		}
		if i := slices.IndexFunc(rep.Files, func(f *guardian.File) bool { return f.ID == fileID }); i >= 0 {
			file = rep.Files[i]
			all, err := h.fileFacts(ctx, ref, []*guardian.File{file})
			if err != nil {
				return nil, nil, err
			}
			facts = all[file.ID]
		}
	}
	g, j, err := h.authorizeOpen(ctx, j, c, access.Request{Action: access.ViewFile, Referral: ref, File: facts}, id)
	if err != nil {
		return nil, nil, err
	}
	rc, err := h.openFile(rep, file)
	if err != nil {
		return nil, nil, err
	}
	if err := h.recordOpen(ctx, c, ref, g, j); err != nil {
		rc.Close()
		return nil, nil, err
	}
	ev := referralEvent(c, ref, guardian.CategoryConsultation, "file.view")
	ev.FileID, ev.Reason = file.ID, view
	ev.Justification = openedBecause(c, j)
	if err := h.Store.AppendAuditEvent(ctx, ev); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return file, rc, nil
}

type legalAuthorityRequest struct {
	Reference string   `json:"reference"`
	FileIDs   []string `json:"fileIds"`
}

func (h *Handler) handleLegalAuthority(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req legalAuthorityRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	la, err := h.RecordLegalAuthority(r.Context(), c, PathID(r, "id"), req.Reference, req.FileIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, la)
	return nil
}

// RecordLegalAuthority records the warrant or order that lets the
// caller's agency open files the reporter never viewed.
func (h *Handler) RecordLegalAuthority(ctx context.Context, c *Call, id int64, reference string, fileIDs []string) (*guardian.LegalAuthority, error) {
	if len(fileIDs) > sealed.MaxFiles {
		return nil, guardian.Errorf(guardian.EINVALID, "At most %d files at once.", sealed.MaxFiles)
	}
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.RecordLegalAuthority})
	if err != nil {
		return nil, err
	}
	la := &guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: fileIDs, Reference: reference, UserID: c.user.ID}
	if err := la.Validate(); err != nil {
		return nil, err
	}
	rep, err := h.findReport(ctx, ref)
	if err != nil {
		return nil, err
	}
	for _, fid := range fileIDs {
		if !slices.ContainsFunc(rep.Files, func(f *guardian.File) bool { return f.ID == fid }) {
			return nil, access.NotFound(access.KindFile)
		}
	}
	ev := referralEvent(c, ref, guardian.CategoryPermission, "file.legal-authority")
	ev.Justification = la.Reference
	if err := h.Access.RecordLegalAuthority(ctx, la, ev); err != nil {
		return nil, err
	}
	return la, nil
}

// packageReferral is referral.json of a sealed package: the referral as
// the agency may see it.
type packageReferral struct {
	Referral ReferralDetail           `json:"referral"`
	Content  *guardian.ReportDocument `json:"content"`
	Files    []FileView               `json:"files"`
}

func (h *Handler) handlePackage(w http.ResponseWriter, r *http.Request, c *Call) error {
	return h.WritePackage(r.Context(), c, PathID(r, "id"), justificationOf(r), w)
}

// WritePackage writes a referral's sealed package (sealed.Write) to w,
// setting w's headers just before the first byte, so that an error found
// before can still be answered in the interface's own form.
func (h *Handler) WritePackage(ctx context.Context, c *Call, id int64, j guardian.Justification, w http.ResponseWriter) error {
	ref, id, err := h.loadReferral(ctx, id)
	if err != nil {
		return err
	}
	g, j, err := h.authorizeOpen(ctx, j, c, access.Request{Action: access.DownloadPackage, Referral: ref}, id)
	if err != nil {
		return err
	}
	recipients := c.caller.Agency.Recipients
	if len(recipients) == 0 {
		return guardian.Errorf(guardian.ECONFLICT, "Your agency has no recipients (age public keys) in the network file; ask the hub to add them.")
	}
	rep, doc, err := h.openReport(ctx, ref)
	if err != nil {
		return err
	}
	d, err := h.detail(ctx, c, ref)
	if err != nil {
		return err
	}
	files := g.Files(rep.Files)
	facts, err := h.fileFacts(ctx, ref, files)
	if err != nil {
		return err
	}
	pr := packageReferral{Referral: d, Content: g.Redact(doc), Files: []FileView{}}
	pkg := &sealed.Package{}
	for _, f := range files {
		fv := fileViewOf(f, g, facts[f.ID])
		pr.Files = append(pr.Files, fv)
		if fv.Locked {
			continue
		}
		// The keys are looked up from the stored file, which the list
		// copy has lost.
		stored := rep.Files[slices.IndexFunc(rep.Files, func(s *guardian.File) bool { return s.ID == f.ID })]
		pkg.Files = append(pkg.Files, sealed.File{ID: f.ID, Name: f.Name, Size: f.Size,
			Open: func() (io.ReadCloser, error) { return h.openFile(rep, stored) }})
	}
	if pkg.Referral, err = json.Marshal(pr); err != nil {
		return fmt.Errorf("encode package of referral %d: %w", ref.ID, err)
	}
	if err := h.recordOpen(ctx, c, ref, g, j); err != nil {
		return err
	}
	ev := referralEvent(c, ref, guardian.CategoryDisclosure, "referral.package")
	ev.Recipients = []string{ref.AgencyID}
	ev.Reason = strconv.Itoa(len(pkg.Files)) + " files"
	ev.Justification = openedBecause(c, j)
	if err := h.Store.AppendAuditEvent(ctx, ev); err != nil {
		return err
	}
	// The headers go out with the first byte: sealed.Write checks what it
	// can before writing any, and such an error is still answered as JSON.
	fw := &firstWrite{w: w, before: func() {
		hd := w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "referral-" + strconv.FormatInt(ref.ID, 10) + ".age"}))
	}}
	if err := sealed.Write(fw, recipients, pkg); err != nil {
		return fmt.Errorf("write package of referral %d: %w", ref.ID, err)
	}
	return nil
}

// firstWrite runs before just before the first byte is written.
type firstWrite struct {
	w      io.Writer
	before func()
	done   bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.done {
		f.done = true
		f.before()
	}
	return f.w.Write(p)
}
