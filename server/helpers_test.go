package server_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/server"
)

// MustStartServer opens a Server on a loopback port over store, with its
// master key and evidence under dir, and closes it when tb ends. configure
// may change the server before it opens.
func MustStartServer(tb testing.TB, store guardian.Store, dir string, configure func(*server.Server)) *server.Server {
	tb.Helper()
	mk, err := crypto.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		tb.Fatal(err)
	}
	ev := evidence.NewStore(filepath.Join(dir, "evidence"))
	if err := ev.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ev.Close() }) // after the server's, registered below
	s := server.New(store, ev, mk)
	s.Addr = "127.0.0.1:0"
	s.Logger = testLogger()
	if configure != nil {
		configure(s)
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// MustAddReporter registers a reporter with the given credentials.
func MustAddReporter(tb testing.TB, store guardian.Store, name, password string) {
	tb.Helper()
	hash, err := crypto.HashPassword(password)
	if err != nil {
		tb.Fatal(err)
	}
	ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPermission, Action: "reporter.create"}
	if err := store.CreateReporter(context.Background(), &guardian.Reporter{Name: name, PasswordHash: hash}, ev); err != nil {
		tb.Fatal(err)
	}
}
