package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestAuthCacheSharesVerification: requests that present the same
// credentials at once are verified once; a success is cached, a failure is
// not.
func TestAuthCacheSharesVerification(t *testing.T) {
	var c authCache
	c.init(guardian.SystemClock)
	k := credentialKey("example-service", "secret")
	rep := &guardian.Reporter{ID: 7, Name: "example-service"}

	var calls atomic.Int32
	release := make(chan struct{})
	verify := func() (*guardian.Reporter, error) {
		calls.Add(1)
		<-release
		return rep, nil
	}
	const requests = 16
	var wg sync.WaitGroup
	got := make([]*guardian.Reporter, requests)
	for i := range requests {
		wg.Go(func() {
			var err error
			if got[i], err = c.verify(context.Background(), k, verify); err != nil {
				t.Error(err)
			}
		})
	}
	// Let the requests reach the cache before the verification ends.
	for deadline := time.Now().Add(5 * time.Second); calls.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d concurrent requests ran %d verifications, want 1", requests, n)
	}
	for i, r := range got {
		if r != rep {
			t.Errorf("request %d got reporter %v", i, r)
		}
	}
	if r, err := c.verify(context.Background(), k, func() (*guardian.Reporter, error) {
		t.Error("cached credentials verified again")
		return nil, errors.New("unexpected")
	}); err != nil || r != rep {
		t.Errorf("cached verify = %v, %v", r, err)
	}

	// A failure is shared with those waiting but not remembered.
	bad := credentialKey("example-service", "wrong")
	refused := guardian.Errorf(guardian.EUNAUTHORIZED, "Authentication required")
	if _, err := c.verify(context.Background(), bad, func() (*guardian.Reporter, error) { return nil, refused }); err != refused {
		t.Errorf("failed verify = %v", err)
	}
	calls.Store(0)
	c.verify(context.Background(), bad, func() (*guardian.Reporter, error) { calls.Add(1); return nil, refused })
	if calls.Load() != 1 {
		t.Error("a failed verification was cached")
	}
}

// TestAuthCacheWaiterGivesUp: a request whose context ends while another
// verifies its credentials stops waiting; a verification that panics
// releases its waiters with an error.
func TestAuthCacheWaiterGivesUp(t *testing.T) {
	var c authCache
	c.init(guardian.SystemClock)
	k := credentialKey("example-service", "secret")
	started, release := make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		defer func() { recover(); leader <- nil }()
		c.verify(context.Background(), k, func() (*guardian.Reporter, error) {
			close(started)
			<-release
			panic("verification failed")
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.verify(ctx, k, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter with a cancelled context: %v", err)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := c.verify(context.Background(), k, func() (*guardian.Reporter, error) {
			return nil, errors.New("the waiter came too late to wait")
		})
		waiter <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	<-leader
	if err := <-waiter; !errors.Is(err, errVerifyAborted) {
		t.Errorf("waiter of a verification that panicked: %v", err)
	}
}
