package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/server"
	"github.com/guardian-network/guardian/storetest"
)

// testHub is a Server on loopback with a real store on disk.
type testHub struct {
	*server.Server
	Dir   string
	Store guardian.Store
	Clock *storetest.Clock
	Base  string // intake base URL
	User  string
	Pass  string
}

// MustOpenHub starts a hub with one reporter whose password contains a
// colon (Basic credentials split at the first one). configure may change the
// server before it opens.
func MustOpenHub(tb testing.TB, configure func(*server.Server)) *testHub {
	tb.Helper()
	dir := tb.TempDir()
	clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	store := storetest.MustOpenSQLiteFile(tb, filepath.Join(dir, "guardian.db"), clock.Now)
	s := MustStartServer(tb, store, dir, func(s *server.Server) {
		s.Now = clock.Now
		if configure != nil {
			configure(s)
		}
	})
	h := &testHub{Server: s, Dir: dir, Store: store, Clock: clock, Base: s.URL() + s.Prefix, User: "example-chat", Pass: "pa:ss-" + crypto.GeneratePassword()}
	h.addReporter(tb, h.User, h.Pass)
	return h
}

func (h *testHub) addReporter(tb testing.TB, name, password string) {
	tb.Helper()
	MustAddReporter(tb, h.Store, name, password)
}

func (h *testHub) client() *intaketest.Client {
	return &intaketest.Client{BaseURL: h.Base, User: h.User, Password: h.Pass}
}

// response is a raw answer: status, headers and the decoded document.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Doc    intaketest.Response
}

func (h *testHub) do(tb testing.TB, method, op, contentType string, body io.Reader, auth bool) *response {
	tb.Helper()
	req, err := http.NewRequest(method, h.Base+"/"+op, body)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth {
		req.SetBasicAuth(h.User, h.Pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if op != "xsd" || resp.StatusCode != 200 {
		if err := xml.Unmarshal(b, &r.Doc); err != nil {
			tb.Fatalf("%s %s: body is not a response document: %v\n%s", method, op, err, b)
		}
		if !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)) {
			tb.Errorf("%s: body lacks the UTF-8 declaration: %s", op, b)
		}
		if got := resp.Header.Get("Content-Type"); got != "application/xml;charset=UTF-8" {
			tb.Errorf("%s: Content-Type %q", op, got)
		}
		if strings.TrimSpace(r.Doc.Description) == "" && r.Doc.XMLName.Local == "reportResponse" {
			tb.Errorf("%s: empty responseDescription", op)
		}
	}
	if len(resp.Header.Get("Request-ID")) != 36 {
		tb.Errorf("%s: Request-ID %q", op, resp.Header.Get("Request-ID"))
	}
	return r
}

func (h *testHub) post(tb testing.TB, op, contentType, body string) *response {
	tb.Helper()
	return h.do(tb, http.MethodPost, op, contentType, strings.NewReader(body), true)
}

// multipartBody builds a multipart body from parts in the given order; a
// part named "file" is a file part with the given file name.
func multipartBody(fileName string, parts ...[2]string) (string, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p[0] == "file" {
			w, _ := mw.CreateFormFile("file", fileName)
			w.Write([]byte(p[1]))
		} else {
			mw.WriteField(p[0], p[1])
		}
	}
	mw.Close()
	return mw.FormDataContentType(), buf.String()
}

func wantCode(tb testing.TB, r *response, code int) {
	tb.Helper()
	if r.Doc.Code != code {
		tb.Errorf("responseCode = %d (%s), want %d", r.Doc.Code, r.Doc.Description, code)
	}
}

func (h *testHub) submit(tb testing.TB) int64 {
	tb.Helper()
	id, err := h.client().Submit(context.Background(), []byte(intaketest.MinimalReport))
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func (h *testHub) upload(tb testing.TB, id int64, content string) string {
	tb.Helper()
	r, err := h.client().Upload(context.Background(), id, "x.bin", strings.NewReader(content))
	if err != nil {
		tb.Fatal(err)
	}
	return r.FileID
}

// events returns "action:outcome:reason" of every audit event of a report.
func (h *testHub) events(tb testing.TB, f guardian.AuditFilter) []string {
	tb.Helper()
	evs, err := h.Store.FindAuditEvents(context.Background(), f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action+":"+e.Outcome+":"+e.Reason)
	}
	return out
}

