package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// TestMiddleware: over a real loopback connection, the writer remembers
// the first status (200 when only a body is written), ids are distinct
// version 4 UUIDs, and the client's address is the peer's, whatever the
// forwarded headers say.
func TestMiddleware(t *testing.T) {
	type seen struct {
		status int
		addr   string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &StatusWriter{ResponseWriter: w}
		if r.URL.Path == "/teapot" {
			sw.WriteHeader(http.StatusTeapot)
		}
		_, _ = io.WriteString(sw, "ok") // after a status: does not change it
		if http.NewResponseController(sw).Flush() != nil {
			t.Error("the connection is not reachable through Unwrap")
		}
		got <- seen{sw.Status, ClientAddr(r)}
	}))
	defer srv.Close()
	for path, want := range map[string]int{"/teapot": http.StatusTeapot, "/": http.StatusOK} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s := <-got
		if s.status != want || resp.StatusCode != want {
			t.Errorf("%s: recorded %d, sent %d, want %d", path, s.status, resp.StatusCode, want)
		}
		if s.addr != "127.0.0.1" {
			t.Errorf("%s: client address %q, want the peer's", path, s.addr)
		}
	}
	if a := ClientAddr(&http.Request{RemoteAddr: "not an address"}); a != "not an address" {
		t.Errorf("ClientAddr without a port = %q", a)
	}

	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewRequestID(), NewRequestID()
	if !uuid4.MatchString(a) || !uuid4.MatchString(b) || a == b {
		t.Errorf("request ids %q and %q", a, b)
	}
}
