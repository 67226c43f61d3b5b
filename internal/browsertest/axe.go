package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's browser build, vendored from the npm package
// axe-core (MPL-2.0; see axe-core-LICENSE.txt and the NOTICE file). Update
// it with `npm pack axe-core@4` and copy package/axe.min.js here.
//
//go:embed axe.min.js
var axeSource string

// Violation is one axe-core rule that the page breaks.
type Violation struct {
	ID      string          // rule id, such as "image-alt"
	Impact  string          // "minor", "moderate", "serious" or "critical"
	Help    string          // one line on what the rule asks
	HelpURL string          // Deque's page on the rule
	Nodes   []ViolationNode // the elements that break it
}

// ViolationNode is one element that breaks a rule.
type ViolationNode struct {
	// Target holds CSS selectors for the element; more than one when it is
	// inside an iframe or a shadow root (outermost first).
	Target []string
	// HTML is the element's opening markup, clipped to maxHTML bytes.
	HTML string
	// Summary says how to fix it.
	Summary string
}

// String formats the violation on one line per element, for test failures.
func (v Violation) String() string {
	s := fmt.Sprintf("%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		s += fmt.Sprintf("\n    %v %s", n.Target, n.HTML)
	}
	return s
}

// maxHTML bounds the markup kept per element: enough to recognise it in a
// test failure, not a page of it.
const maxHTML = 200

// axeRun runs axe on the whole document and returns only what Violation
// needs, as a JSON string: results hold DOM-free data, but stringifying them
// here keeps the protocol message small and the decoding explicit.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
  r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({
      target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : String(t)),
      html: n.html || '',
      summary: n.failureSummary || '',
    })),
  }))))`

// Axe runs the axe-core accessibility checker on the tab's current page and
// returns the rules it breaks. It injects axe-core through the DevTools
// protocol (Runtime.evaluate), which the page's Content-Security-Policy does
// not govern, so it works on pages that allow no inline script or eval, and
// it leaves no CSP violation behind.
//
// Run it after the page has settled (after chromedp.Navigate, or WaitText on
// what the page shows last): axe checks the DOM as it is.
func Axe(ctx context.Context) ([]Violation, error) {
	// Inject once per document; a navigation drops it.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return nil, fmt.Errorf("axe: check page: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("axe: inject axe-core: %w", err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: run: %w", err)
	}
	var raw []struct {
		ID      string `json:"id"`
		Impact  string `json:"impact"`
		Help    string `json:"help"`
		HelpURL string `json:"helpUrl"`
		Nodes   []struct {
			Target  []string `json:"target"`
			HTML    string   `json:"html"`
			Summary string   `json:"summary"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("axe: decode results: %w", err)
	}
	vs := make([]Violation, 0, len(raw))
	for _, r := range raw {
		v := Violation{ID: r.ID, Impact: r.Impact, Help: r.Help, HelpURL: r.HelpURL}
		for _, n := range r.Nodes {
			v.Nodes = append(v.Nodes, ViolationNode{Target: n.Target, HTML: clip(n.HTML, maxHTML), Summary: n.Summary})
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// SeriousViolations keeps the violations of impact "serious" or "critical":
// the ones that stop a person using a screen reader or a keyboard, which
// Guardian's pages must not have.
func SeriousViolations(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Step back to the start of a character, so the cut never splits one.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