func TestAuthentication(t *testing.T) {
	// Failed sign-ins are recorded at the end of each window.
	h := MustOpenHub(t, func(s *server.Server) { s.FailureWindow = 50 * time.Millisecond })
	t.Run("Missing", func(t *testing.T) {
		r := h.do(t, "GET", "status", "", nil, false)
		if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("status %d, WWW-Authenticate %q", r.Status, r.Header.Get("WWW-Authenticate"))
		}
		wantCode(t, r, 2000)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		c := h.client()
		c.Password = "wrong"
		_, err := c.Submit(context.Background(), []byte(intaketest.MinimalReport))
		if ce, ok := err.(*intaketest.CodeError); !ok || ce.Response.Code != 2000 || ce.Response.HTTPStatus != 401 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("EveryRoute", func(t *testing.T) {
		for _, op := range []string{"status", "xsd", "submit", "upload", "fileinfo", "finish", "retract"} {
			method := "POST"
			if op == "status" || op == "xsd" {
				method = "GET"
			}
			if r := h.do(t, method, op, "", strings.NewReader(""), false); r.Status != 401 {
				t.Errorf("%s without credentials: HTTP %d", op, r.Status)
			}
		}
	})
	t.Run("Recorded", func(t *testing.T) {
		var got string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got = strings.Join(h.events(t, guardian.AuditFilter{Action: "intake.authenticate"}), " "); strings.Contains(got, "intake.authenticate:failure:2000") {
				break
			}
		}
		if !strings.Contains(got, "intake.authenticate:failure:2000") {
			t.Errorf("events: %s", got)
		}
	})
	t.Run("StatusWithColonInPassword", func(t *testing.T) {
		r := h.do(t, "GET", "status", "", nil, true)
		wantCode(t, r, 0)
		if want := "Remote User : example-chat, Remote Ip : 127.0.0.1"; r.Doc.Description != want {
			t.Errorf("description %q, want %q", r.Doc.Description, want)
		}
		if r.Doc.ReportID != 0 || bytes.Contains(r.Body, []byte("reportId")) {
			t.Errorf("status carries a reportId: %s", r.Body)
		}
	})
}

func TestXSD(t *testing.T) {
	h := MustOpenHub(t, nil)
	r := h.do(t, "GET", "xsd", "", nil, true)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte("<xs:schema")) || !bytes.Contains(r.Body, []byte(`name="report"`)) {
		t.Fatalf("xsd: HTTP %d\n%.300s", r.Status, r.Body)
	}
}

func TestRoutes(t *testing.T) {
	h := MustOpenHub(t, nil)
	r := h.do(t, "GET", "submit", "", nil, true)
	if r.Status != 405 || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET /submit: HTTP %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
	wantCode(t, r, 4000)
	r = h.do(t, "GET", "nothing-here", "", nil, true)
	if r.Status != 404 {
		t.Errorf("unknown path: HTTP %d", r.Status)
	}
	wantCode(t, r, 1210)
}

