package api_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// slowRequest starts a request whose body the test holds open, so that it
// stays in flight (holding its slots) until release is called. A request
// answered at once is tried again: the caller's previous request may not
// have given its slot back yet when its answer arrived.
func slowRequest(t *testing.T, f *fixture, token, path string) (release func() int) {
	t.Helper()
	for range 20 {
		pr, pw := io.Pipe()
		req, err := http.NewRequest("POST", f.srv.URL+api.Prefix+path, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		done := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		// The first bytes get the request past authentication into the
		// handler, which then waits for the rest of the body.
		go pw.Write([]byte(`{"kind":"note",`))
		select {
		case st := <-done:
			pw.Close()
			if st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable {
				t.Fatalf("slow request answered %d at once", st)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		case <-time.After(300 * time.Millisecond):
		}
		var once sync.Once
		status := 0
		release = func() int {
			once.Do(func() {
				pw.Write([]byte(`"body":"done"}`))
				pw.Close()
				select {
				case status = <-done:
				case <-time.After(10 * time.Second):
					t.Error("slow request never finished")
				}
			})
			return status
		}
		// Released before the server closes, even if the test fails first.
		t.Cleanup(func() { release() })
		return release
	}
	t.Fatal("no slow request got in")
	return nil
}

// waitRefused waits until a request from c is refused with status.
func waitRefused(t *testing.T, c *client, status int) *result {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := c.do("GET", "/me", nil)
		if res.status == status || time.Now().After(deadline) {
			return res.want(t, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFairShare: one caller's requests in flight are bounded, so that it
// cannot take the others' places; beyond the hub's bound everyone waits.
func TestFairShare(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		s1, _ := f.addToken("greedy", deOrg, guardian.RoleAgencyInvestigator)
		s2, _ := f.addToken("modest", deOrg, guardian.RoleAgencyInvestigator)
		s3, _ := f.addToken("third", nlOrg, guardian.RoleAgencyInvestigator)
		_, refs := f.report([]string{"DE"})
		path := "/referrals/" + id(f.referralTo(refs, "de-bka-cac").ID) + "/messages"

		release := slowRequest(t, f, s1, path)
		res := waitRefused(t, f.tokenClient(s1), http.StatusTooManyRequests)
		if _, reason := res.errReason(t); reason != "throttled" || res.resp.Header.Get("Retry-After") == "" {
			t.Errorf("the greedy caller's second request: %s %v", res.body, res.resp.Header)
		}
		// Another caller is served meanwhile.
		f.tokenClient(s2).do("GET", "/me", nil).want(t, http.StatusOK)

		// Two in flight fill the hub: a third caller is told to come back.
		release2 := slowRequest(t, f, s2, path)
		res = waitRefused(t, f.tokenClient(s3), http.StatusServiceUnavailable)
		if _, reason := res.errReason(t); reason != "busy" {
			t.Errorf("beyond the hub's bound: %s", res.body)
		}
		if got := release(); got != http.StatusCreated {
			t.Errorf("slow request answered %d", got)
		}
		if got := release2(); got != http.StatusCreated {
			t.Errorf("second slow request answered %d", got)
		}
		f.tokenClient(s3).do("GET", "/me", nil).want(t, http.StatusOK)
	}, func(h *api.Handler) { h.MaxInFlightPerCaller, h.MaxInFlight = 1, 2 })
}
