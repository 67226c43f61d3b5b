package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/evidence"
)

// handleStatus lets a client check that it can reach the hub and log in. The
// description has the shape the real service uses.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	ri := requestInfoFrom(r.Context())
	ev := s.event(r, "intake.status", guardian.CategoryAuthentication)
	if err := s.Store.AppendAuditEvent(r.Context(), succeeded(ev)); err != nil {
		s.fail(w, r, ev.Action, ev.Category, err)
		return
	}
	ri.code = 0
	body := cybertip.Response{Code: 0, Description: fmt.Sprintf("Remote User : %s, Remote Ip : %s", ri.reporter.Name, ri.clientAddr)}.Bytes()
	w.Header().Set("Content-Type", xmlContentType)
	_, _ = w.Write(body)
}

// handleXSD serves the schema the hub validates against. It is generated from
// the same description as the validator, so what it says is what is enforced.
func (s *Server) handleXSD(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", xmlContentType)
	_, _ = w.Write(cybertip.XSD())
}

// handleIntakeNotFound answers unknown intake paths and wrong methods in the
// API's format.
func (s *Server) handleIntakeNotFound(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, s.Prefix+"/")
	switch op {
	case "status", "xsd":
		w.Header().Set("Allow", "GET")
		s.writeResponse(w, r, http.StatusMethodNotAllowed, guardian.Errorf(guardian.EINVALID, "/%s takes GET", op), 0, "", "")
	case "submit", "upload", "fileinfo", "finish", "retract":
		w.Header().Set("Allow", "POST")
		s.writeResponse(w, r, http.StatusMethodNotAllowed, guardian.Errorf(guardian.EINVALID, "/%s takes POST", op), 0, "", "")
	default:
		s.writeResponse(w, r, http.StatusNotFound, guardian.Errorf(guardian.ENOTFOUND, "Resource not found"), 0, "", "")
	}
}

// handleSubmit opens a report from a <report> document.
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "report.submit", guardian.CategoryCollection)
	s.setReadDeadline(w, s.RequestTimeout)
	body, err := s.readDocument(w, r)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	doc, err := cybertip.ParseReport(body)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		s.failReport(w, r, ev, fmt.Errorf("encode report document: %w", err))
		return
	}
	dk, err := crypto.GenerateDataKey()
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	reporterID := requestInfoFrom(r.Context()).reporter.ID
	rep := &guardian.Report{
		ReporterID: reporterID,
		XML:        body,
		Document:   docJSON,
		WrappedKey: s.MasterKey.WrapDataKey(dk, reporterContext(reporterID)),
	}
	if err := s.Store.CreateReport(r.Context(), rep, ev); err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	s.writeResponse(w, r, http.StatusOK, nil, rep.ID, "", "")
}

// handleFileInfo stores the <fileDetails> of an uploaded file.
func (s *Server) handleFileInfo(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "file.details", guardian.CategoryCollection)
	s.setReadDeadline(w, s.RequestTimeout)
	body, err := s.readDocument(w, r)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	fd, err := cybertip.ParseFileDetails(body)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	ev.ReportID, ev.FileID = fd.ReportID, fd.FileID
	ev.ObjectKind, ev.ObjectID = "file", fd.FileID
	fdJSON, err := json.Marshal(fd)
	if err != nil {
		s.failReport(w, r, ev, fmt.Errorf("encode file details: %w", err))
		return
	}
	reporterID := requestInfoFrom(r.Context()).reporter.ID
	if _, err := s.Store.SetFileDetails(r.Context(), reporterID, fd.ReportID, fd.FileID, body, fdJSON, ev); err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	s.writeResponse(w, r, http.StatusOK, nil, fd.ReportID, fd.FileID, "")
}

