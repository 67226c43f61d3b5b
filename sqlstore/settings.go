package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/guardian-network/guardian"
)

var _ guardian.SettingsStore = (*Store)(nil)

// settingDemo is the hub_settings row of the demo marker.
const settingDemo = "demo"

// MarkDemo implements [guardian.SettingsStore]. The emptiness check and the
// marker are one transaction; guardian demo marks its store before it
// creates anyone, when nothing else uses it.
func (s *Store) MarkDemo(ctx context.Context, ev *guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		var marked int
		if err := tx.queryRow(`SELECT COUNT(*) FROM hub_settings WHERE name = ?`, []any{settingDemo}, &marked); err != nil {
			return fmt.Errorf("read settings: %w", err)
		}
		if marked > 0 {
			return nil
		}
		var reports, users int
		if err := tx.queryRow(`SELECT (SELECT COUNT(*) FROM reports), (SELECT COUNT(*) FROM users)`, nil, &reports, &users); err != nil {
			return fmt.Errorf("count reports and users: %w", err)
		}
		if reports > 0 || users > 0 {
			return guardian.Errorf(guardian.ECONFLICT,
				"This store holds %d reports and %d users: only an empty store can become a demo hub's.", reports, users)
		}
		if _, err := tx.exec(`INSERT INTO hub_settings (name, value, set_at) VALUES (?, ?, ?)`,
			settingDemo, "true", tx.t(tx.now)); err != nil {
			return fmt.Errorf("insert setting: %w", err)
		}
		return recordSuccess(tx, ev, "hub", settingDemo, 0, "")
	})
	if err != nil {
		return fmt.Errorf("mark demo: %w", err)
	}
	return nil
}

// IsDemo implements [guardian.SettingsStore].
func (s *Store) IsDemo(ctx context.Context) (bool, error) {
	var value string
	err := s.queryRow(ctx, `SELECT value FROM hub_settings WHERE name = ?`, []any{settingDemo}, &value)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read demo setting: %w", err)
	}
	return value == "true", nil
}