func TestSubmit(t *testing.T) {
	h := MustOpenHub(t, nil)
	for _, ct := range []string{"text/xml; charset=utf-8", "text/plain;charset=UTF-8", "application/xml", ""} {
		r := h.post(t, "submit", ct, intaketest.MinimalReport)
		wantCode(t, r, 0)
		if r.Doc.ReportID <= 0 || r.Doc.Description != "Success" {
			t.Errorf("Content-Type %q: %s", ct, r.Body)
		}
	}
	t.Run("StoredVerbatimAndParsed", func(t *testing.T) {
		id := h.submit(t)
		rep, err := h.Store.FindReportByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if string(rep.XML) != intaketest.MinimalReport || rep.State != guardian.ReportOpen {
			t.Errorf("xml %q state %s", rep.XML, rep.State)
		}
		if !bytes.Contains(rep.Document, []byte("trust-safety@example.com")) {
			t.Errorf("document %s", rep.Document)
		}
		if rep.ProvisionalPriority != guardian.Priority3 {
			t.Errorf("provisional priority %q, want 3", rep.ProvisionalPriority)
		}
	})
	t.Run("ProvisionalPriority", func(t *testing.T) {
		// Annotated sextortion and sadistic exploitation: urgency 90 from
		// the document alone, priority 1 before any file is known.
		urgent := strings.Replace(intaketest.MinimalReport, "<incidentDateTime>",
			"<reportAnnotations><sextortion/><sadisticOnlineExploitation/></reportAnnotations><incidentDateTime>", 1)
		if urgent == intaketest.MinimalReport {
			t.Fatal("no incidentDateTime to annotate before")
		}
		r := h.post(t, "submit", "text/xml", urgent)
		wantCode(t, r, 0)
		rep, err := h.Store.FindReportByID(context.Background(), r.Doc.ReportID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.ProvisionalPriority != guardian.Priority1 {
			t.Errorf("provisional priority %q, want 1", rep.ProvisionalPriority)
		}
	})
	bad := []struct {
		name, body string
		code       int
	}{
		{"NotXML", "this is not xml", 4110},
		{"Empty", "", 4110},
		{"Truncated", intaketest.MinimalReport[:200], 4110},
		{"WrongRoot", string(intaketest.FileDetails(1, "abcdef0123456789abcdef0123456789")), 4110},
		{"Order", strings.Replace(intaketest.MinimalReport, "<incidentSummary>", "<reporter><reportingPerson/></reporter><incidentSummary>", 1), 4110},
		{"Doctype", `<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x "y">]>` + intaketest.MinimalReport[strings.Index(intaketest.MinimalReport, "<report "):], 4110},
		{"Deep", strings.Repeat("<report>", 100000), 4110},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, "submit", "text/xml", tc.body)
			wantCode(t, r, tc.code)
			if r.Doc.ReportID != 0 {
				t.Errorf("rejected submit has reportId %d", r.Doc.ReportID)
			}
		})
	}
	t.Run("RejectionsRecorded", func(t *testing.T) {
		got := strings.Join(h.events(t, guardian.AuditFilter{Action: "report.submit"}), " ")
		if strings.Count(got, "report.submit:failure:4110") != len(bad) {
			t.Errorf("events: %s", got)
		}
	})
}

func TestSubmitTooLarge(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) { s.MaxDocumentSize = 1024 })
	r := h.post(t, "submit", "text/xml", intaketest.MinimalReport+strings.Repeat(" ", 2000))
	wantCode(t, r, 4100)
	if !strings.Contains(r.Doc.Description, "limit") {
		t.Errorf("description %q", r.Doc.Description)
	}
}

