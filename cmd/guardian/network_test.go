package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runNetwork runs "guardian network ARGS" in-process and returns its
// output.
func runNetwork(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = (&NetworkCommand{Stdout: &out, Stderr: &errOut}).Run(t.Context(), args)
	return out.String(), errOut.String(), err
}

func TestNetworkCheckDemo(t *testing.T) {
	out, _, err := runNetwork(t, "check", "../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"network-demo.yaml: valid (sha256 ",
		"agencies:        19 (9 partner, 8 liaison, 1 fallback, 1 domestic)",
		"with access:     58 countries (9 through partners, 49 through liaison offices)",
		"other countries: intl-cac-desk (fallback)",
		"no location:     us-federal-cac (domestic), and the analysts' queue",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestNetworkCheckVerbose(t *testing.T) {
	out, _, err := runNetwork(t, "check", "-v", "../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"BR  Brazil                           lo-buenos-aires (liaison)\n",
		"PY  Paraguay                         py-fiscalia-cyber (direct); lo-buenos-aires supports\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, " (direct)") + strings.Count(out, " (liaison)"); n != 58 {
		t.Errorf("%d country lines, want 58", n)
	}
}

func TestNetworkCheckProblems(t *testing.T) {
	demo, err := os.ReadFile("../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(demo), "countries: [GB]", "countries: [UK]", 1)
	broken = strings.Replace(broken, "retention: 365d", "retention: 1y", 1)
	path := filepath.Join(t.TempDir(), "network.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runNetwork(t, "check", path)
	if err == nil || err.Error() != path+": 2 problems; nothing was changed" {
		t.Errorf("err = %v", err)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], path+":") || !strings.Contains(lines[0], `country "UK" is not an ISO 3166-1 alpha-2 code (the United Kingdom is GB)`) ||
		!strings.Contains(lines[1], `retention "1y" must be a number of days`) {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestNetworkCheckDefaultPath(t *testing.T) {
	demo, err := os.ReadFile("../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "network.yaml"), demo, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runNetwork(t, "check", "--data", data); err != nil || !strings.Contains(out, filepath.Join(data, "network.yaml")+": valid") {
		t.Errorf("--data: %v\n%s", err, out)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, demo, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runNetwork(t, "check", "--data", data, "--network", other); err != nil || !strings.Contains(out, other+": valid") {
		t.Errorf("--network: %v\n%s", err, out)
	}
	if _, _, err := runNetwork(t, "check", "--data", t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
}

func TestNetworkUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"show"}, {"check", "a.yaml", "b.yaml"}} {
		_, _, err := runNetwork(t, args...)
		var ue usageError
		if !errors.As(err, &ue) || ue.cmd != "network" {
			t.Errorf("network %q: got %v, want a usage error", args, err)
		}
	}
}
