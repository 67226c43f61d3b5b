// Package browsertest drives a real headless Chromium for Guardian's
// end-to-end tests of the web workspace. It starts one browser per test with
// a fresh profile, and gives the test a tab (a chromedp context) to drive with
// github.com/chromedp/chromedp and with the helpers here:
//
//   - [Browser.ConsoleErrors] lists the console errors of the tab, among them
//     every Content-Security-Policy violation ("Executing inline script
//     violates the following Content Security Policy directive ..." in
//     Chromium 156, "Refused to ..." in older ones), so a test can assert
//     that a page runs under its strict CSP without breaking it.
//   - [Axe] runs the vendored axe-core accessibility checker on the page, and
//     [SeriousViolations] keeps what must block a release.
//   - [VirtualAuthenticator] adds a WebAuthn authenticator that answers
//     navigator.credentials.create and get without a person.
//   - [Screenshot] saves a full-page PNG, for a person to look at.
//   - [WaitText], [Text] and [Location] read what a person would see.
//
// Guardian's pages forbid inline scripts and eval (script-src 'self'). Every
// helper here talks to the page through the DevTools protocol
// (Runtime.evaluate), which the page's CSP does not govern, so the helpers
// work on the real pages without weakening their policy. Do not use
// chromedp.Poll or chromedp.PollFunction on such pages: they build their
// predicate with new Function inside the page, which that CSP refuses. Use
// [WaitText], or a loop over chromedp.Evaluate.
//
// The browser is /usr/bin/chromium (Debian's package "chromium"), or the
// program named by the environment variable GUARDIAN_CHROMIUM. Without it a
// test that calls [New] is skipped, unless GUARDIAN_TEST_REQUIRE_ALL=1 (as in
// CI), where it fails.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is the browser that New starts when GUARDIAN_CHROMIUM is
// not set: the path of Debian's chromium package.
const DefaultChromium = "/usr/bin/chromium"

// Window size of every browser, in CSS pixels: a common laptop screen, so
// screenshots and layout checks match what most staff see.
const (
	WindowWidth  = 1280
	WindowHeight = 900
)

// startTimeout bounds the start of the browser and the opening of the first
// tab; Chromium starts in about a second on an idle machine.
const startTimeout = 60 * time.Second

// closeTimeout bounds the graceful close at the end of a test, after which
// chromedp kills the process.
const closeTimeout = 10 * time.Second

// Browser is one running Chromium with one tab, owned by one test.
type Browser struct {
	mu     sync.Mutex
	errors []string

	// output keeps the last bytes that Chromium wrote to stdout and
	// stderr, shown when the test fails: it says why a browser crashed.
	output *limitedBuffer
}

// New starts a headless Chromium with an empty profile in t.TempDir and
// returns its tab and the Browser. The browser closes when the test ends.
//
// The tab context has no deadline. To bound one step, derive a context from
// it with context.WithTimeout: the browser outlives that context, and the
// step fails with context.DeadlineExceeded.
func New(t testing.TB) (context.Context, *Browser) {
	t.Helper()
	path := os.Getenv("GUARDIAN_CHROMIUM")
	if path == "" {
		path = DefaultChromium
	}
	if _, err := exec.LookPath(path); err != nil {
		msg := fmt.Sprintf("browsertest: no Chromium at %s (install Debian's package chromium or set GUARDIAN_CHROMIUM): %v", path, err)
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	// TempDir registers its removal before our Cleanup below, so the
	// browser has stopped writing to the profile when the directory goes.
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatalf("browsertest: create profile directory: %v", err)
	}

	b := &Browser{output: &limitedBuffer{max: 64 << 10}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// Tests run as root in containers, where the sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		// Nothing but the loopback server under test: no background
		// fetches, component updates or sync, and no QUIC.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(WindowWidth, WindowHeight),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))

	// Start the browser and open the tab now, so that a broken browser
	// fails here with its output rather than in the test's first step.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no tab after %v", startTimeout)
	}
	if err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("browsertest: start %s: %v\nbrowser output:\n%s", path, err, b.output.Useful())
	}

	t.Cleanup(func() {
		// Close the browser gracefully, so that it flushes nothing into a
		// directory that is about to be removed; chromedp kills it after the
		// timeout.
		cctx, cancel := context.WithTimeout(ctx, closeTimeout)
		defer cancel()
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browsertest: close browser: %v", err)
		}
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("browsertest: browser output:\n%s", b.output.Useful())
		}
	})
	return ctx, b
}