// handleFinish completes a report. Every answer, success or not, is a
// reportDoneResponse.
func (s *Server) handleFinish(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "report.finish", guardian.CategoryCollection)
	s.setReadDeadline(w, s.RequestTimeout)
	id, err := readIDField(r)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	ev.ReportID, ev.ObjectKind, ev.ObjectID = id, "report", strconv.FormatInt(id, 10)
	rep, err := s.Store.FinishReport(r.Context(), requestInfoFrom(r.Context()).reporter.ID, id, ev)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	ids := make([]string, len(rep.Files))
	for i, f := range rep.Files {
		ids[i] = f.ID
	}
	s.writeDoneResponse(w, r, http.StatusOK, nil, rep.ID, ids)
}

// handleRetract cancels an unfinished report and destroys nothing yet: the
// files stay encrypted until retention removes them, so that an audit can
// still account for what was received.
func (s *Server) handleRetract(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "report.retract", guardian.CategoryAlteration)
	s.setReadDeadline(w, s.RequestTimeout)
	id, err := readIDField(r)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	ev.ReportID, ev.ObjectKind, ev.ObjectID = id, "report", strconv.FormatInt(id, 10)
	if _, err := s.Store.RetractReport(r.Context(), requestInfoFrom(r.Context()).reporter.ID, id, ev); err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	s.writeResponse(w, r, http.StatusOK, nil, id, "", "")
}

// handleUpload adds one file to an open report. The multipart body is read
// part by part; the file part is streamed through hashing and encryption to
// the evidence store and never held whole in memory. Parts may come in any
// order: when "id" comes first (as every known client sends it) the report
// is checked before the file is read.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "file.upload", guardian.CategoryCollection)
	s.setReadDeadline(w, s.UploadTimeout)
	reporterID := requestInfoFrom(r.Context()).reporter.ID

	mr, br, err := multipartReader(r)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	defer releaseReadBuf(br)
	var (
		id       int64
		haveID   bool
		rep      *guardian.Report
		blob     *evidence.Blob
		fileName string
	)
	// Whatever goes wrong after the blob is written, it must not stay.
	defer func() {
		if blob != nil {
			if err := s.Evidence.Delete(blob.Key); err != nil {
				s.logError(r, fmt.Errorf("delete unused blob: %w", err))
			}
		}
	}()
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		} else if err != nil {
			s.failReport(w, r, ev, invalidf("unreadable multipart body: %v", err))
			return
		}
		switch part.FormName() {
		case "id":
			if haveID {
				s.failReport(w, r, ev, invalidf("more than one 'id' part"))
				return
			}
			if id, err = parseID(part); err != nil {
				s.failReport(w, r, ev, err)
				return
			}
			haveID = true
			ev.ReportID, ev.ObjectKind, ev.ObjectID = id, "report", strconv.FormatInt(id, 10)
			if blob == nil {
				// Fail fast, before a large file is read for nothing.
				if rep, err = s.openReport(r.Context(), reporterID, id); err != nil {
					s.failReport(w, r, ev, err)
					return
				}
			}
		case "file":
			if blob != nil {
				s.failReport(w, r, ev, invalidf("more than one 'file' part"))
				return
			}
			fileName = sanitizeFileName(part.FileName())
			blob, err = s.Evidence.Put(r.Context(), part, s.MaxUploadSize)
			if errors.Is(err, evidence.ErrTooLarge) {
				s.failReport(w, r, ev, guardian.Errorf(guardian.EMALFORMEDFILE, "file exceeds the limit of %d bytes", s.MaxUploadSize))
				return
			} else if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) || errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err) {
					err = guardian.Errorf(guardian.EMALFORMEDFILE, "file part could not be read to its end")
				}
				s.failReport(w, r, ev, err)
				return
			}
		default:
			// Unknown fields are tolerated but bounded.
			if _, err := io.CopyN(io.Discard, part, maxFieldSize+1); err != io.EOF {
				s.failReport(w, r, ev, invalidf("part %q is too large", truncate(part.FormName(), 40)))
				return
			}
		}
		part.Close()
	}
	if !haveID {
		s.failReport(w, r, ev, invalidf("the form field 'id' is missing"))
		return
	}
	if blob == nil {
		s.failReport(w, r, ev, invalidf("the file part 'file' is missing"))
		return
	}
	if blob.Size == 0 {
		s.failReport(w, r, ev, guardian.Errorf(guardian.EMALFORMEDFILE, "the file is empty"))
		return
	}

	if rep == nil {
		if rep, err = s.openReport(r.Context(), reporterID, id); err != nil {
			s.failReport(w, r, ev, err)
			return
		}
	}
	// AddFile checks the report's state again in its transaction: it may
	// have been finished while the file streamed in.
	dk, err := s.MasterKey.UnwrapDataKey(rep.WrappedKey, reporterContext(rep.ReporterID))
	if err != nil {
		s.failReport(w, r, ev, fmt.Errorf("unwrap data key of report %d: %w", rep.ID, err))
		return
	}
	f := &guardian.File{
		ID:         newFileID(),
		ReportID:   id,
		Name:       fileName,
		Size:       blob.Size,
		MD5:        blob.MD5,
		SHA1:       blob.SHA1,
		SHA256:     blob.SHA256,
		BlobKey:    blob.Key,
		WrappedKey: dk.WrapFileKey(blob.FileKey, blob.Key),
	}
	ev.FileID, ev.ObjectKind, ev.ObjectID = f.ID, "file", f.ID
	if err := s.Store.AddFile(r.Context(), reporterID, f, ev); err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	blob = nil // committed: keep it
	s.writeResponse(w, r, http.StatusOK, nil, id, f.ID, f.MD5)
}

