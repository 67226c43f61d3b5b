package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// parseTemplates parses each page of templates/pages with the layout and
// the partials, so that every page can be rendered whole or, for htmx,
// one block of it.
func parseTemplates() (map[string]*template.Template, error) {
	shared, err := fs.Glob(files, "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		t := template.New(name).Funcs(funcs)
		list := append([]string{"templates/layout.html"}, shared...)
		list = append(list, p)
		if t, err = t.ParseFS(files, list...); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// funcs are the templates' helpers that need no request; those that do
// (T, Time, Left) are methods of the page.
var funcs = template.FuncMap{
	"size":  humanSize,
	"join":  strings.Join,
	"deref": func(b *bool) bool { return b != nil && *b },
	// safeURL passes a data: URI the hub made itself (a QR code, a
	// blurred image) as a URL; never one from outside.
	"safeURL": func(s string) template.URL {
		if strings.HasPrefix(s, "data:image/png;base64,") {
			return template.URL(s)
		}
		return template.URL("#")
	},
}

// page is what every template gets: the request's person, language, time
// zone and CSRF token, and the page's own Data.
type page struct {
	*localizer
	Title     string
	Path      string
	User      *guardian.User
	Org       string
	CSRF      string
	FormToken string // the sign-in forms' token, before any session
	Demo      bool
	Lang      string
	Languages []languageOption
	Zone      *time.Location
	Now       time.Time
	Nav       []navItem
	Static    map[string]string // file name → versioned URL
	Notice    string            // a message key, shown once after a redirect
	// Attribution and AttributionURL credit the IP geolocation data.
	Attribution, AttributionURL string
	Data                        any
}

type navItem struct {
	Path, Key string
	Current   bool
}

// newPage builds the page of a request.
func (h *Handler) newPage(r *http.Request, c *api.Call, title string, data any) *page {
	var userLang, userZone string
	u := c.User()
	if u != nil {
		userLang, userZone = u.Language, u.TimeZone
	}
	tag := h.catalog.pick(r, userLang)
	p := &page{
		localizer: h.catalog.localizer(tag), Title: title, Path: r.URL.Path, User: u, CSRF: c.CSRFToken(), Demo: h.Demo,
		Lang: tag.String(), Languages: languageOptions(tag), Zone: zone(r, userZone), Now: c.Now(), Static: h.static.urls,
		Data: data,
	}
	p.Attribution, p.AttributionURL = splitAttribution(h.GeoAttribution)
	if u != nil {
		p.Org = u.Organisation.String()
		p.Nav = navFor(c, h.Mailbox != nil)
		for i := range p.Nav {
			p.Nav[i].Current = p.Nav[i].Path == r.URL.Path
		}
	}
	if n := r.URL.Query().Get("notice"); n != "" && noticeKeys[n] != "" {
		p.Notice = noticeKeys[n]
	}
	return p
}

// anonPage is newPage for the pages before a session: their forms carry
// the form token (signin.go).
func (h *Handler) anonPage(w http.ResponseWriter, r *http.Request, c *api.Call, title string, data any) *page {
	p := h.newPage(r, c, title, data)
	if p.CSRF == "" {
		p.FormToken = h.formToken(w, r)
	}
	return p
}

// noticeKeys are the notices a redirect may ask a page to show: a fixed
// set, so that a link cannot make a page say anything else.
var noticeKeys = map[string]string{}

// Time formats t in the person's time zone, unambiguously in every
// language: 2026-12-06 14:05 (-03).
func (p *page) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	lt := t.In(p.Zone)
	return lt.Format("2006-01-02 15:04") + " (" + lt.Format("MST") + ")"
}

// TimePtr is Time of an optional time.
func (p *page) TimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Time(*t)
}

// ISO is t as RFC 3339, for <time datetime>.
func (p *page) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Left says how long until t, or how long ago it passed, in words.
func (p *page) Left(t time.Time) string {
	d := t.Sub(p.Now)
	key := msg("time.left")
	if d < 0 {
		d, key = -d, msg("time.overdue")
	}
	return p.T(key, "Duration", p.Duration(d))
}

// Duration says d in days, hours and minutes.
func (p *page) Duration(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return p.T(msg("time.days_hours"), "Days", days, "Hours", hours)
	case hours > 0:
		return p.T(msg("time.hours_minutes"), "Hours", hours, "Minutes", mins)
	}
	return p.T(msg("time.minutes"), "Minutes", mins)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// render writes a page whole, or only its block "main" for an htmx
// request that asks for a part (HX-Target main).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) error {
	t := h.templates[name]
	if t == nil {
		return fmt.Errorf("web: no template %q", name)
	}
	block := "layout"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "main" {
		block = "main"
	}
	return h.execute(w, status, t, block, p)
}

// renderBlock writes one named block of a page (an htmx partial).
func (h *Handler) renderBlock(w http.ResponseWriter, status int, name, block string, p *page) error {
	t := h.templates[name]
	if t == nil {
		return fmt.Errorf("web: no template %q", name)
	}
	return h.execute(w, status, t, block, p)
}

// execute renders into a buffer first, so that a template error becomes
// an error page rather than half a page.
func (h *Handler) execute(w http.ResponseWriter, status int, t *template.Template, block string, p *page) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		return fmt.Errorf("render %s/%s: %w", t.Name(), block, err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Content-Language", p.Lang)
	hd.Add("Vary", "HX-Request, Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// redirect answers a form post: to the page given, as a 303 (htmx follows
// it through HX-Location-less redirects natively).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// splitAttribution splits "text (https://…)" into the text and its link.
func splitAttribution(s string) (text, link string) {
	if i := strings.LastIndex(s, " (https://"); i > 0 && strings.HasSuffix(s, ")") {
		return s[:i], s[i+2 : len(s)-1]
	}
	return s, ""
}
