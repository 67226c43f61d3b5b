package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runServe runs "guardian serve" with args until it exits, which it must do
// by itself within 60 seconds, and returns its stderr and exit error.
func runServe(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, guardianBin, append([]string{"serve"}, args...)...)
	demo, err := filepath.Abs(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(append(cleanEnv(), "GUARDIAN_NETWORK="+demo), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("guardian serve %s did not exit by itself:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stderr.String(), err
}

// TestServeStartErrors: a hub that cannot start exits at once with the
// reason, having stopped whatever it had started.
func TestServeStartErrors(t *testing.T) {
	t.Run("port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		stderr, err := runServe(t, nil, "--data", t.TempDir(), "--addr", ln.Addr().String())
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("serve on a taken port: %v", err)
		}
		if !strings.Contains(stderr, "listen on "+ln.Addr().String()) || !strings.Contains(stderr, "address already in use") {
			t.Errorf("the error does not name the bind failure:\n%s", stderr)
		}
	})
	t.Run("unreadable master key", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(key, []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		stderr, err := runServe(t, nil, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--master-key-file", key)
		if err == nil || !strings.Contains(stderr, "master key") {
			t.Errorf("serve with a bad master key: %v\n%s", err, stderr)
		}
	})
	t.Run("no network file", func(t *testing.T) {
		data := t.TempDir()
		stderr, err := runServe(t, nil, "--data", data, "--addr", "127.0.0.1:0", "--network", filepath.Join(data, "missing.yaml"))
		if err == nil || !strings.Contains(stderr, "network file") {
			t.Errorf("serve without a network file: %v\n%s", err, stderr)
		}
		// Refused before the store is opened: nothing is left behind.
		if _, err := os.Stat(filepath.Join(data, "guardian.db")); err == nil {
			t.Error("a refused start left a new database behind")
		}
	})
	t.Run("pprof off loopback", func(t *testing.T) {
		stderr, err := runServe(t, nil, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--pprof", "0.0.0.0:6060")
		if err == nil || !strings.Contains(stderr, "not a loopback address") {
			t.Errorf("serve with --pprof on every interface: %v\n%s", err, stderr)
		}
	})
	t.Run("pprof port taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		stderr, err := runServe(t, nil, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--pprof", ln.Addr().String())
		if err == nil || !strings.Contains(stderr, "--pprof") || !strings.Contains(stderr, "address already in use") {
			t.Errorf("serve with --pprof on a taken port: %v\n%s", err, stderr)
		}
	})
	for _, n := range []string{"-1", "65"} {
		t.Run("triage workers "+n, func(t *testing.T) {
			stderr, err := runServe(t, nil, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--triage-workers", n)
			if err == nil || !strings.Contains(stderr, "--triage-workers must be") {
				t.Errorf("serve with %s triage workers: %v\n%s", n, err, stderr)
			}
		})
	}
}

// TestServePprof: --pprof serves Go's profiling endpoints on its own
// loopback address, not on the hub's.
func TestServePprof(t *testing.T) {
	addr := freeAddr(t)
	h := StartHub(t, "--data", t.TempDir(), "--pprof", addr, "--triage-workers", "2")
	defer h.Stop(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
	resp, err := http.Get(h.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("the hub's own address serves the profiling endpoints")
	}
}