// openReport returns the reporter's report if files may still be added to it.
func (s *Server) openReport(ctx context.Context, reporterID, id int64) (*guardian.Report, error) {
	rep, err := s.Store.FindReporterReport(ctx, reporterID, id)
	if err != nil {
		return nil, err
	}
	switch {
	case rep.State == guardian.ReportFinished:
		return nil, guardian.Errorf(guardian.EFINISHED, "report %d is finished", id)
	case rep.State == guardian.ReportRetracted:
		return nil, guardian.Errorf(guardian.ERETRACTED, "report %d is retracted", id)
	case rep.State != guardian.ReportOpen || !s.Now().Before(rep.ExpiresAt()):
		return nil, guardian.Errorf(guardian.EREPORTNOTFOUND, "report %d expired unfinished", id)
	}
	return rep, nil
}

// reporterContext is what a report's wrapped data key is bound to: the
// reporter that owns the report. The report's own id would be tighter, but it
// is assigned by the database in the same insert that stores the wrapped key.
// Binding to the owner means a wrapped key copied into another reporter's
// report does not unwrap; swapping keys between two reports of the same
// reporter gains nothing, since each file key is bound to its blob.
func reporterContext(reporterID int64) int64 { return reporterID }

// readDocument reads a /submit or /fileinfo body whatever its Content-Type
// (clients send text/xml, application/xml, text/plain or none), up to the
// document size limit.
func (s *Server) readDocument(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxDocumentSize))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, guardian.Errorf(guardian.EVALIDATION, "document exceeds the limit of %d bytes", s.MaxDocumentSize)
	} else if err != nil {
		return nil, invalidf("request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, guardian.Errorf(guardian.EMALFORMED, "the request body is empty; an XML document was expected")
	}
	return body, nil
}

// Bounds on form fields other than the file.
const (
	maxFieldSize = 64 << 10
	maxIDLength  = 32
)

