package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Screenshot saves the whole page, not only the visible part, as a PNG at
// path, creating its directory.
func Screenshot(ctx context.Context, path string) error {
	metrics, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("screenshot: layout metrics: %w", err)
	}
	// The content may be smaller than the window; the window is what a
	// person sees, so never capture less.
	width, height := float64(WindowWidth), float64(WindowHeight)
	if c := metrics.CSSContentSize; c != nil {
		width, height = max(width, c.Width), max(height, c.Height)
	}
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
		Clip:                  &page.Viewport{Width: width, Height: height, Scale: 1},
	})
	if err != nil {
		return fmt.Errorf("screenshot: capture: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// defaultWait bounds WaitText when the context has no deadline: long enough
// for a page on a busy 2-core machine, short enough that a broken page fails
// the test in seconds rather than at go test's timeout.
const defaultWait = 15 * time.Second

// pollInterval is how often WaitText looks at the page.
const pollInterval = 50 * time.Millisecond

// WaitText waits until the first element matching the CSS selector shows
// text containing text (its innerText, what a person sees), and returns an
// error naming what the element showed when the context ends, or after 15
// seconds when the context has no deadline.
//
// It polls from Go, one Runtime.evaluate at a time, so it keeps waiting
// across a navigation (a form that posts and redirects) and needs nothing
// that the page's CSP forbids.
func WaitText(ctx context.Context, selector, text string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultWait)
		defer cancel()
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last string
	var lastErr error
	for {
		got, err := Text(ctx, selector)
		if err == nil && containsText(got, text) {
			return nil
		}
		// A look cut short by the deadline says nothing about the page;
		// keep what the previous one saw.
		if ctx.Err() == nil {
			last, lastErr = got, err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("wait for %q in %s: %w (last: %v)", text, selector, ctx.Err(), lastErr)
			}
			return fmt.Errorf("wait for %q in %s: %w (it showed %q)", text, selector, ctx.Err(), clip(last, 500))
		case <-tick.C:
		}
	}
}

// ErrNoElement is returned by Text when no element matches the selector.
var ErrNoElement = errors.New("no element matches")

// Text returns the innerText (the rendered text, as a person reads it) of
// the first element matching the CSS selector. It does not wait: use
// WaitText for an element that appears later.
func Text(ctx context.Context, selector string) (string, error) {
	sel, err := json.Marshal(selector)
	if err != nil {
		return "", fmt.Errorf("text of %s: %w", selector, err)
	}
	// null when nothing matches, so "no element" and "empty text" differ.
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return el ? [el.innerText] : null; })()`, sel)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
	if err != nil {
		return "", fmt.Errorf("text of %s: %w", selector, err)
	}
	if got == nil {
		return "", fmt.Errorf("text of %s: %w", selector, ErrNoElement)
	}
	return got[0], nil
}

// Location returns the URL of the tab's current page.
func Location(ctx context.Context) (string, error) {
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "", fmt.Errorf("location: %w", err)
	}
	return loc, nil
}

// containsText reports whether got contains want, with runs of white space
// counted as one space: innerText keeps line breaks between blocks that a
// test's expected text should not have to spell out.
func containsText(got, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " "))
}