func TestUpload(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) { s.MaxUploadSize = 4096 })
	id := h.submit(t)
	ids := strconv.FormatInt(id, 10)

	t.Run("OK", func(t *testing.T) {
		ct, body := multipartBody("photo.jpg", [2]string{"id", ids}, [2]string{"file", "synthetic bytes"})
		r := h.post(t, "upload", ct, body)
		wantCode(t, r, 0)
		sum := md5.Sum([]byte("synthetic bytes"))
		if r.Doc.ReportID != id || len(r.Doc.FileID) != 32 || r.Doc.Hash != hex.EncodeToString(sum[:]) {
			t.Errorf("%s", r.Body)
		}
	})
	t.Run("FileBeforeID", func(t *testing.T) {
		ct, body := multipartBody("photo.jpg", [2]string{"file", "other bytes"}, [2]string{"id", " " + ids + "\n"})
		wantCode(t, h.post(t, "upload", ct, body), 0)
	})
	t.Run("SameBytesTwice", func(t *testing.T) {
		a, b := h.upload(t, id, "twice"), h.upload(t, id, "twice")
		if a == b {
			t.Errorf("identical uploads got the same file id %s", a)
		}
	})
	t.Run("PathTrickName", func(t *testing.T) {
		ct, body := multipartBody(`../../etc/pass\wd`+"\u202e\u0085.jpg", [2]string{"id", ids}, [2]string{"file", "named bytes"})
		r := h.post(t, "upload", ct, body)
		wantCode(t, r, 0)
		rep, err := h.Store.FindReportByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Files {
			if f.ID == r.Doc.FileID && (strings.ContainsAny(f.Name, "/\\\u202e\u0085") || f.Name == "") {
				t.Errorf("stored name %q", f.Name)
			}
		}
	})
	t.Run("ChunkedWithExpectContinue", func(t *testing.T) {
		ct, body := multipartBody("c.bin", [2]string{"id", ids}, [2]string{"file", "chunked bytes"})
		req, _ := http.NewRequest("POST", h.Base+"/upload", io.MultiReader(strings.NewReader(body))) // unknown length: chunked
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Expect", "100-continue")
		req.SetBasicAuth(h.User, h.Pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !bytes.Contains(b, []byte("<responseCode>0</responseCode>")) || req.ContentLength != 0 {
			t.Errorf("%s", b)
		}
	})
	errs := []struct {
		name  string
		ct    string
		body  string
		code  int
		parts [][2]string
	}{
		{name: "MissingID", parts: [][2]string{{"file", "x"}}, code: 4000},
		{name: "MissingFile", parts: [][2]string{{"id", ids}}, code: 4000},
		{name: "BadID", parts: [][2]string{{"id", "12a"}, {"file", "x"}}, code: 4000},
		{name: "NegativeID", parts: [][2]string{{"id", "-1"}, {"file", "x"}}, code: 4000},
		{name: "HugeID", parts: [][2]string{{"id", "99999999999999999999999"}, {"file", "x"}}, code: 4000},
		{name: "TwoIDs", parts: [][2]string{{"id", ids}, {"id", ids}, {"file", "x"}}, code: 4000},
		{name: "TwoFiles", parts: [][2]string{{"id", ids}, {"file", "x"}, {"file", "y"}}, code: 4000},
		{name: "EmptyFile", parts: [][2]string{{"id", ids}, {"file", ""}}, code: 4200},
		{name: "TooLarge", parts: [][2]string{{"id", ids}, {"file", strings.Repeat("z", 4097)}}, code: 4200},
		{name: "UnknownReport", parts: [][2]string{{"id", "987654"}, {"file", "x"}}, code: 5001},
		{name: "NotMultipart", ct: "application/x-www-form-urlencoded", body: "id=" + ids, code: 4000},
		{name: "BrokenMultipart", ct: "multipart/form-data; boundary=xyz", body: "--xyz\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1", code: 4000},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			before := countBlobs(t, h)
			ct, body := tc.ct, tc.body
			if tc.parts != nil {
				ct, body = multipartBody("f.bin", tc.parts...)
			}
			wantCode(t, h.post(t, "upload", ct, body), tc.code)
			if after := countBlobs(t, h); after != before {
				t.Errorf("a rejected upload left %d blob(s)", after-before)
			}
		})
	}
	t.Run("ExactlyAtLimit", func(t *testing.T) {
		h.upload(t, id, strings.Repeat("z", 4096))
	})
	t.Run("OtherReportersReport", func(t *testing.T) {
		h.addReporter(t, "other-service", "other-password")
		other := &intaketest.Client{BaseURL: h.Base, User: "other-service", Password: "other-password"}
		_, err := other.Upload(context.Background(), id, "x", strings.NewReader("x"))
		if ce, ok := err.(*intaketest.CodeError); !ok || ce.Response.Code != 5001 {
			t.Errorf("err = %v", err)
		}
		_, err = other.Finish(context.Background(), id)
		if ce, ok := err.(*intaketest.CodeError); !ok || ce.Response.Code != 5001 {
			t.Errorf("err = %v", err)
		}
	})
}

