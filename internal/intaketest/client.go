// Package intaketest is a small CyberTipline intake client for Guardian's own
// tests, benchmarks and crash tests. It speaks the wire format directly (it
// does not reuse package cybertip) so that a mistake in the server's response
// encoding cannot hide behind shared code.
package intaketest

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls one hub's intake API as one reporter.
type Client struct {
	BaseURL  string // e.g. http://127.0.0.1:8080/ispws
	User     string
	Password string
	HTTP     *http.Client
}

// Response is a reportResponse or reportDoneResponse as received.
type Response struct {
	XMLName     xml.Name
	Code        int      `xml:"responseCode"`
	Description string   `xml:"responseDescription"`
	ReportID    int64    `xml:"reportId"`
	FileID      string   `xml:"fileId"`
	Hash        string   `xml:"hash"`
	Files       []string `xml:"files>fileId"`

	HTTPStatus int
	RequestID  string
}

// CodeError is a response with a non-zero responseCode.
type CodeError struct{ Response *Response }

func (e *CodeError) Error() string {
	return fmt.Sprintf("responseCode %d (HTTP %d): %s", e.Response.Code, e.Response.HTTPStatus, e.Response.Description)
}

func (c *Client) do(ctx context.Context, op, contentType string, body io.Reader) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/"+op, body)
	if err != nil {
		return nil, err
	}
	if op == "status" {
		req.Method = http.MethodGet
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.SetBasicAuth(c.User, c.Password)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s response: %w", op, err)
	}
	r := &Response{HTTPStatus: resp.StatusCode, RequestID: resp.Header.Get("Request-ID")}
	if err := xml.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decode %s response (HTTP %d): %w: %q", op, resp.StatusCode, err, b)
	}
	if r.Code != 0 {
		return r, &CodeError{Response: r}
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("%s: code 0 with HTTP %d", op, resp.StatusCode)
	}
	return r, nil
}

// Status calls /status.
func (c *Client) Status(ctx context.Context) (*Response, error) {
	return c.do(ctx, "status", "", nil)
}

// Submit opens a report and returns its id.
func (c *Client) Submit(ctx context.Context, report []byte) (int64, error) {
	r, err := c.do(ctx, "submit", "text/xml; charset=utf-8", bytes.NewReader(report))
	if err != nil {
		return 0, err
	}
	return r.ReportID, nil
}

// Upload adds a file and returns the hub's answer (fileId and MD5 hash).
func (c *Client) Upload(ctx context.Context, reportID int64, name string, content io.Reader) (*Response, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := mw.WriteField("id", strconv.FormatInt(reportID, 10)); err != nil {
				return err
			}
			fw, err := mw.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, content); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	r, err := c.do(ctx, "upload", mw.FormDataContentType(), pr)
	pr.Close()
	return r, err
}

// FileInfo sends a fileDetails document.
func (c *Client) FileInfo(ctx context.Context, details []byte) (*Response, error) {
	return c.do(ctx, "fileinfo", "text/xml; charset=utf-8", bytes.NewReader(details))
}

// Finish completes a report and returns the file ids the hub lists.
func (c *Client) Finish(ctx context.Context, reportID int64) (*Response, error) {
	return c.do(ctx, "finish", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"id": {strconv.FormatInt(reportID, 10)}}.Encode()))
}

// Retract cancels a report.
func (c *Client) Retract(ctx context.Context, reportID int64) (*Response, error) {
	return c.do(ctx, "retract", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"id": {strconv.FormatInt(reportID, 10)}}.Encode()))
}

// MinimalReport is the reference's minimal valid <report> (§7.1).
const MinimalReport = `<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2024-03-01T12:00:00Z</incidentDateTime>
  </incidentSummary>
  <internetDetails>
    <webPageIncident>
      <url>https://files.example.com/share/0000-synthetic</url>
    </webPageIncident>
  </internetDetails>
  <reporter>
    <reportingPerson>
      <firstName>Jordan</firstName>
      <lastName>Example</lastName>
      <email>trust-safety@example.com</email>
    </reportingPerson>
  </reporter>
</report>`

// FileDetails returns a small valid <fileDetails> document for a file.
func FileDetails(reportID int64, fileID string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<fileDetails>
  <reportId>%d</reportId>
  <fileId>%s</fileId>
  <originalFileName>IMG_0001.jpg</originalFileName>
  <fileViewedByEsp>true</fileViewedByEsp>
  <publiclyAvailable>false</publiclyAvailable>
  <ipCaptureEvent>
    <ipAddress>198.51.100.23</ipAddress>
    <eventName>Upload</eventName>
    <dateTime>2024-05-06T18:04:58Z</dateTime>
  </ipCaptureEvent>
</fileDetails>`, reportID, fileID))
}
