package cybertip

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// The §7.4 examples of the reference, byte for byte (refRefused as corrected:
// the description after <files/>).
const (
	refStatus    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Remote User : esp-test-user, Remote Ip : 203.0.113.9</responseDescription></reportResponse>`
	refSubmit    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId></reportResponse>`
	refUpload    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId><hash>4608a4ee9a371b7e28c9e48a3385e52f</hash></reportResponse>`
	refFileinfo  = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId></reportResponse>`
	refFinish    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>1000042</reportId><files><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId></files></reportDoneResponse>`
	refMalformed = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4110</responseCode><responseDescription>Malformed XML submittal - cvc-complex-type.2.4.b: The content of element 'incidentSummary' is not complete.</responseDescription></reportResponse>`
	refRefused   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>5102</responseCode><reportId>1000042</reportId><files/><responseDescription>Report already finished</responseDescription></reportDoneResponse>`
)

func TestResponseBytes(t *testing.T) {
	const fileID, hash = "c0ffee00d15ea5e0ab12cd34ef56a789", "4608a4ee9a371b7e28c9e48a3385e52f"
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"status", Response{Code: 0, Description: "Remote User : esp-test-user, Remote Ip : 203.0.113.9"}.Bytes(), refStatus},
		{"submit", Response{Code: 0, Description: "Success", ReportID: 1000042}.Bytes(), refSubmit},
		{"upload", Response{Code: 0, Description: "Success", ReportID: 1000042, FileID: fileID, Hash: hash}.Bytes(), refUpload},
		{"fileinfo", Response{Code: 0, Description: "Success", ReportID: 1000042, FileID: fileID}.Bytes(), refFileinfo},
		{"finish", DoneResponse{Code: 0, Description: "ignored on success", ReportID: 1000042, FileIDs: []string{fileID}}.Bytes(), refFinish},
		{"malformed", Response{Code: 4110, Description: "Malformed XML submittal - cvc-complex-type.2.4.b: The content of element 'incidentSummary' is not complete."}.Bytes(), refMalformed},
		{"finish refused", DoneResponse{Code: 5102, Description: "Report already finished", ReportID: 1000042}.Bytes(), refRefused},
		{"finish without files", DoneResponse{ReportID: 7}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>7</reportId><files/></reportDoneResponse>`},
		{"finish of unknown report", DoneResponse{Code: 4000, Description: "Invalid request: id is not a number"}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>4000</responseCode><reportId>0</reportId><files/><responseDescription>Invalid request: id is not a number</responseDescription></reportDoneResponse>`},
		{"escaped", Response{Code: 4110, Description: `Malformed XML submittal - <a> & "b"`, FileID: "<x>"}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4110</responseCode><responseDescription>Malformed XML submittal - &lt;a&gt; &amp; "b"</responseDescription><fileId>&lt;x&gt;</fileId></reportResponse>`},
		{"empty description", Response{Code: 0}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription></reportResponse>`},
		{"numeric description", Response{Code: 4100, Description: "0e12"}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4100</responseCode><responseDescription>Validation failed: 0e12</responseDescription></reportResponse>`},
		{"unknown code, numeric description", DoneResponse{Code: 1234, Description: " 42 ", ReportID: 1}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>1234</responseCode><reportId>1</reportId><files/><responseDescription>Error 1234:  42 </responseDescription></reportDoneResponse>`},
		{"characters XML cannot carry", Response{Code: 4110, Description: "bad \x01 \xff \uFFFE\r\n"}.Bytes(),
			"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><reportResponse><responseCode>4110</responseCode><responseDescription>bad \uFFFD \uFFFD \uFFFD&#xD;\n</responseDescription></reportResponse>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", tc.got, tc.want)
			}
		})
	}
}

func TestResponseCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		desc string
	}{
		{nil, 0, "Success"},
		{errors.New("disk on fire at /var/lib/guardian"), 1000, "Server error"},
		{guardian.Errorf(guardian.EINTERNAL, "detail"), 1000, "Server error"},
		{guardian.Errorf(guardian.EUNAVAILABLE, "shutting down; try again later"), 1000, "Server error: shutting down; try again later"},
		{guardian.Errorf(guardian.EUNAUTHORIZED, "bad password"), 2000, "Authentication required"},
		{guardian.Errorf(guardian.EINVALID, "form field id is missing"), 4000, "Invalid request: form field id is missing"},
		{guardian.Errorf(guardian.EVALIDATION, "too long"), 4100, "Validation failed: too long"},
		{guardian.Errorf(guardian.ECONFLICT, "different details already given"), 4100, "Validation failed: different details already given"},
		{guardian.Errorf(guardian.EMALFORMED, "cvc-x"), 4110, "Malformed XML submittal - cvc-x"},
		{guardian.Errorf(guardian.EMALFORMEDFILE, "the file is empty"), 4200, "Malformed file submittal: the file is empty"},
		{guardian.Errorf(guardian.EREPORTNOTFOUND, ""), 5001, "Report does not exist"},
		{guardian.Errorf(guardian.EREPORTNOTFOUND, "report 7 has expired"), 5001, "Report does not exist: report 7 has expired"},
		{guardian.Errorf(guardian.EFILENOTFOUND, "no file c0ffee in report 7"), 5002, "File does not exist: no file c0ffee in report 7"},
		{guardian.Errorf(guardian.ERETRACTED, "x"), 5101, "Report already retracted"},
		{guardian.Errorf(guardian.EFINISHED, "x"), 5102, "Report already finished"},
		{guardian.Errorf(guardian.ENOTFOUND, ""), 1210, "Resource not found"},
		{fmt.Errorf("wrapped: %w", guardian.Errorf(guardian.EFINISHED, "")), 5102, "Report already finished"},
		{guardian.Errorf("brand-new-code", "x"), 1000, "Server error"},
		{guardian.Errorf(guardian.EVALIDATION, "line\none\u202e"), 4100, `Validation failed: line\u000Aone\u202E`},
	} {
		code, desc := ResponseCode(tc.err)
		if code != tc.code || desc != tc.desc {
			t.Errorf("ResponseCode(%v) = %d %q, want %d %q", tc.err, code, desc, tc.code, tc.desc)
		}
		assertSafeMessage(t, desc)
	}
}

// TestResponsesValidate checks Guardian's own answers against the served
// schema, with libxml2 and with the validator.
func TestResponsesValidate(t *testing.T) {
	const fileID = "c0ffee00d15ea5e0ab12cd34ef56a789"
	docs := [][]byte{
		[]byte(refStatus), []byte(refSubmit), []byte(refUpload), []byte(refFileinfo),
		[]byte(refFinish), []byte(refMalformed), []byte(refRefused),
		Response{Code: 4110, Description: strings.Repeat("<&>", 10), ReportID: 1}.Bytes(),
		DoneResponse{Code: 0, ReportID: 1, FileIDs: []string{fileID, fileID}}.Bytes(),
		DoneResponse{Code: 5001, Description: "Report does not exist"}.Bytes(),
	}
	for _, d := range docs {
		root := eReportResponse
		if strings.Contains(string(d), "<reportDoneResponse>") {
			root = eReportDoneResponse
		}
		if _, err := validate(d, root); err != nil {
			t.Errorf("%s\n%v", d, err)
		}
	}
	for i, ok := range MustXmllintValidate(t, docs) {
		if !ok {
			t.Errorf("libxml2 rejects %s", docs[i])
		}
	}
}

// xmlNode is any element with its children in document order.
type xmlNode struct {
	XMLName xml.Name
	Text    string    `xml:",chardata"`
	Nodes   []xmlNode `xml:",any"`
}

// strictDoneResponse reads a reportDoneResponse as a client with a strict,
// in-order model of the NCMEC sequence does (the Python client's
// pydantic-xml models, reference §2.4): each child of the sequence must be
// the next element, so an unknown element in its place is an error, and
// elements after the sequence are ignored.
func strictDoneResponse(b []byte) (code int, reportID int64, files []string, err error) {
	var root xmlNode
	if err := xml.Unmarshal(b, &root); err != nil {
		return 0, 0, nil, err
	}
	if root.XMLName.Local != "reportDoneResponse" {
		return 0, 0, nil, fmt.Errorf("root <%s>", root.XMLName.Local)
	}
	for i, want := range []string{"responseCode", "reportId", "files"} {
		if i >= len(root.Nodes) || root.Nodes[i].XMLName.Local != want {
			return 0, 0, nil, fmt.Errorf("child %d is not <%s>", i+1, want)
		}
	}
	if code, err = strconv.Atoi(root.Nodes[0].Text); err != nil {
		return 0, 0, nil, fmt.Errorf("responseCode: %w", err)
	}
	if reportID, err = strconv.ParseInt(root.Nodes[1].Text, 10, 64); err != nil {
		return 0, 0, nil, fmt.Errorf("reportId: %w", err)
	}
	for _, n := range root.Nodes[2].Nodes {
		if n.XMLName.Local != "fileId" {
			return 0, 0, nil, fmt.Errorf("files holds <%s>", n.XMLName.Local)
		}
		files = append(files, n.Text)
	}
	return code, reportID, files, nil
}

// TestDoneResponseStrictOrder reads every refusal of /finish as a strict
// in-order client would, and checks that such a client would have failed
// on the shape Guardian sent before (description before reportId).
func TestDoneResponseStrictOrder(t *testing.T) {
	old := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>5102</responseCode><responseDescription>Report already finished</responseDescription><reportId>1000042</reportId><files/></reportDoneResponse>`
	if _, _, _, err := strictDoneResponse([]byte(old)); err == nil {
		t.Fatal("the strict reader accepts the description before reportId; it proves nothing")
	}
	for code, desc := range descriptions {
		b := DoneResponse{Code: code, Description: desc, ReportID: 1000042}.Bytes()
		gotCode, gotID, files, err := strictDoneResponse(b)
		if err != nil || gotCode != code || gotID != 1000042 || len(files) != 0 {
			t.Errorf("code %d: read %d, %d, %v, %v from\n%s", code, gotCode, gotID, files, err, b)
		}
	}
	b := DoneResponse{ReportID: 7, FileIDs: []string{"c0ffee00d15ea5e0ab12cd34ef56a789"}}.Bytes()
	if _, _, files, err := strictDoneResponse(b); err != nil || len(files) != 1 {
		t.Errorf("success: %v, %v", files, err)
	}
}
