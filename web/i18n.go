package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Languages are the pages' languages, English first: the catalogues
// locales/<tag>/*.yaml (one file per area of the pages) hold every key in
// each of them.
var Languages = []language.Tag{language.English, language.Spanish, language.Portuguese, language.French,
	language.German, language.Italian, language.Dutch}

// languageNames are the languages as their speakers write them, for the
// language switch.
var languageNames = map[string]string{
	"en": "English", "es": "Español", "pt": "Português", "fr": "Français", "de": "Deutsch", "it": "Italiano", "nl": "Nederlands",
}

// catalog is the message catalogues and the matcher that picks one.
type catalog struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	keys    map[string][]string // language → its keys, for the tests
}

func loadCatalog() (*catalog, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	c := &catalog{bundle: b, matcher: language.NewMatcher(Languages), keys: make(map[string][]string)}
	for _, tag := range Languages {
		names, err := fs.Glob(files, path.Join("locales", tag.String(), "*.yaml"))
		if err != nil || len(names) == 0 {
			return nil, fmt.Errorf("no catalogue of %s", tag)
		}
		for _, name := range names {
			data, err := fs.ReadFile(files, name)
			if err != nil {
				return nil, fmt.Errorf("catalogue of %s: %w", tag, err)
			}
			// go-i18n takes the language from the file name; these are
			// named by area, so the language is given by the directory.
			mf, err := b.ParseMessageFileBytes(data, strings.TrimSuffix(path.Base(name), ".yaml")+"."+tag.String()+".yaml")
			if err != nil {
				return nil, fmt.Errorf("catalogue %s: %w", name, err)
			}
			for _, m := range mf.Messages {
				c.keys[tag.String()] = append(c.keys[tag.String()], m.ID)
			}
		}
	}
	return c, nil
}

// maxAcceptLanguage bounds the header read: a stranger sends it.
const maxAcceptLanguage = 256

// pick returns the language of a request: the person's setting, else the
// lang cookie (the page's language switch), else Accept-Language.
func (c *catalog) pick(r *http.Request, userLang string) language.Tag {
	var prefs []language.Tag
	if userLang != "" {
		if t, err := language.Parse(userLang); err == nil {
			prefs = append(prefs, t)
		}
	}
	if ck, err := r.Cookie(langCookie); err == nil && len(ck.Value) <= 16 {
		if t, err := language.Parse(ck.Value); err == nil {
			prefs = append(prefs, t)
		}
	}
	if len(prefs) == 0 {
		al := r.Header.Get("Accept-Language")
		if len(al) > maxAcceptLanguage {
			al = al[:maxAcceptLanguage]
		}
		if tags, _, err := language.ParseAcceptLanguage(al); err == nil {
			prefs = append(prefs, tags...)
		}
	}
	_, i, _ := c.matcher.Match(prefs...)
	return Languages[i]
}

// langCookie keeps the language chosen on a page before sign-in.
const langCookie = "guardian-lang"

// localizer speaks one language, falling back to English for a key a
// catalogue lacks (which a test prevents).
type localizer struct {
	tag language.Tag
	l   *i18n.Localizer
}

func (c *catalog) localizer(tag language.Tag) *localizer {
	return &localizer{tag: tag, l: i18n.NewLocalizer(c.bundle, tag.String(), language.English.String())}
}

// T returns the message key with the template data given as name, value
// pairs; a value named Count chooses the plural form.
func (l *localizer) T(key string, pairs ...any) string {
	cfg := &i18n.LocalizeConfig{MessageID: key}
	if len(pairs) > 0 {
		data := make(map[string]any, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			name, _ := pairs[i].(string)
			data[name] = pairs[i+1]
			if name == "Count" {
				cfg.PluralCount = pairs[i+1]
			}
		}
		cfg.TemplateData = data
	}
	s, err := l.l.Localize(cfg)
	if err != nil {
		return key // visible, and the catalogue test names it
	}
	return s
}

// zone returns the time zone of a request: the person's setting, else
// the tz cookie the pages' script sets from the browser, else UTC.
func zone(r *http.Request, userZone string) *time.Location {
	for _, name := range []string{userZone, cookieValue(r, tzCookie)} {
		if name == "" || len(name) > 64 {
			continue
		}
		if loc, ok := zones.Load(name); ok {
			return loc.(*time.Location)
		}
		// Only zones that exist are kept: their number is bounded
		// whatever strangers send.
		if loc, err := loadZone(name); err == nil {
			zones.Store(name, loc)
			return loc
		}
	}
	return time.UTC
}

var zones sync.Map // IANA name → *time.Location

// tzCookie holds the browser's IANA time zone, set by static/guardian.js.
const tzCookie = "guardian-tz"

func cookieValue(r *http.Request, name string) string {
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

// languageOptions are the language switch's choices.
func languageOptions(current language.Tag) []languageOption {
	var out []languageOption
	for _, t := range Languages {
		out = append(out, languageOption{Tag: t.String(), Name: languageNames[t.String()], Current: t == current})
	}
	return out
}

type languageOption struct {
	Tag, Name string
	Current   bool
}

// supported reports whether tag is one of the pages' languages.
func supported(tag string) bool {
	return slices.ContainsFunc(Languages, func(t language.Tag) bool { return t.String() == tag })
}

// msg marks a message key chosen in Go code rather than in a template, so
// that the catalogue test finds it: msg of a key is the key itself.
func msg(key string) string { return key }
