package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
)

// demoProcess is a running "guardian demo".
type demoProcess struct {
	cmd    *exec.Cmd
	URL    string
	logins map[string]demoLogin // by name, as printed
	stdout strings.Builder
	stderr *lockedBuffer
	done   chan error
}

type demoLogin struct{ password, role, org string }

var (
	demoURLRE   = regexp.MustCompile(`web pages:\s+(http://\S+)/\s`)
	demoLoginRE = regexp.MustCompile(`^\s+(\S+)\s+([a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5})\s+(\S+)\s+(\S+)\s*$`)
)

// startDemo starts "guardian demo" on a free port and reads what it prints
// up to the end of its sign-in details.
func startDemo(t *testing.T, data string, args ...string) *demoProcess {
	t.Helper()
	cmd := exec.Command(guardianBin, append([]string{"demo", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "debug"}, args...)...)
	cmd.Env = cleanEnv()
	d := &demoProcess{cmd: cmd, logins: map[string]demoLogin{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start guardian demo: %v", err)
	}
	printed := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			d.stdout.WriteString(line + "\n")
			if m := demoLoginRE.FindStringSubmatch(line); m != nil {
				d.logins[m[1]] = demoLogin{m[2], m[3], m[4]}
			}
			if strings.Contains(line, "try: curl") {
				once.Do(func() { close(printed) })
			}
		}
		_, _ = io.Copy(io.Discard, out)
		d.done <- cmd.Wait()
	}()
	select {
	case <-printed:
	case err := <-d.done:
		t.Fatalf("guardian demo exited before serving: %v\n%s\n%s", err, d.stdout.String(), d.stderr.String())
	case <-time.After(waitTimeout):
		cmd.Process.Kill()
		t.Fatalf("guardian demo did not start in time\n%s", d.stderr.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.done
		}
	})
	m := demoURLRE.FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("guardian demo printed no URL of the pages:\n%s", d.stdout.String())
	}
	d.URL = m[1]
	return d
}

// stop interrupts the demo as Ctrl-C would and waits for a clean exit.
func (d *demoProcess) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("guardian demo exited with %v\n%s", err, d.stderr.String())
		}
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Errorf("guardian demo did not stop in time")
	}
}

var demoFormTokenRE = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

