package main

import (
	"bytes"
	"context"
	"errors"
	"net"
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
}
