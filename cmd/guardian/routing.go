package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/sqlstore"
)

// riverDriver returns River's driver on the store's database.
func (c *StoreConfig) riverDriver(store *sqlstore.Store) riverdriver.Driver[*sql.Tx] {
	if c.Database == "" {
		return riversqlite.New(store.DB())
	}
	return riverdatabasesql.New(store.DB())
}

// networkPath is --network, or network.yaml in --data.
func networkPath(flagValue, data string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(data, "network.yaml")
}

// openGeo opens --geoip, or the embedded country table without it.
func openGeo(path string) (geo.Resolver, func() error, error) {
	if path == "" {
		return geo.Embedded(), func() error { return nil }, nil
	}
	db, err := geo.OpenMMDB(path)
	if err != nil {
		return nil, nil, fmt.Errorf("geoip database: %w", err)
	}
	return db, db.Close, nil
}

// networkReloader wraps the network file's reloader with the audit record
// of every load.
type networkReloader struct {
	r      *network.Reloader
	store  *sqlstore.Store
	logger *slog.Logger
}

// loadNetwork loads the network file; a missing or invalid file stops the
// hub with a message saying what to do.
func loadNetwork(ctx context.Context, path string, store *sqlstore.Store, logger *slog.Logger) (*networkReloader, error) {
	r, err := network.NewReloader(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network file %s not found\n(write one, see docs/routing.md and examples/network-demo.yaml, or give --network)", path)
	} else if err != nil {
		return nil, fmt.Errorf("network file: %w", err)
	}
	nr := &networkReloader{r: r, store: store, logger: logger}
	if err := nr.record(ctx, guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian serve"}, "start"); err != nil {
		return nil, err
	}
	return nr, nil
}

// record stores the network in force and its network.reload event.
func (nr *networkReloader) record(ctx context.Context, actor guardian.Actor, reason string) error {
	n := nr.r.Network()
	b, err := os.ReadFile(nr.r.Path())
	if err != nil {
		return fmt.Errorf("read network file: %w", err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != n.Digest {
		// Changed again since it was parsed: keep the record exact by
		// storing only what was loaded, which Reload will pick up.
		b = nil
	}
	ev := &guardian.AuditEvent{Actor: actor, Category: guardian.CategoryPermission, Action: "network.reload", Reason: reason}
	if b == nil {
		ev.ObjectKind, ev.ObjectID = "network", n.Digest
		return nr.store.AppendAuditEvent(ctx, withOutcome(ev))
	}
	return nr.store.RecordNetworkVersion(ctx, n.Digest, b, ev)
}

func withOutcome(ev *guardian.AuditEvent) *guardian.AuditEvent {
	if ev.Outcome == "" {
		ev.Outcome = guardian.OutcomeSuccess
	}
	return ev
}

// Reload re-reads the file for actor; a failure keeps the network in force
// and is recorded too.
func (nr *networkReloader) Reload(ctx context.Context, actor guardian.Actor) (string, bool, error) {
	ch, err := nr.r.Reload()
	if err != nil {
		ev := &guardian.AuditEvent{Actor: actor, Category: guardian.CategoryPermission, Action: "network.reload",
			ObjectKind: "network", ObjectID: nr.r.Network().Digest, Outcome: guardian.OutcomeFailure, Reason: "invalid"}
		if aerr := nr.store.AppendAuditEvent(ctx, ev); aerr != nil {
			nr.logger.Error("record failed network reload", slog.Any("error", aerr))
		}
		nr.logger.Warn("network file refused; the network in force stays", slog.String("network", nr.r.Network().Digest), slog.Any("error", err))
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		return nr.r.Network().Digest, false, guardian.Errorf(guardian.EINVALID, "The network file was refused: %s", msg)
	}
	changed := ch.From != ch.To
	reason := "unchanged"
	if changed {
		reason = "changed"
	}
	if err := nr.record(ctx, actor, reason); err != nil {
		return ch.To, changed, err
	}
	nr.logger.Info("network file reloaded", slog.String("network", ch.To), slog.Bool("changed", changed), slog.String("change", ch.String()))
	return ch.To, changed, nil
}

// reloadOnSIGHUP reloads the network on every SIGHUP until ctx ends.
func (nr *networkReloader) reloadOnSIGHUP(ctx context.Context) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				nr.Reload(ctx, guardian.Actor{Kind: guardian.ActorSystem, Name: "SIGHUP"})
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		<-done
	}
}

// startPipeline migrates River's tables, builds the triage pipeline and
// hooks it to the store's finish transaction.
func startPipeline(ctx context.Context, cfg *StoreConfig, store *sqlstore.Store, nr *networkReloader, g geo.Resolver, logger *slog.Logger) (*jobs.Pipeline, error) {
	if err := jobs.Migrate(ctx, cfg.riverDriver(store), logger); err != nil {
		return nil, err
	}
	p, err := jobs.NewPipeline(jobs.PipelineConfig{
		Driver: cfg.riverDriver(store),
		Router: &jobs.Router{Store: store, Network: nr.r.Network, Geo: g},
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	store.OnFinish(p.Enqueue)
	if err := p.Start(ctx); err != nil {
		store.ClearFinishHooks()
		return nil, err
	}
	return p, nil
}
