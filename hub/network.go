package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/sqlstore"
)

// NetworkPath is the network file flag's value, or network.yaml in data.
func NetworkPath(flagValue, data string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(data, "network.yaml")
}

// ReadNetwork reads and checks the network file; a missing or invalid file
// stops the hub with a message saying what to do.
func ReadNetwork(path string) (*network.Reloader, error) {
	r, err := network.NewReloader(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network file %s not found\n(write one, see docs/routing.md and examples/network-demo.yaml, or give --network)", path)
	} else if err != nil {
		return nil, fmt.Errorf("network file: %w", err)
	}
	return r, nil
}

// NetworkReloader wraps the network file's reloader with the audit record
// of every load.
type NetworkReloader struct {
	r      *network.Reloader
	store  *sqlstore.Store
	logger *slog.Logger
}

// record stores the network in force and its network.reload event.
func (nr *NetworkReloader) record(ctx context.Context, actor guardian.Actor, reason string) error {
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
func (nr *NetworkReloader) Reload(ctx context.Context, actor guardian.Actor) (string, bool, error) {
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

// Network returns the network in force.
func (nr *NetworkReloader) Network() *guardian.Network { return nr.r.Network() }