// ConsoleErrors returns, in order, the errors that the tab's pages raised so
// far: console.error and console.assert calls, uncaught exceptions, rejected
// promises nobody handled, the browser's own error entries (a failed load, a
// Content-Security-Policy violation) and any message that reports a refused
// CSP action, even at a lower level (the "[Report Only]" ones). Each is one
// line: its source, its text and where it came from.
//
// Chromium reports these while the page loads, before chromedp.Navigate
// returns; an error that a script raises later appears once it happened.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// CSPViolations returns the console errors that report a
// Content-Security-Policy violation.
func (b *Browser) CSPViolations() []string {
	var out []string
	for _, e := range b.ConsoleErrors() {
		if isCSPViolation(e) {
			out = append(out, e)
		}
	}
	return out
}

// ResetConsoleErrors forgets the errors collected so far, so a test can check
// one step of a page on its own.
func (b *Browser) ResetConsoleErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = nil
}

// isCSPViolation reports whether a console text is Chromium's report of an
// action that a Content-Security-Policy refused. The wording changes between
// versions ("Refused to load ...", "... violates the following Content
// Security Policy directive ..."), so it matches the stable parts.
func isCSPViolation(text string) bool {
	return strings.Contains(text, "Refused to ") ||
		strings.Contains(text, "Content Security Policy") ||
		strings.Contains(text, "Content-Security-Policy")
}

// listen runs on chromedp's event loop for every event of the tab, in
// order; it must return fast and send no command.
func (b *Browser) listen(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		text := consoleArgsText(ev.Args)
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert && !isCSPViolation(text) {
			return
		}
		line = fmt.Sprintf("console.%s: %s%s", ev.Type, text, stackPlace(ev.StackTrace))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			// The description is the error and its stack; the first line
			// says what went wrong.
			first, _, _ := strings.Cut(d.Exception.Description, "\n")
			text += " " + first
		}
		line = fmt.Sprintf("exception: %s%s", text, place(d.URL, d.LineNumber))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError && !isCSPViolation(e.Text) {
			return
		}
		line = fmt.Sprintf("%s %s: %s%s", e.Source, e.Level, e.Text, place(e.URL, e.LineNumber))
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, line)
	b.mu.Unlock()
}

// consoleArgsText joins the arguments of a console call as the console
// shows them: strings as they are, other values by their description.
func consoleArgsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
			parts = append(parts, s)
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return place(f.URL, f.LineNumber)
}

// place formats where a message came from; lines are 0-based in the
// protocol and 1-based for people.
func place(url string, line int64) string {
	if url == "" {
		return ""
	}
	return fmt.Sprintf(" (%s:%d)", url, line+1)
}

// limitedBuffer keeps about the last max bytes written to it, so a chatty
// browser cannot grow a test's memory, and a crash's last words survive.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	// Trim only past twice the limit, so copying stays rare.
	if l.buf.Len() > 2*l.max {
		tail := bytes.Clone(l.buf.Bytes()[l.buf.Len()-l.max:])
		l.buf.Reset()
		l.buf.Write(tail)
	}
	return len(p), nil
}

// Useful returns the output without the lines that Chromium writes on every
// start in a container with no D-Bus, which bury the line that matters.
func (l *limitedBuffer) Useful() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out strings.Builder
	for line := range strings.Lines(l.buf.String()) {
		if strings.Contains(line, ":ERROR:dbus/") {
			continue
		}
		out.WriteString(line)
	}
	return out.String()
}
