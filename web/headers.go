package web

import "net/http"

// contentSecurityPolicy allows scripts, styles, images and requests from
// the hub only: nothing inline, no eval, no plugins, no framing. Images
// of a report are served by the hub as PNGs (blurred until unblurred) and
// may be data: URIs for the enrolment QR code.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every answer of the pages carries.
func setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
	if r.TLS != nil {
		hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}
