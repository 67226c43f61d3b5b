package hub_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/storetest"
)

// TestOpenRoutesAndReopens: a hub opened by hub.Open takes a report through
// the real API, triages and routes it through the pipeline that serve runs,
// closes, and opens again on the same data with the referral still there.
func TestOpenRoutesAndReopens(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "postgres" && os.Getenv(storetest.PostgresEnv) == "" {
				if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
					t.Fatalf("%s is not set", storetest.PostgresEnv)
				}
				t.Skipf("%s is not set", storetest.PostgresEnv)
			}
			cfg := hub.Config{
				Store:       hub.StoreConfig{Data: t.TempDir()},
				Addr:        "127.0.0.1:0",
				Network:     filepath.Join("..", "examples", "network-demo.yaml"),
				AuditOrigin: "test.example.org/audit",
				Logger:      slog.New(slog.DiscardHandler),
			}
			if kind == "postgres" {
				cfg.Store.Database = storetest.PostgresDSN(t)
			}
			routed := make(chan int64, 1)
			cfg.Routed = func(id int64) { routed <- id }
			h := mustOpen(t, cfg)
			c := mustReporter(t, h, "hub-test")
			ctx := t.Context()
			id, err := c.Submit(ctx, []byte(routedReport))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Finish(ctx, id); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-routed:
				if got != id {
					t.Fatalf("routed report %d, want %d", got, id)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the finished report was not routed")
			}
			mustClose(t, h)

			cfg.Routed = nil
			h = mustOpen(t, cfg)
			defer mustClose(t, h)
			refs, err := h.Store.FindReferrals(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].AgencyID != "de-bka-cac" {
				t.Errorf("after reopening, report %d has referrals %+v, want one to de-bka-cac", id, refs)
			}
		})
	}
}

func mustOpen(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustClose(t *testing.T, h *hub.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
