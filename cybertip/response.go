package cybertip

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
)

// Response codes of the CyberTipline API (reference §2.3) that Guardian
// answers with.
const (
	CodeSuccess          = 0
	CodeServerError      = 1000
	CodeResourceNotFound = 1210
	CodeAuthRequired     = 2000
	CodeInvalidRequest   = 4000
	CodeValidationFailed = 4100
	CodeMalformedXML     = 4110
	CodeMalformedFile    = 4200
	CodeReportNotFound   = 5001
	CodeFileNotFound     = 5002
	CodeReportRetracted  = 5101
	CodeReportFinished   = 5102
)

// xmlDeclarationStandalone is the declaration the NCMEC server sends.
const xmlDeclarationStandalone = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`

// descriptions are the documented texts of the codes.
var descriptions = map[int]string{
	CodeSuccess:          "Success",
	CodeServerError:      "Server error",
	CodeResourceNotFound: "Resource not found",
	CodeAuthRequired:     "Authentication required",
	CodeInvalidRequest:   "Invalid request",
	CodeValidationFailed: "Validation failed",
	CodeMalformedXML:     "Malformed XML submittal",
	CodeMalformedFile:    "Malformed file submittal",
	CodeReportNotFound:   "Report does not exist",
	CodeFileNotFound:     "File does not exist",
	CodeReportRetracted:  "Report already retracted",
	CodeReportFinished:   "Report already finished",
}

// ResponseCode maps an error to a response code and description. A nil
// error is 0 "Success". Messages of *guardian.Error values are included
// where the code's text alone would not tell the client what to fix; an
// internal error never shows more than "Server error".
func ResponseCode(err error) (code int, description string) {
	msg := clean(guardian.ErrorMessage(err), maxMessage)
	with := func(code int, sep string) (int, string) {
		if msg == "" {
			return code, descriptions[code]
		}
		return code, descriptions[code] + sep + msg
	}
	switch guardian.ErrorCode(err) {
	case "":
		return CodeSuccess, descriptions[CodeSuccess]
	case guardian.EUNAUTHORIZED:
		return CodeAuthRequired, descriptions[CodeAuthRequired]
	case guardian.EUNAVAILABLE:
		return with(CodeServerError, ": ")
	case guardian.EINVALID:
		return with(CodeInvalidRequest, ": ")
	case guardian.EVALIDATION, guardian.ECONFLICT:
		return with(CodeValidationFailed, ": ")
	case guardian.EMALFORMED:
		// The separator of the recorded NCMEC messages.
		return with(CodeMalformedXML, " - ")
	case guardian.EMALFORMEDFILE:
		return with(CodeMalformedFile, ": ")
	case guardian.EREPORTNOTFOUND:
		return with(CodeReportNotFound, ": ")
	case guardian.EFILENOTFOUND:
		return with(CodeFileNotFound, ": ")
	case guardian.ERETRACTED:
		return CodeReportRetracted, descriptions[CodeReportRetracted]
	case guardian.EFINISHED:
		return CodeReportFinished, descriptions[CodeReportFinished]
	case guardian.ENOTFOUND:
		return with(CodeResourceNotFound, ": ")
	}
	return CodeServerError, descriptions[CodeServerError]
}

// Response is a reportResponse document, the answer to every operation but
// finish. ReportID, FileID and Hash are left out when zero.
type Response struct {
	Code        int
	Description string
	ReportID    int64
	FileID      string
	Hash        string
}

// Bytes renders the response as the NCMEC server does: an XML declaration
// with standalone="yes", then the elements without whitespace, in schema
// order.
func (r Response) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(xmlDeclarationStandalone)
	b.WriteString("<reportResponse><responseCode>")
	b.WriteString(strconv.Itoa(r.Code))
	b.WriteString("</responseCode><responseDescription>")
	escape(&b, safeDescription(r.Code, r.Description))
	b.WriteString("</responseDescription>")
	if r.ReportID != 0 {
		b.WriteString("<reportId>")
		b.WriteString(strconv.FormatInt(r.ReportID, 10))
		b.WriteString("</reportId>")
	}
	if r.FileID != "" {
		b.WriteString("<fileId>")
		escape(&b, r.FileID)
		b.WriteString("</fileId>")
	}
	if r.Hash != "" {
		b.WriteString("<hash>")
		escape(&b, r.Hash)
		b.WriteString("</hash>")
	}
	b.WriteString("</reportResponse>")
	return b.Bytes()
}

// DoneResponse is a reportDoneResponse document, the answer to finish,
// whatever its outcome: clients reject any other root there.
type DoneResponse struct {
	Code        int
	Description string // sent only with a non-zero Code
	ReportID    int64  // sent always; 0 when the request named none
	FileIDs     []string
}

// Bytes renders the response. A failure carries responseDescription last,
// after files: it is outside the NCMEC XSD (inside Guardian's), and a client
// that reads the children strictly in order (the Python client does) must
// find reportId and files where the XSD puts them. Clients that search for
// the description anywhere still find it there (reference §2.4).
func (r DoneResponse) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(xmlDeclarationStandalone)
	b.WriteString("<reportDoneResponse><responseCode>")
	b.WriteString(strconv.Itoa(r.Code))
	b.WriteString("</responseCode><reportId>")
	b.WriteString(strconv.FormatInt(r.ReportID, 10))
	b.WriteString("</reportId>")
	if len(r.FileIDs) == 0 {
		b.WriteString("<files/>")
	} else {
		b.WriteString("<files>")
		for _, id := range r.FileIDs {
			b.WriteString("<fileId>")
			escape(&b, id)
			b.WriteString("</fileId>")
		}
		b.WriteString("</files>")
	}
	if r.Code != 0 {
		b.WriteString("<responseDescription>")
		escape(&b, safeDescription(r.Code, r.Description))
		b.WriteString("</responseDescription>")
	}
	b.WriteString("</reportDoneResponse>")
	return b.Bytes()
}

// escape writes s as character data, escaping only what must be (the
// recorded NCMEC responses carry quotes as they are). A carriage return is
// written as a reference so that parsers keep it, and characters that XML
// cannot carry at all become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000:
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
}

// safeDescription keeps a description usable by every client: never empty
// (one client requires the element to have text) and never numeric (another
// turns numeric text into a number and then rejects it).
func safeDescription(code int, desc string) string {
	if strings.TrimSpace(desc) != "" && !looksNumeric(desc) {
		return desc
	}
	std, ok := descriptions[code]
	if !ok {
		std = "Error " + strconv.Itoa(code)
	}
	if strings.TrimSpace(desc) == "" {
		return std
	}
	return std + ": " + desc
}

// looksNumeric reports whether an XML parser that guesses types, as
// fast-xml-parser does, could read s as a number: decimal, hexadecimal or
// exponent forms, with sign, leading zeros or surrounding space.
func looksNumeric(s string) bool {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return true
	}
	return false
}