func countBlobs(tb testing.TB, h *testHub) int {
	tb.Helper()
	keys, err := h.Evidence.List(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return len(keys)
}

func TestFileInfo(t *testing.T) {
	h := MustOpenHub(t, nil)
	id := h.submit(t)
	fid := h.upload(t, id, "bytes")
	details := string(intaketest.FileDetails(id, fid))

	r := h.post(t, "fileinfo", "text/plain;charset=UTF-8", details)
	wantCode(t, r, 0)
	if r.Doc.ReportID != id || r.Doc.FileID != fid {
		t.Errorf("%s", r.Body)
	}
	t.Run("IdenticalAgain", func(t *testing.T) { wantCode(t, h.post(t, "fileinfo", "text/xml", details), 0) })
	t.Run("DifferentAgain", func(t *testing.T) {
		wantCode(t, h.post(t, "fileinfo", "text/xml", strings.Replace(details, "IMG_0001", "IMG_0002", 1)), 4100)
	})
	t.Run("UnknownFile", func(t *testing.T) {
		wantCode(t, h.post(t, "fileinfo", "text/xml", string(intaketest.FileDetails(id, "abcdef0123456789abcdef0123456789"))), 5002)
	})
	t.Run("UnknownReport", func(t *testing.T) {
		wantCode(t, h.post(t, "fileinfo", "text/xml", string(intaketest.FileDetails(id+1000, fid))), 5001)
	})
	t.Run("Malformed", func(t *testing.T) {
		wantCode(t, h.post(t, "fileinfo", "text/xml", strings.Replace(details, "<fileViewedByEsp>true", "<fileViewedByEsp>perhaps", 1)), 4110)
	})
	t.Run("ReportRoot", func(t *testing.T) { wantCode(t, h.post(t, "fileinfo", "text/xml", intaketest.MinimalReport), 4110) })
}

func TestFinishAndRetract(t *testing.T) {
	h := MustOpenHub(t, nil)
	id := h.submit(t)
	ids := strconv.FormatInt(id, 10)
	f1, f2 := h.upload(t, id, "one"), h.upload(t, id, "two")

	t.Run("Multipart", func(t *testing.T) {
		ct, body := multipartBody("", [2]string{"id", ids})
		r := h.post(t, "finish", ct, body)
		wantCode(t, r, 0)
		if r.Doc.XMLName.Local != "reportDoneResponse" || r.Doc.ReportID != id || strings.Join(r.Doc.Files, ",") != f1+","+f2 {
			t.Errorf("%s", r.Body)
		}
	})
	t.Run("Again", func(t *testing.T) {
		r := h.post(t, "finish", "application/x-www-form-urlencoded", "id="+ids)
		wantCode(t, r, 5102)
		if r.Doc.XMLName.Local != "reportDoneResponse" || r.Doc.ReportID != id || !bytes.Contains(r.Body, []byte("<files/>")) {
			t.Errorf("%s", r.Body)
		}
	})
	t.Run("UploadAfterFinish", func(t *testing.T) {
		ct, body := multipartBody("x", [2]string{"id", ids}, [2]string{"file", "late"})
		wantCode(t, h.post(t, "upload", ct, body), 5102)
	})
	t.Run("FileInfoAfterFinish", func(t *testing.T) {
		wantCode(t, h.post(t, "fileinfo", "text/xml", string(intaketest.FileDetails(id, f1))), 5102)
	})
	t.Run("RetractAfterFinish", func(t *testing.T) {
		wantCode(t, h.post(t, "retract", "application/x-www-form-urlencoded", "id="+ids), 5102)
	})
	t.Run("BadID", func(t *testing.T) {
		for _, body := range []string{"", "id=", "id=abc", "id=0", "id=1&id=2", "id=" + strings.Repeat("9", 40)} {
			r := h.post(t, "finish", "application/x-www-form-urlencoded", body)
			wantCode(t, r, 4000)
			if r.Doc.XMLName.Local != "reportDoneResponse" {
				t.Errorf("%q: root %s", body, r.Doc.XMLName.Local)
			}
		}
	})
	t.Run("FileToFinishIsNotSpooled", func(t *testing.T) {
		ct, body := multipartBody("big.bin", [2]string{"file", strings.Repeat("q", 100<<10)}, [2]string{"id", ids})
		wantCode(t, h.post(t, "finish", ct, body), 4000)
	})
	t.Run("Retract", func(t *testing.T) {
		id2 := strconv.FormatInt(h.submit(t), 10)
		r := h.post(t, "retract", "application/x-www-form-urlencoded", "id="+id2)
		wantCode(t, r, 0)
		if r.Doc.ReportID == 0 {
			t.Errorf("%s", r.Body)
		}
		wantCode(t, h.post(t, "retract", "application/x-www-form-urlencoded", "id="+id2), 5101)
		ct, body := multipartBody("", [2]string{"id", id2})
		wantCode(t, h.post(t, "finish", ct, body), 5101)
	})
	t.Run("FinishWithoutFiles", func(t *testing.T) {
		id3 := h.submit(t)
		r, err := h.client().Finish(context.Background(), id3)
		if err != nil || len(r.Files) != 0 {
			t.Errorf("%v %v", r, err)
		}
	})
	t.Run("Recorded", func(t *testing.T) {
		got := strings.Join(h.events(t, guardian.AuditFilter{ReportID: id}), " ")
		for _, want := range []string{"report.submit:success:", "file.upload:success:", "report.finish:success:", "report.finish:failure:5102", "file.upload:failure:5102", "file.details:failure:5102", "report.retract:failure:5102"} {
			if !strings.Contains(got, want) {
				t.Errorf("events of report %d lack %s: %s", id, want, got)
			}
		}
	})
}

func TestExpiry(t *testing.T) {
	h := MustOpenHub(t, nil)
	ctx := context.Background()
	id := h.submit(t)
	h.upload(t, id, "expiring bytes")
	kept := h.submit(t)
	before := countBlobs(t, h)

	// 23 hours on, a change keeps it open for one more hour past the 24.
	h.Clock.Advance(23*time.Hour + 30*time.Minute)
	h.upload(t, kept, "touched")
	h.Clock.Advance(59 * time.Minute) // id is 24h29m old: expired; kept expires in a minute
	_, err := h.client().Upload(ctx, id, "x", strings.NewReader("late"))
	if ce, ok := err.(*intaketest.CodeError); !ok || ce.Response.Code != 5001 {
		t.Fatalf("upload to an expired report: %v", err)
	}
	exp := &jobs.Expirer{Store: h.Store, Evidence: h.Evidence, Logger: slog.New(slog.DiscardHandler)}
	n, err := exp.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep expired %d, %v; want 1", n, err)
	}
	rep, err := h.Store.FindReportByID(ctx, id)
	if err != nil || rep.State != guardian.ReportExpired || rep.WrappedKey != nil {
		t.Fatalf("expired report: %+v %v", rep, err)
	}
	// One blob was added to kept and the expired report's one deleted.
	if after := countBlobs(t, h); after != before {
		t.Errorf("blobs: %d before, %d after expiry", before, after)
	}
	if got := strings.Join(h.events(t, guardian.AuditFilter{ReportID: id}), " "); !strings.Contains(got, "report.expire:success:") {
		t.Errorf("events: %s", got)
	}
	// The touched report is still open, and expires an hour after its change.
	if _, err := h.client().Finish(ctx, kept); err != nil {
		t.Errorf("finish the touched report: %v", err)
	}
}

