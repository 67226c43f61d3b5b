package guardian

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Error codes. Adapters translate them into their own format (a CyberTipline
// response code, an HTTP status); see cybertip.ResponseCode.
const (
	EINTERNAL       = "internal"        // anything unexpected; never shown in detail
	EINVALID        = "invalid"         // malformed request (missing or bad form field)
	EUNAUTHORIZED   = "unauthorized"    // missing or wrong credentials
	EFORBIDDEN      = "forbidden"       // authenticated, but the role does not allow it
	EMALFORMED      = "malformed"       // XML not well-formed or not valid against the schema
	EVALIDATION     = "validation"      // valid against the schema but breaks a documented rule
	EMALFORMEDFILE  = "malformed_file"  // unusable file part (missing, empty, too large)
	EREPORTNOTFOUND = "report_notfound" // no such report for this reporter
	EFILENOTFOUND   = "file_notfound"   // no such file in the report
	EFINISHED       = "finished"        // report already finished
	ERETRACTED      = "retracted"       // report already retracted
	ENOTFOUND       = "notfound"        // any other missing object (reporter, user, ...)
	ECONFLICT       = "conflict"        // state conflict not covered above (duplicate name, ...)
	EUNAVAILABLE    = "unavailable"     // overloaded or shutting down; try again later
)

// Error is an error whose code and message are safe to show to the client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("guardian error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an [*Error] with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first [*Error] in err's chain,
// [EINTERNAL] for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first [*Error] in err's chain, or a
// generic message for internal errors so that no detail leaks to clients.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Clip shortens text that came from outside to at most n bytes, cut at a
// rune boundary and marked with "…", so that an error message quoting it
// stays short whatever was sent.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // do not split a UTF-8 sequence
	}
	return s[:n] + "…"
}
