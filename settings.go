package guardian

import "context"

// A hub keeps a few settings of its own in its store, beside the data they
// govern, so that they travel with it (a backup, a copy to another machine)
// and cannot disagree with it the way a flag can.

// SettingsStore keeps the hub's settings.
//
// The one setting so far is the demo marker. A demo hub lets people sign in
// with the password alone and marks every page DEMO (guardian demo); the
// marker is what makes that mode impossible on a real hub's store: only a
// store that held nothing when guardian demo created it carries it, and
// nothing removes it.
//
//	hub.demo  privileged  MarkDemo (ObjectKind "hub")
type SettingsStore interface {
	// MarkDemo marks the store as a demo hub's. It succeeds only on a
	// store that holds no report and no user (reporters do not count:
	// the demo's own reporting account may come first); any other is
	// refused with ECONFLICT. A store marked already stays marked, and
	// MarkDemo returns nil without recording anything again.
	MarkDemo(ctx context.Context, ev *AuditEvent) error
	// IsDemo reports whether MarkDemo marked the store.
	IsDemo(ctx context.Context) (bool, error)
}
