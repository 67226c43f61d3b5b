package cybertip

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// The §7.4 examples of the reference, byte for byte.
const (
	refStatus    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Remote User : esp-test-user, Remote Ip : 203.0.113.9</responseDescription></reportResponse>`
	refSubmit    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId></reportResponse>`
	refUpload    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId><hash>4608a4ee9a371b7e28c9e48a3385e52f</hash></reportResponse>`
	refFileinfo  = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1000042</reportId><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId></reportResponse>`
	refFinish    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>1000042</reportId><files><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId></files></reportDoneResponse>`
	refMalformed = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4110</responseCode><responseDescription>Malformed XML submittal - cvc-complex-type.2.4.b: The content of element 'incidentSummary' is not complete.</responseDescription></reportResponse>`
	refRefused   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>5102</responseCode><responseDescription>Report already finished</responseDescription><reportId>1000042</reportId><files/></reportDoneResponse>`
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
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>4000</responseCode><responseDescription>Invalid request: id is not a number</responseDescription><reportId>0</reportId><files/></reportDoneResponse>`},
		{"escaped", Response{Code: 4110, Description: `Malformed XML submittal - <a> & "b"`, FileID: "<x>"}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4110</responseCode><responseDescription>Malformed XML submittal - &lt;a&gt; &amp; "b"</responseDescription><fileId>&lt;x&gt;</fileId></reportResponse>`},
		{"empty description", Response{Code: 0}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription></reportResponse>`},
		{"numeric description", Response{Code: 4100, Description: "0e12"}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4100</responseCode><responseDescription>Validation failed: 0e12</responseDescription></reportResponse>`},
		{"unknown code, numeric description", DoneResponse{Code: 1234, Description: " 42 ", ReportID: 1}.Bytes(),
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>1234</responseCode><responseDescription>Error 1234:  42 </responseDescription><reportId>1</reportId><files/></reportDoneResponse>`},
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
