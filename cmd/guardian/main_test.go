package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// guardianBin is the binary built once for the tests that need a real process.
var guardianBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guardian-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guardianBin = filepath.Join(dir, "guardian")
	out, err := exec.Command("go", "build", "-o", guardianBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build guardian: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireAll reports whether a missing tool or service must fail a test
// rather than skip it (set in CI).
func requireAll() bool { return os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" }

// MustRunGuardian runs the binary with args to completion and returns stdout.
func MustRunGuardian(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := runGuardian(args...)
	if err != nil {
		tb.Fatalf("guardian %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func runGuardian(args ...string) (string, error) {
	cmd := exec.Command(guardianBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = cleanEnv()
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w\nstderr: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// cleanEnv is the environment without GUARDIAN_ variables, so that a
// developer's settings cannot leak into a test's hub.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GUARDIAN_") {
			env = append(env, kv)
		}
	}
	return env
}

// hubProcess is a running "guardian serve" process.
type hubProcess struct {
	cmd    *exec.Cmd
	URL    string // http://127.0.0.1:port
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitTimeout bounds the tests' waits for something a hub does in the
// background. It is generous: under "go test ./..." on two loaded cores, or
// under the race detector, a hub can lag seconds behind its test.
const waitTimeout = 60 * time.Second

var servingURL = regexp.MustCompile(`msg="guardian is serving" url=(http://\S+)`)

// StartHub starts "guardian serve" on a free port with the given extra
// arguments and waits until it answers.
func StartHub(tb testing.TB, args ...string) *hubProcess {
	tb.Helper()
	cmd := exec.Command(guardianBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "debug"}, args...)...)
	// Every hub needs a network file: the demo network, unless args say.
	demo, err := filepath.Abs(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Env = append(cleanEnv(), "GUARDIAN_NETWORK="+demo)
	pr, pw := io.Pipe()
	h := &hubProcess{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = io.MultiWriter(pw, h.stderr)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start guardian serve: %v", err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
		// A line too long for the scanner must not leave the hub blocked
		// writing its log into a pipe that nobody reads.
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		h.done <- err
	}()
	select {
	case h.URL = <-urlc:
	case err := <-h.done:
		tb.Fatalf("guardian serve exited before serving: %v\n%s", err, h.stderr.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		tb.Fatalf("guardian serve did not start in time\n%s", h.stderr.String())
	}
	tb.Cleanup(func() { h.Kill() })
	resp, err := http.Get(h.URL + "/healthz")
	if err != nil {
		tb.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	return h
}

// MustWaitLog waits until the hub has logged s. What the hub logs reaches
// h.stderr through a pipe and a copying goroutine, so it can arrive after
// what the hub did next is already visible (an audit event committed, a
// response received): a test must not look at the log only once.
func (h *hubProcess) MustWaitLog(tb testing.TB, s string) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(h.stderr.String(), s) {
		if time.Now().After(deadline) {
			tb.Fatalf("the hub logged no %q in %v:\n%s", s, waitTimeout, h.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the process with SIGKILL, as a crash would, and waits for it.
func (h *hubProcess) Kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	_ = h.cmd.Process.Kill()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
	}
}

// Stop asks the process to shut down gracefully and waits for it.
func (h *hubProcess) Stop(tb testing.TB) {
	tb.Helper()
	_ = h.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-h.done:
		if err != nil {
			tb.Errorf("guardian serve exited with %v\n%s", err, h.stderr.String())
		}
	case <-time.After(30 * time.Second):
		h.Kill()
		tb.Errorf("guardian serve did not stop in time")
	}
}

// addReporter registers a reporter with the CLI and returns its credentials.
func addReporter(tb testing.TB, name string, storeArgs ...string) (user, password string) {
	tb.Helper()
	out := MustRunGuardian(tb, append([]string{"reporter", "add", name}, storeArgs...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "username: ") || !strings.HasPrefix(lines[1], "password: ") {
		tb.Fatalf("reporter add printed %q; want exactly two lines 'username: ' and 'password: '", out)
	}
	return strings.TrimPrefix(lines[0], "username: "), strings.TrimPrefix(lines[1], "password: ")
}

// testContext is a context for a test with an overall bound.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}
