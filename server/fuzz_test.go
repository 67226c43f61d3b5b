package server_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/server"
)

const fuzzBoundary = "fuzzboundary0123456789"

// fuzzMultipart builds a seed body with the fuzz boundary.
func fuzzMultipart(parts ...string) []byte {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + fuzzBoundary + "\r\n" + p + "\r\n")
	}
	b.WriteString("--" + fuzzBoundary + "--\r\n")
	return []byte(b.String())
}

// FuzzUpload sends arbitrary multipart bodies to /upload through the real
// handler and store. Whatever the body, the answer is a response document;
// a success names a stored file whose MD5 is the returned hash, and a
// rejection leaves no blob behind.
func FuzzUpload(f *testing.F) {
	h := MustOpenHub(f, func(s *server.Server) { s.MaxUploadSize = 1 << 16 })
	id := h.submit(f)
	ids := strconv.FormatInt(id, 10)
	f.Add(fuzzMultipart(`Content-Disposition: form-data; name="id"`+"\r\n\r\n"+ids,
		`Content-Disposition: form-data; name="file"; filename="IMG_0001.jpg"`+"\r\nContent-Type: application/octet-stream\r\n\r\nsynthetic"))
	f.Add(fuzzMultipart(`Content-Disposition: form-data; name="file"; filename="../x"`+"\r\n\r\nabc",
		`Content-Disposition: form-data; name="id"`+"\r\n\r\n "+ids+" "))
	f.Add(fuzzMultipart(`Content-Disposition: form-data; name="id"` + "\r\n\r\n" + ids))
	f.Add(fuzzMultipart(`Content-Disposition: form-data; name="other"`+"\r\n\r\nvalue",
		`Content-Disposition: form-data; name="id"`+"\r\n\r\n"+ids,
		`Content-Disposition: form-data; name="file"; filename="a"`+"\r\n\r\n"))
	f.Add([]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1"))
	handler := h.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := countBlobs(t, h)
		req := httptest.NewRequest("POST", h.Prefix+"/upload", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
		req.SetBasicAuth(h.User, h.Pass)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		var doc intaketest.Response
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("HTTP %d, not a response document: %v\n%q", rec.Code, err, rec.Body.Bytes())
		}
		after := countBlobs(t, h)
		if doc.Code != 0 {
			if after != before {
				t.Fatalf("rejected upload (code %d) left a blob", doc.Code)
			}
			return
		}
		if after != before+1 || doc.ReportID != id {
			t.Fatalf("accepted upload: blobs %d → %d, report %d", before, after, doc.ReportID)
		}
		rep, err := h.Store.FindReportByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range rep.Files {
			if fl.ID == doc.FileID {
				if fl.MD5 != doc.Hash || len(fl.MD5) != 32 {
					t.Fatalf("stored MD5 %s, answered %s", fl.MD5, doc.Hash)
				}
				return
			}
		}
		t.Fatalf("answered file %s is not stored", doc.FileID)
	})
}

// FuzzIDField sends arbitrary bodies to /finish and /retract, urlencoded and
// multipart: the answer is always a document of the right root with a known
// code.
func FuzzIDField(f *testing.F) {
	h := MustOpenHub(f, nil)
	id := h.submit(f)
	f.Add(false, []byte("id="+strconv.FormatInt(id+1000, 10)))
	f.Add(false, []byte("id=%20123%0A&x=y"))
	f.Add(true, fuzzMultipart(`Content-Disposition: form-data; name="id"`+"\r\n\r\n77"))
	f.Add(true, fuzzMultipart(`Content-Disposition: form-data; name="file"; filename="f"`+"\r\n\r\nbytes"))
	handler := h.Handler()
	known := map[int]bool{0: true, 4000: true, 5001: true, 5101: true, 5102: true}
	f.Fuzz(func(t *testing.T, multi bool, body []byte) {
		for _, op := range []string{"finish", "retract"} {
			req := httptest.NewRequest("POST", h.Prefix+"/"+op, bytes.NewReader(body))
			if multi {
				req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
			} else {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.SetBasicAuth(h.User, h.Pass)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			var doc intaketest.Response
			if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("%s: HTTP %d: %v\n%q", op, rec.Code, err, rec.Body.Bytes())
			}
			wantRoot := map[string]string{"finish": "reportDoneResponse", "retract": "reportResponse"}[op]
			if doc.XMLName.Local != wantRoot || !known[doc.Code] {
				t.Fatalf("%s: root %s code %d", op, doc.XMLName.Local, doc.Code)
			}
		}
	})
}