// TestNoPlaintextOnDisk uploads a recognisable pattern and searches every
// byte under the data directory for it.
func TestNoPlaintextOnDisk(t *testing.T) {
	h := MustOpenHub(t, nil)
	pattern := "SYNTHETIC-PLAINTEXT-MARKER-" + strings.Repeat("0123456789", 20)
	id := h.submit(t)
	h.upload(t, id, strings.Repeat(pattern, 2000))
	err := filepath.WalkDir(h.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(pattern[:40])) {
			t.Errorf("plaintext found in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOverload holds the only request slot with a slow upload and expects
// the next request to be turned away with 503 and Retry-After.
func TestOverload(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) { s.MaxInFlight = 1 })
	id := h.submit(t)
	// The previous request's slot is freed just after its answer is sent,
	// so the slow upload itself may be turned away: then try again.
	for attempt := 0; ; attempt++ {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		status := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("POST", h.Base+"/upload", pr)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.SetBasicAuth(h.User, h.Pass)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				status <- 0
				return
			}
			resp.Body.Close()
			status <- resp.StatusCode
		}()
		mw.WriteField("id", strconv.FormatInt(id, 10))
		fw, _ := mw.CreateFormFile("file", "slow.bin")
		fw.Write([]byte("first half"))
		var r *response
		select {
		case st := <-status:
			pw.Close()
			if attempt < 5 && st == 503 {
				continue
			}
			t.Fatalf("the slow upload ended early with HTTP %d", st)
		case <-time.After(50 * time.Millisecond):
			r = h.do(t, "GET", "status", "", nil, true)
		}
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Errorf("status while busy: HTTP %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
		}
		wantCode(t, r, 1000)
		fw.Write([]byte("second half"))
		mw.Close()
		pw.Close()
		if st := <-status; st != 200 {
			t.Errorf("slow upload: HTTP %d", st)
		}
		break
	}
	wantCode(t, h.do(t, "GET", "status", "", nil, true), 0)
}