// readIDField reads the form field "id" of /finish and /retract from an
// urlencoded or a multipart body (clients send both). Multipart bodies are
// read part by part so that a file part sent here is never spooled to disk.
func readIDField(r *http.Request) (int64, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr, br, err := multipartReader(r)
		if err != nil {
			return 0, err
		}
		defer releaseReadBuf(br)
		var (
			id    int64
			found bool
		)
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			} else if err != nil {
				return 0, invalidf("unreadable multipart body: %v", err)
			}
			if part.FormName() == "id" {
				if found {
					return 0, invalidf("more than one 'id' field")
				}
				if id, err = parseID(part); err != nil {
					return 0, err
				}
				found = true
			} else if _, err := io.CopyN(io.Discard, part, maxFieldSize+1); err != io.EOF {
				return 0, invalidf("part %q is too large", truncate(part.FormName(), 40))
			}
			part.Close()
		}
		if !found {
			return 0, invalidf("the form field 'id' is missing")
		}
		return id, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFieldSize+1))
	if err != nil {
		return 0, invalidf("request body could not be read")
	} else if len(body) > maxFieldSize {
		return 0, invalidf("form body is too large")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return 0, invalidf("form body is not application/x-www-form-urlencoded")
	}
	ids := vals["id"]
	switch len(ids) {
	case 0:
		return 0, invalidf("the form field 'id' is missing")
	case 1:
		return parseIDString(ids[0])
	default:
		return 0, invalidf("more than one 'id' field")
	}
}

// multipartReadSize is the read buffer under a multipart body. The
// multipart reader asks for 4 KiB at a time; reading the connection in larger
// pieces takes an upload in a few system calls instead of one per 4 KiB.
const multipartReadSize = 64 << 10

// readBufPool holds the multipart read buffers: one 64 KiB allocation per
// upload was a quarter of the bytes the intake allocated. A buffer holds
// evidence in plaintext, so releaseReadBuf overwrites it before it goes back.
var readBufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, multipartReadSize) }}

// multipartReader is r.MultipartReader for multipart/form-data only, reading
// the body through a pooled buffer of multipartReadSize, which the caller
// must give back with releaseReadBuf once done with the reader.
func multipartReader(r *http.Request) (*multipart.Reader, *bufio.Reader, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, invalidf("a multipart/form-data body was expected")
	}
	br := readBufPool.Get().(*bufio.Reader)
	br.Reset(r.Body)
	return multipart.NewReader(br, params["boundary"]), br, nil
}

// releaseReadBuf overwrites br's buffer with zeros, by peeking that many
// bytes of a reader of zeros (bufio offers no other way in), and pools it.
func releaseReadBuf(br *bufio.Reader) {
	br.Reset(zeros{})
	if _, err := br.Peek(br.Size()); err != nil {
		return // cannot happen; an uncleared buffer is not pooled
	}
	br.Reset(nil)
	readBufPool.Put(br)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func parseID(part io.Reader) (int64, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxIDLength+1))
	if err != nil {
		return 0, invalidf("the 'id' part could not be read")
	} else if len(b) > maxIDLength {
		return 0, invalidf("the 'id' field is too long")
	}
	return parseIDString(string(b))
}

// parseIDString accepts a positive decimal report id surrounded by optional
// white space, and nothing else.
func parseIDString(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, invalidf("the 'id' field is empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, invalidf("the 'id' field %q is not a decimal report id", truncate(s, 32))
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidf("the 'id' field %q is not a valid report id", truncate(s, 32))
	}
	return id, nil
}

func invalidf(format string, args ...any) error {
	return guardian.Errorf(guardian.EINVALID, format, args...)
}

// newFileID returns 32 lower-case hex characters with at least one of a–d or
// f among them: a client's XML parser turns all-digit strings (and forms such
// as "1e10") into numbers and then rejects the response.
func newFileID() string {
	for {
		id := randomHex(16)
		if strings.ContainsAny(id, "abcdf") {
			return id
		}
	}
}

// sanitizeFileName keeps a file name for display only: no directories, no
// control or formatting characters, valid UTF-8, at most 255 bytes. It is
// never used as a path: blobs are named by random keys.
func sanitizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > 255 {
			break
		}
		b.WriteRune(r)
	}
	switch n := strings.TrimSpace(b.String()); n {
	case "", ".", "..":
		return "file"
	default:
		return n
	}
}

// truncate cuts client-supplied text before it is quoted back.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func succeeded(ev *guardian.AuditEvent) *guardian.AuditEvent {
	ev.Outcome = guardian.OutcomeSuccess
	return ev
}

// setReadDeadline bounds how long the body of this request may take, in
// place of a server-wide ReadTimeout that would cut off large uploads.
func (s *Server) setReadDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}
