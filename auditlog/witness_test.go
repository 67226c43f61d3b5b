package auditlog_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/auditlog/format"
	"github.com/guardian-network/guardian/storetest"
)

// hub is a store, its log and an HTTP server of the log's public half.
type hub struct {
	log   *auditlog.Log
	store guardian.Store
	url   string
	tiles atomic.Int32 // tiles served
	lie   atomic.Bool  // serve tiles with a changed byte
}

func newHub(t *testing.T, key note.Signer, events int) *hub {
	t.Helper()
	s := storetest.MustOpenSQLite(t, nil)
	h := &hub{log: auditlog.New(s, key, origin, nil), store: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /audit/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		cp, err := h.log.Checkpoint(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(cp.Note)
	})
	mux.HandleFunc("GET /audit/tile/{path...}", func(w http.ResponseWriter, r *http.Request) {
		p, err := format.ParseTilePath(r.PathValue("path"))
		if err != nil || p.Entries {
			http.NotFound(w, r)
			return
		}
		cp, err := h.log.Checkpoint(r.Context())
		if err != nil {
			http.NotFound(w, r)
			return
		}
		b, err := h.log.ReadTile(r.Context(), p, cp.TreeSize)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if h.lie.Load() {
			b[len(b)-1] ^= 1
		}
		h.tiles.Add(1)
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/audit"
	h.grow(t, events)
	return h
}

// grow appends n events and integrates them.
func (h *hub) grow(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPrivileged,
			Action: "test.event", Outcome: guardian.OutcomeSuccess, RequestID: strings.Repeat("r", i%5)}
		if err := h.store.AppendAuditEvent(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.log.Integrate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestWitness(t *testing.T) {
	key, vkey := mustKey(t, origin)
	ctx := context.Background()
	h := newHub(t, key, 40)
	first, err := auditlog.Witness(ctx, nil, h.url, vkey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := format.OpenCheckpoint(first, vkey); err != nil || c.TreeSize != 40 {
		t.Fatalf("first checkpoint: %+v, %v", c, err)
	}

	// Unchanged, then grown: both consistent.
	same, err := auditlog.Witness(ctx, nil, h.url+"/", vkey, first)
	if err != nil || string(same) != string(first) {
		t.Fatalf("unchanged log: %v", err)
	}
	h.grow(t, 260)
	h.tiles.Store(0)
	grown, err := auditlog.Witness(ctx, nil, h.url, vkey, first)
	if err != nil {
		t.Fatalf("grown log: %v", err)
	}
	if c, _ := format.OpenCheckpoint(grown, vkey); c.TreeSize != 300 {
		t.Errorf("grown to %d, want 300", c.TreeSize)
	}
	t.Logf("proved 40 → 300 with %d tiles", h.tiles.Load())

	// Another log signed with the same key: a fork, and a rollback.
	fork := newHub(t, key, 310)
	if _, err := auditlog.Witness(ctx, nil, fork.url, vkey, grown); !errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("forked log: %v, want ErrInconsistent", err)
	}
	shorter := newHub(t, key, 299)
	if _, err := auditlog.Witness(ctx, nil, shorter.url, vkey, grown); !errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("shrunk log: %v, want ErrInconsistent", err)
	}
	sameSize := newHub(t, key, 300)
	if _, err := auditlog.Witness(ctx, nil, sameSize.url, vkey, grown); !errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("another tree of the same size: %v, want ErrInconsistent", err)
	}

	// Failures that prove nothing about the log are other errors.
	_, otherKey := mustKey(t, origin)
	if _, err := auditlog.Witness(ctx, nil, h.url, otherKey, nil); err == nil || errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("checkpoint of another key: %v", err)
	}
	if _, err := auditlog.Witness(ctx, nil, h.url, otherKey, grown); err == nil || errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("saved checkpoint of another key: %v", err)
	}
	h.grow(t, 10)
	h.lie.Store(true)
	if _, err := auditlog.Witness(ctx, nil, h.url, vkey, first); err == nil || errors.Is(err, auditlog.ErrInconsistent) {
		t.Errorf("tiles that do not match the checkpoint: %v", err)
	}
	if _, err := auditlog.Witness(ctx, nil, h.url+"/nowhere", vkey, nil); err == nil {
		t.Error("no hub: succeeded")
	}
}