func TestConcurrentFlows(t *testing.T) {
	h := MustOpenHub(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client()
			ctx := context.Background()
			for i := range 5 {
				id, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
				if err != nil {
					errs <- err
					return
				}
				up, err := c.Upload(ctx, id, "f", strings.NewReader(fmt.Sprintf("worker %d flow %d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.FileInfo(ctx, intaketest.FileDetails(id, up.FileID)); err != nil {
					errs <- err
					return
				}
				fin, err := c.Finish(ctx, id)
				if err != nil || len(fin.Files) != 1 || fin.Files[0] != up.FileID {
					errs <- fmt.Errorf("finish %d: %v %v", id, fin, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testLogger discards, unless GUARDIAN_TEST_LOG is set to see the hub's log.
func testLogger() *slog.Logger {
	if os.Getenv("GUARDIAN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// xmlNode is any element with its children in document order.
type xmlNode struct {
	XMLName xml.Name
	Text    string    `xml:",chardata"`
	Nodes   []xmlNode `xml:",any"`
}

// readDoneStrictly reads a reportDoneResponse as a client with a strict,
// in-order model of the reference's sequence does (the Python client's
// pydantic-xml models, reference §2.4): responseCode, reportId and files
// must be the first three children, in that order; anything after them is
// ignored.
func readDoneStrictly(b []byte) (code int, reportID int64, err error) {
	var root xmlNode
	if err := xml.Unmarshal(b, &root); err != nil {
		return 0, 0, err
	}
	if root.XMLName.Local != "reportDoneResponse" {
		return 0, 0, fmt.Errorf("root <%s>", root.XMLName.Local)
	}
	for i, want := range []string{"responseCode", "reportId", "files"} {
		if i >= len(root.Nodes) || root.Nodes[i].XMLName.Local != want {
			return 0, 0, fmt.Errorf("child %d is not <%s>", i+1, want)
		}
	}
	if code, err = strconv.Atoi(root.Nodes[0].Text); err != nil {
		return 0, 0, err
	}
	reportID, err = strconv.ParseInt(root.Nodes[1].Text, 10, 64)
	return code, reportID, err
}

// TestFinishRefusalsStrictOrder reads every refusal of /finish as a strict
// in-order client would (issue 9, point 5): before, each failed with a
// validation error, because the description stood between responseCode and
// reportId.
func TestFinishRefusalsStrictOrder(t *testing.T) {
	h := MustOpenHub(t, nil)
	finished, retracted := h.submit(t), h.submit(t)
	if _, err := h.client().Finish(context.Background(), finished); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client().Retract(context.Background(), retracted); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body string
		code int
		id   int64
	}{
		{"finished", "id=" + strconv.FormatInt(finished, 10), 5102, finished},
		{"retracted", "id=" + strconv.FormatInt(retracted, 10), 5101, retracted},
		{"unknown", "id=" + strconv.FormatInt(retracted+1000, 10), 5001, retracted + 1000},
		{"bad id", "id=x", 4000, 0},
		{"no id", "", 4000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, "finish", "application/x-www-form-urlencoded", tc.body)
			code, id, err := readDoneStrictly(r.Body)
			if err != nil || code != tc.code || id != tc.id {
				t.Errorf("read %d, %d, %v; want %d, %d\n%s", code, id, err, tc.code, tc.id, r.Body)
			}
			// The description is there for clients that look for it.
			if r.Doc.Description == "" {
				t.Errorf("no responseDescription: %s", r.Body)
			}
		})
	}
}
