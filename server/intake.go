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
	"unicode"
	"unicode/utf8"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/triage"
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
		ReporterID:          reporterID,
		XML:                 body,
		Document:            docJSON,
		WrappedKey:          s.MasterKey.WrapDataKey(dk, reporterContext(reporterID)),
		ProvisionalPriority: triage.Provisional(doc),
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
	id, err := s.readIDField(r)
	if err != nil {
		s.failFinish(w, r, ev, err)
		return
	}
	ev.ReportID, ev.ObjectKind, ev.ObjectID = id, "report", strconv.FormatInt(id, 10)
	rep, err := s.Store.FinishReport(r.Context(), requestInfoFrom(r.Context()).reporter.ID, id, ev)
	if err != nil {
		s.failFinish(w, r, ev, err)
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
	id, err := s.readIDField(r)
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

// handleUpload adds one file to an open report: it reads the form, then
// records the file. Whatever goes wrong after the file's blob is written,
// the blob does not stay.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	ev := s.event(r, "file.upload", guardian.CategoryCollection)
	reporterID := requestInfoFrom(r.Context()).reporter.ID
	up := &upload{}
	defer s.dropBlob(r, up)
	defer up.image.Wipe()
	if err := s.readUpload(r, reporterID, ev, up); err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	f, err := s.addFile(r.Context(), reporterID, up, ev)
	if err != nil {
		s.failReport(w, r, ev, err)
		return
	}
	up.blob = nil // committed: keep it
	s.writeResponse(w, r, http.StatusOK, nil, up.id, f.ID, f.MD5)
}

// upload is what the multipart body of /upload carried.
type upload struct {
	id       int64
	haveID   bool
	report   *guardian.Report // set once the report is known to be open
	blob     *evidence.Blob   // the file, stored but not yet committed
	fileName string
	image    imageBuffer // the file in the clear, if small enough to hash
}

// readUpload reads the parts of an /upload body into up. The file part is
// streamed through hashing and encryption to the evidence store; only a
// file of up to MaxHashedImage bytes is also kept in memory (never on
// disk), to be PDQ-hashed once complete. Parts may come in any order: when "id" comes first
// (as every known client sends it) the report is checked before the file
// is read, so a large file is not read for nothing.
func (s *Server) readUpload(r *http.Request, reporterID int64, ev *guardian.AuditEvent, up *upload) error {
	err := s.walkParts(r, map[string]func(*multipart.Part) error{
		"id": func(part *multipart.Part) error {
			if up.haveID {
				return invalidf("more than one 'id' part")
			}
			id, err := s.parseID(part)
			if err != nil {
				return err
			}
			up.id, up.haveID = id, true
			ev.ReportID, ev.ObjectKind, ev.ObjectID = id, "report", strconv.FormatInt(id, 10)
			if up.blob != nil {
				return nil // checked once the form is read
			}
			up.report, err = s.openReport(r.Context(), reporterID, id)
			return err
		},
		"file": func(part *multipart.Part) error {
			if up.blob != nil {
				return invalidf("more than one 'file' part")
			}
			up.fileName = sanitizeFileName(part.FileName())
			var err error
			up.image = imageBuffer{max: MaxHashedImage}
			up.blob, err = s.Evidence.Put(r.Context(), io.TeeReader(part, &up.image), s.MaxUploadSize)
			return s.fileReadError(err)
		},
	})
	switch {
	case err != nil:
		return err
	case !up.haveID:
		return invalidf("the form field 'id' is missing")
	case up.blob == nil:
		return invalidf("the file part 'file' is missing")
	case up.blob.Size == 0:
		return guardian.Errorf(guardian.EMALFORMEDFILE, "the file is empty")
	}
	if up.report == nil {
		up.report, err = s.openReport(r.Context(), reporterID, up.id)
	}
	return err
}

// fileReadError turns an error of storing the file part into the answer
// the client gets: a file over the limit, or cut short, or too slow, is the
// client's (4200); anything else is the hub's.
func (s *Server) fileReadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, evidence.ErrTooLarge):
		return guardian.Errorf(guardian.EMALFORMEDFILE, "file exceeds the limit of %d bytes", s.MaxUploadSize)
	case errors.Is(err, errSlowBody):
		return s.slowBodyError(guardian.EMALFORMEDFILE, "file part")
	case errors.As(err, &mbe) || errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err):
		return guardian.Errorf(guardian.EMALFORMEDFILE, "file part could not be read to its end")
	}
	return err
}