// demoSignIn signs name in through the sign-in form with the password
// alone and returns the client and the page it lands on.
func demoSignIn(t *testing.T, base, name, password string) (*http.Client, *http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, body := demoGet(t, c, base+"/signin")
	m := demoFormTokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form token on the sign-in page (%d): %.2000s", resp.StatusCode, body)
	}
	resp, err := c.PostForm(base+"/signin", url.Values{"form_token": {m[1]}, "name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp, string(b)
}

func demoGet(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestDemo runs "guardian demo" as a newcomer would: it prints the pages
// and the logins, a demo person signs in with the password alone, the
// simulated reporter's reports are routed, and a second start prints the
// same logins.
func TestDemo(t *testing.T) {
	ctx := testContext(t)
	data := filepath.Join(t.TempDir(), "demo")
	// Seed 4's first 12 reports include urgent referrals to agencies
	// with a webhook (checked below).
	d := startDemo(t, data, "--reports", "12", "--report-every", "50ms", "--seed", "4")

	// Every role is printed, with the agencies of the brief.
	want := map[string]string{
		"hub-admin": "hub-admin hub:demo-hub", "hub-analyst": "hub-analyst hub:demo-hub",
		"hub-supervisor": "hub-supervisor hub:demo-hub", "auditor": "auditor hub:demo-hub",
		"py-investigator": "agency-investigator agency:py-fiscalia-cyber", "py-supervisor": "agency-supervisor agency:py-fiscalia-cyber",
		"de-investigator": "agency-investigator agency:de-bka-cac", "ar-liaison": "liaison-officer agency:lo-buenos-aires",
		"us-investigator": "agency-investigator agency:us-federal-cac",
	}
	for name, roleOrg := range want {
		l, ok := d.logins[name]
		if !ok {
			t.Errorf("no login printed for %s:\n%s", name, d.stdout.String())
			continue
		}
		if got := l.role + " " + l.org; got != roleOrg {
			t.Errorf("%s: printed %q, want %q", name, got, roleOrg)
		}
	}
	for _, s := range []string{d.URL + "/ispws", d.URL + "/api/v1", d.URL + "/audit/checkpoint", d.URL + "/hub/mail"} {
		if !strings.Contains(d.stdout.String(), s) {
			t.Errorf("the demo printed no %s:\n%s", s, d.stdout.String())
		}
	}
	// The logins are kept privately, and they are the ones printed.
	path := filepath.Join(data, demoLoginsFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, fi.Mode().Perm())
	}
	var kept []demoPerson
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &kept); err != nil {
		t.Fatal(err)
	}
	for _, p := range kept {
		if d.logins[p.Name].password != p.Password || p.TOTPSecret == "" {
			t.Errorf("%s: kept password %q and TOTP secret %q, printed %q", p.Name, p.Password, p.TOTPSecret, d.logins[p.Name].password)
		}
	}

	// An investigator signs in with the password alone and lands on
	// their page, which says DEMO.
	inv := d.logins["py-investigator"]
	c, resp, body := demoSignIn(t, d.URL, "py-investigator", inv.password)
	if resp.StatusCode != http.StatusOK || strings.HasPrefix(resp.Request.URL.Path, "/signin") {
		t.Fatalf("after the password: %s (%d): %.2000s", resp.Request.URL, resp.StatusCode, body)
	}
	if resp.Request.URL.Path != "/referrals" {
		t.Errorf("the investigator landed on %s, want /referrals", resp.Request.URL.Path)
	}
	if !strings.Contains(body, `class="demo-banner"`) {
		t.Errorf("the investigator's page has no DEMO banner: %.2000s", body)
	}
	// The caught mail is the hub staff's.
	if resp, _ := demoGet(t, c, d.URL+"/hub/mail"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an investigator's GET /hub/mail: %d, want 403", resp.StatusCode)
	}
	analyst, resp, body := demoSignIn(t, d.URL, "hub-analyst", d.logins["hub-analyst"].password)
	if resp.StatusCode != http.StatusOK || strings.HasPrefix(resp.Request.URL.Path, "/signin") {
		t.Fatalf("the analyst after the password: %s (%d): %.2000s", resp.Request.URL, resp.StatusCode, body)
	}
	if resp, body := demoGet(t, analyst, d.URL+"/hub/mail"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mail the hub sent") ||
		!strings.Contains(body, "Webhooks the hub sent") {
		t.Errorf("the analyst's GET /hub/mail: %d: %.2000s", resp.StatusCode, body)
	}
	// A wrong password is still refused.
	if _, resp, _ := demoSignIn(t, d.URL, "hub-analyst", "wrong-password-1234"); !strings.HasPrefix(resp.Request.URL.Path, "/signin") {
		t.Errorf("a wrong password signed in, landing on %s", resp.Request.URL)
	}

	// The simulated reporter's reports are routed: referrals appear.
	store, err := (&StoreConfig{Data: data}).open(ctx, false, stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(waitTimeout)
	for {
		refs, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "referral.create"})
		if err != nil {
			t.Fatal(err)
		}
		subs, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.finish"})
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) > 0 && len(subs) == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d reports finished, %d referrals made\n%s", waitTimeout, len(subs), len(refs), d.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if demo, err := store.IsDemo(ctx); err != nil || !demo {
		t.Errorf("IsDemo = %v, %v: the demo's store is not marked", demo, err)
	}
	// Every agency with a webhook has a secret, which the demo's webhook
	// receiver checks signatures with; the urgent referrals' webhooks
	// reach it, signed as it expects, and the hub's staff see them.
	for _, agency := range []string{"py-fiscalia-cyber", "us-federal-cac"} {
		if sealed, err := store.FindWebhookSecret(ctx, agency); err != nil || len(sealed) == 0 {
			t.Errorf("webhook secret of %s: %d bytes, %v", agency, len(sealed), err)
		}
	}
	for {
		_, body := demoGet(t, analyst, d.URL+"/hub/mail")
		if strings.Contains(body, "<td>refused</td>") {
			t.Fatalf("the demo's receiver refused a webhook: %.3000s", body)
		}
		if strings.Contains(body, "<td>verified</td>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v no webhook at /hub/mail: %.3000s\n%s", waitTimeout, body, d.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(d.stderr.String(), "notification failed") {
		t.Errorf("a notification failed:\n%s", d.stderr.String())
	}
	d.stop(t)

	// Started again, the demo prints the same logins, and they still
	// work.
	again := startDemo(t, data, "--reports", "0")
	for name, l := range d.logins {
		if again.logins[name] != l {
			t.Errorf("second start: %s printed as %+v, first %+v", name, again.logins[name], l)
		}
	}
	if _, resp, body := demoSignIn(t, again.URL, "ar-liaison", again.logins["ar-liaison"].password); resp.StatusCode != http.StatusOK || strings.HasPrefix(resp.Request.URL.Path, "/signin") {
		t.Errorf("second start, the liaison officer after the password: %s (%d): %.2000s", resp.Request.URL, resp.StatusCode, body)
	}
	again.stop(t)
}

// TestDemoRefusesStoreWithData: guardian demo will not turn a store that
// holds people or reports into a demo's.
func TestDemoRefusesStoreWithData(t *testing.T) {
	ctx := testContext(t)
	data := t.TempDir()
	store, err := (&StoreConfig{Data: data}).open(ctx, true, stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	u := &guardian.User{Name: "ana@example.org", Organisation: guardian.HubOrganisation("demo-hub"),
		Roles: []guardian.Role{guardian.RoleHubAnalyst}, PasswordHash: "$argon2id$v=19$synthetic", TOTPSecret: []byte("sealed")}
	if err := store.CreateUser(ctx, u, adminEvent("test", guardian.CategoryPermission, "user.create")); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err = (&DemoCommand{Stdout: &stdout, Stderr: &stderr}).Run(ctx, []string{"--data", data, "--addr", "127.0.0.1:0", "--reports", "0"})
	if err == nil || !strings.Contains(err.Error(), "guardian demo did not create") {
		t.Fatalf("demo on a store with a user: %v, want a refusal", err)
	}
	if strings.Contains(stdout.String(), "Logins") {
		t.Errorf("the refused demo printed logins:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(data, demoLoginsFile)); err == nil {
		t.Errorf("the refused demo wrote %s", demoLoginsFile)
	}
}

// TestDemoModeNeedsDemoStore: a hub opened in demo mode on a store that
// guardian demo did not create refuses to start; once marked, it starts
// with the second factor skipped.
func TestDemoModeNeedsDemoStore(t *testing.T) {
	ctx := testContext(t)
	data := t.TempDir()
	network, err := filepath.Abs(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := hub.Config{Store: hub.StoreConfig{Data: data}, Migrate: true, Addr: "127.0.0.1:0", Network: network,
		Demo: true, Logger: stderrLogger(io.Discard)}
	h, err := hub.Open(ctx, cfg)
	if err == nil {
		h.Close(context.WithoutCancel(ctx))
		t.Fatal("a hub in demo mode opened on a store guardian demo did not create")
	}
	if !strings.Contains(err.Error(), "demo mode needs a store created by guardian demo") {
		t.Errorf("error %q does not say why", err)
	}

	store, err := (&StoreConfig{Data: data}).open(ctx, false, stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MarkDemo(ctx, adminEvent("test", guardian.CategoryPrivileged, "hub.demo")); err != nil {
		t.Fatal(err)
	}
	store.Close()
	h, err = hub.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("a hub in demo mode on a marked store: %v", err)
	}
	defer h.Close(context.WithoutCancel(ctx))
	if !h.API.SkipSecondFactor || !h.Web.Demo {
		t.Errorf("demo hub: SkipSecondFactor %v, Demo banner %v", h.API.SkipSecondFactor, h.Web.Demo)
	}
}
