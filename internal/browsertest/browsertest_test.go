package browsertest_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/guardian-network/guardian/internal/browsertest"
)

// strictCSP is the policy of Guardian's pages: scripts and styles only from
// files of the same origin, no inline code, no eval.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'"

// serve starts a loopback server for testdata/ with the strict CSP on every
// response, and returns its base URL on the name "localhost" (WebAuthn
// treats http://localhost as a secure context; 127.0.0.1 is no valid RP id).
func serve(t *testing.T) string {
	t.Helper()
	files := http.FileServer(http.Dir("testdata"))
	square := greySquare(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		switch r.URL.Path {
		case "/square.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(square)
		case "/favicon.ico":
			// Chromium asks for it on every page; a 404 would be a
			// console error that no test is about.
			w.WriteHeader(http.StatusNoContent)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return "http://localhost:" + port
}

// greySquare is a synthetic 32×32 PNG for the pages' <img>.
func greySquare(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// timeout bounds one step of a test, so a hung page fails the test quickly.
func timeout(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

func TestAxeFindsSeriousViolations(t *testing.T) {
	base := serve(t)
	tab, b := browsertest.New(t)
	ctx := timeout(t, tab)

	navigate(t, ctx, base+"/violations.html")
	vs, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	serious := browsertest.SeriousViolations(vs)
	byID := map[string]browsertest.Violation{}
	for _, v := range serious {
		byID[v.ID] = v
	}
	for id, selector := range map[string]string{"image-alt": "#no-alt", "label": "#unlabelled"} {
		v, ok := byID[id]
		if !ok {
			t.Errorf("axe found no serious %q violation; serious: %v", id, serious)
			continue
		}
		if len(v.Nodes) != 1 || len(v.Nodes[0].Target) != 1 || v.Nodes[0].Target[0] != selector {
			t.Errorf("%s: nodes %+v, want one with target %s", id, v.Nodes, selector)
			continue
		}
		if !strings.HasPrefix(v.Nodes[0].HTML, "<") || v.Help == "" || v.HelpURL == "" {
			t.Errorf("%s: incomplete violation %+v", id, v)
		}
	}
	// Injecting axe through the protocol must not trip the page's CSP.
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func TestAxeCleanPage(t *testing.T) {
	base := serve(t)
	tab, b := browsertest.New(t)
	ctx := timeout(t, tab)

	navigate(t, ctx, base+"/clean.html")
	vs, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("axe found violations on the clean page:\n%v", vs)
	}
	// A second run on the same document reuses the injected axe.
	if _, err := browsertest.Axe(ctx); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors on the clean page: %q", errs)
	}
}

func TestConsoleErrorsReportCSPViolation(t *testing.T) {
	base := serve(t)
	tab, b := browsertest.New(t)
	ctx := timeout(t, tab)

	navigate(t, ctx, base+"/inline.html")
	csp := b.CSPViolations()
	// Chromium 156 says "Executing inline script violates the following
	// Content Security Policy directive"; older ones "Refused to execute
	// inline script".
	if len(csp) != 1 || !strings.Contains(csp[0], "inline script") || !strings.Contains(csp[0], "script-src 'self'") {
		t.Fatalf("CSP violations %q, want one refusing the inline script (all console errors: %q)", csp, b.ConsoleErrors())
	}
	// The policy held: the script did not run.
	got, err := browsertest.Text(ctx, "#heading")
	if err != nil {
		t.Fatal(err)
	}
	if got != "Inline script" {
		t.Errorf("heading %q: the inline script ran", got)
	}

	b.ResetConsoleErrors()
	navigate(t, ctx, base+"/clean.html")
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors after reset and a clean page: %q", errs)
	}
	// A script's own console.error counts too.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`console.error('synthetic failure', 42)`)); err != nil {
		t.Fatal(err)
	}
	if errs := b.ConsoleErrors(); len(errs) != 1 || !strings.Contains(errs[0], "synthetic failure 42") {
		t.Errorf("console errors %q, want the console.error call", errs)
	}
}

func TestVirtualAuthenticator(t *testing.T) {
	base := serve(t)
	tab, b := browsertest.New(t)
	ctx := timeout(t, tab)

	id, err := browsertest.VirtualAuthenticator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("empty authenticator id")
	}
	navigate(t, ctx, base+"/webauthn.html")
	if err := browsertest.WaitText(ctx, "#result", "ok"); err != nil {
		t.Fatal(err)
	}
	got, err := browsertest.Text(ctx, "#result")
	if err != nil {
		t.Fatal(err)
	}
	if want := "ok created=public-key same=true up=true uv=true"; got != want {
		t.Errorf("page reported %q, want %q", got, want)
	}
	// The page really registered a discoverable credential for localhost.
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: webauthn.AuthenticatorID(id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || creds.Credentials[0].RpID != "localhost" || !creds.Credentials[0].IsResidentCredential {
		t.Errorf("authenticator holds %+v, want one resident credential for localhost", creds.Credentials)
	}
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func TestScreenshotFullPage(t *testing.T) {
	base := serve(t)
	tab, _ := browsertest.New(t)
	ctx := timeout(t, tab)

	navigate(t, ctx, base+"/tall.html")
	path := filepath.Join(t.TempDir(), "shots", "nested", "tall.png")
	if err := browsertest.Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is no PNG: %v", err)
	}
	// The page is 2400 px of content plus its heading: a full-page shot is
	// taller than the 900 px window.
	bounds := img.Bounds()
	if bounds.Dx() != browsertest.WindowWidth || bounds.Dy() < 2400 {
		t.Errorf("screenshot is %v, want %d wide and at least 2400 high", bounds.Size(), browsertest.WindowWidth)
	}
	// Not a blank image: the white body and the gradient differ.
	if c := color.GrayModel.Convert(img.At(bounds.Dx()/2, 1200)).(color.Gray); c.Y == 0xff {
		t.Errorf("pixel in the tall block is white; the page did not render")
	}
}

func TestWaitTextTextLocation(t *testing.T) {
	base := serve(t)
	tab, b := browsertest.New(t)
	ctx := timeout(t, tab)

	navigate(t, ctx, base+"/wait.html")
	// White space in the page and in the expectation need not match.
	if err := browsertest.WaitText(ctx, "#status", "Report saved (synthetic)"); err != nil {
		t.Fatal(err)
	}
	loc, err := browsertest.Location(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loc != base+"/wait.html" {
		t.Errorf("location %q, want %q", loc, base+"/wait.html")
	}
	if _, err := browsertest.Text(ctx, "#missing"); !errors.Is(err, browsertest.ErrNoElement) {
		t.Errorf("Text of a missing element: %v, want ErrNoElement", err)
	}

	// A wait that cannot succeed ends with the context, naming what it saw.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = browsertest.WaitText(short, "#status", "never shown")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Report") {
		t.Errorf("WaitText for absent text: %v, want a deadline error showing the text", err)
	}
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors: %q", errs)
	}
}
