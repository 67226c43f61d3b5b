package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReportersGuide runs the curl flow of docs/reporters.md against a hub,
// so that the guide a reporter follows stays true: its variables are
// defined before use, its sample files exist, and every step succeeds.
func TestReportersGuide(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	guide, err := os.ReadFile(filepath.Join("..", "docs", "reporters.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, flow, ok := strings.Cut(string(guide), "## 3. The flow")
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(flow)
	if !ok || m == nil {
		t.Fatal("no ```sh block in section 3 of the guide")
	}
	script := m[1]

	h := MustOpenHub(t, nil)
	// The guide defines BASE, U and P first; point them at this hub.
	for _, v := range []struct{ name, value string }{{"BASE", h.Base}, {"U", h.User}, {"P", h.Pass}} {
		def := regexp.MustCompile(`(?m)^` + v.name + `=.*$`)
		loc := def.FindStringIndex(script)
		if loc == nil {
			t.Fatalf("the flow does not define $%s", v.name)
		}
		if use := strings.Index(script, "$"+v.name); use >= 0 && use < loc[0] {
			t.Errorf("the flow uses $%s before defining it", v.name)
		}
		script = script[:loc[0]] + v.name + "='" + v.value + "'" + script[loc[1]:]
	}
	// Its sample files are named relative to a checkout of Guardian.
	for _, f := range regexp.MustCompile(`cybertip/testdata/[\w.-]+`).FindAllString(string(guide), -1) {
		if _, err := os.Stat(filepath.Join("..", f)); err != nil {
			t.Errorf("the guide names a sample that is not there: %v", err)
		}
	}

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the flow failed: %v\n%s", err, out)
	}
	codes := regexp.MustCompile(`<responseCode>(\d+)</responseCode>`).FindAllStringSubmatch(string(out), -1)
	if len(codes) != 2 {
		t.Errorf("want the answers of fileinfo and finish, got %d:\n%s", len(codes), out)
	}
	for _, c := range codes {
		if c[1] != "0" {
			t.Errorf("a step answered code %s:\n%s", c[1], out)
		}
	}
	if !regexp.MustCompile(`(?m)^report [0-9]+$`).Match(out) || !regexp.MustCompile(`(?m)^file [0-9a-f]{32}$`).Match(out) ||
		!regexp.MustCompile(`<files><fileId>[0-9a-f]{32}</fileId></files>`).Match(out) {
		t.Errorf("the flow did not submit, upload and finish:\n%s", out)
	}

	// The guide says that /xsd needs credentials, as the hub does.
	if !strings.Contains(string(guide), "`/status` and `/xsd` included") {
		t.Error("the guide does not say that /xsd needs credentials")
	}
	if r := h.do(t, "GET", "xsd", "", nil, false); r.Status != 401 {
		t.Errorf("GET /xsd without credentials: HTTP %d", r.Status)
	}
}