// addFile records the uploaded file in its report. The store checks the
// report's state again in its transaction: it may have been finished while
// the file streamed in.
func (s *Server) addFile(ctx context.Context, reporterID int64, up *upload, ev *guardian.AuditEvent) (*guardian.File, error) {
	rep := up.report
	dk, err := s.MasterKey.UnwrapDataKey(rep.WrappedKey, reporterContext(rep.ReporterID))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key of report %d: %w", rep.ID, err)
	}
	f := &guardian.File{
		ID:         newFileID(),
		ReportID:   up.id,
		Name:       up.fileName,
		Size:       up.blob.Size,
		MD5:        up.blob.MD5,
		SHA1:       up.blob.SHA1,
		SHA256:     up.blob.SHA256,
		BlobKey:    up.blob.Key,
		WrappedKey: dk.WrapFileKey(up.blob.FileKey, up.blob.Key),
	}
	hashImage(&up.image, f)
	ev.FileID, ev.ObjectKind, ev.ObjectID = f.ID, "file", f.ID
	if err := s.Store.AddFile(ctx, reporterID, f, ev); err != nil {
		return nil, err
	}
	return f, nil
}

// dropBlob deletes the blob of an upload that was not committed.
func (s *Server) dropBlob(r *http.Request, up *upload) {
	if up.blob == nil {
		return
	}
	if err := s.Evidence.Delete(up.blob.Key); err != nil {
		s.logError(r, fmt.Errorf("delete unused blob: %w", err))
	}
}

// openReport returns the reporter's report if files may still be added to
// it. The store may answer from memory (FindOpenReport); AddFile checks
// again as it commits.
func (s *Server) openReport(ctx context.Context, reporterID, id int64) (*guardian.Report, error) {
	rep, err := s.Store.FindOpenReport(ctx, reporterID, id)
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
		return nil, s.bodyReadError(err, invalidf("request body could not be read"))
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
// urlencoded or a multipart body (clients send both).
func (s *Server) readIDField(r *http.Request) (int64, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return s.readMultipartID(r)
	}
	return s.readURLEncodedID(r)
}

// readMultipartID reads the one "id" part of a multipart body.
func (s *Server) readMultipartID(r *http.Request) (int64, error) {
	var (
		id    int64
		found bool
	)
	err := s.walkParts(r, map[string]func(*multipart.Part) error{
		"id": func(part *multipart.Part) error {
			if found {
				return invalidf("more than one 'id' field")
			}
			var err error
			id, err = s.parseID(part)
			found = err == nil
			return err
		},
	})
	if err != nil {
		return 0, err
	} else if !found {
		return 0, invalidf("the form field 'id' is missing")
	}
	return id, nil
}

// readURLEncodedID reads "id" from an application/x-www-form-urlencoded
// body, which is all that clients that do not send multipart send.
func (s *Server) readURLEncodedID(r *http.Request) (int64, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFieldSize+1))
	if err != nil {
		return 0, s.bodyReadError(err, invalidf("request body could not be read"))
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

// walkParts reads a multipart/form-data body part by part, the one way both
// /upload and the multipart form of /finish and /retract read theirs. Each
// part goes to the function registered for its form name; a part without
// one is read and dropped, up to maxFieldSize, and is an error beyond. A
// function's error ends the walk and is returned. Nothing is spooled to
// disk, so a file part sent where none is expected costs no space.
func (s *Server) walkParts(r *http.Request, read map[string]func(*multipart.Part) error) error {
	mr, br, err := multipartReader(r)
	if err != nil {
		return err
	}
	defer releaseReadBuf(br)
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return s.bodyReadError(err, invalidf("unreadable multipart body: %v", err))
		}
		if fn := read[part.FormName()]; fn != nil {
			err = fn(part)
		} else if _, cerr := io.CopyN(io.Discard, part, maxFieldSize+1); cerr != io.EOF {
			// Unknown fields are tolerated but bounded.
			err = s.bodyReadError(cerr, invalidf("part %q is too large", guardian.Clip(part.FormName(), 40)))
		}
		part.Close()
		if err != nil {
			return err
		}
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

func (s *Server) parseID(part io.Reader) (int64, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxIDLength+1))
	if err != nil {
		return 0, s.bodyReadError(err, invalidf("the 'id' part could not be read"))
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
			return 0, invalidf("the 'id' field %q is not a decimal report id", guardian.Clip(s, 32))
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidf("the 'id' field %q is not a valid report id", guardian.Clip(s, 32))
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

func succeeded(ev *guardian.AuditEvent) *guardian.AuditEvent {
	ev.Outcome = guardian.OutcomeSuccess
	return ev
}
