package network

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/guardian-network/guardian"
)

// Reloader holds the network in force and replaces it when asked to re-read
// the file. It does not watch the file: the hub calls [Reloader.Reload] on
// SIGHUP and from the administrators' endpoint, so that a half-saved file is
// never picked up by itself.
//
// It is safe for concurrent use. Code that routes a report takes the
// network once with [Reloader.Network] and uses that value throughout, so
// that a reload in the middle cannot mix two versions.
type Reloader struct {
	path string
	mu   sync.Mutex // serialises reloads, so each Change is against the network it replaces
	cur  atomic.Pointer[guardian.Network]
}

// NewReloader loads the network file at path. It fails, like [Load], if the
// file cannot be read or has problems: a hub must not start without a valid
// network.
func NewReloader(path string) (*Reloader, error) {
	n, err := Load(path)
	if err != nil {
		return nil, err
	}
	r := &Reloader{path: path}
	r.cur.Store(n)
	return r, nil
}

// Path returns the network file's path.
func (r *Reloader) Path() string { return r.path }

// Network returns the network in force.
func (r *Reloader) Network() *guardian.Network { return r.cur.Load() }

// Reload re-reads the file. If it is valid, it replaces the network in force
// and Reload returns what changed, for the audit log; an identical file
// changes nothing and returns a Change whose From equals its To. If it is
// not, the network in force stays and Reload returns the error (an
// [ErrorList] for problems in the file), which deserves an audit event of
// its own: someone tried to change the network.
func (r *Reloader) Reload() (Change, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	n, err := Load(r.path)
	if err != nil {
		return Change{}, err
	}
	if n.Digest == old.Digest {
		return Change{From: old.Digest, To: n.Digest}, nil
	}
	r.cur.Store(n)
	return Compare(old, n), nil
}

// Op is what happened to an agency or an agreement.
type Op string

const (
	Added   Op = "added"
	Removed Op = "removed"
	Changed Op = "changed"
)

// Modification is one agency or agreement that differs between two
// networks. Agreements are named by their agency's ID, which identifies them
// because each agency has one.
type Modification struct {
	ID   string
	Op   Op
	Keys []string // for Changed: the network-file keys whose values differ
}

// Change is the difference between two networks: what an audit event of a
// reload records. It names agencies, agreements and keys, never values:
// webhook URLs can hold secrets, and the file itself is the record of the
// values (its digest is in From and To).
type Change struct {
	From, To   string   // the networks' digests
	Hub        []string // the hub's keys whose values differ
	Agencies   []Modification
	Agreements []Modification
}

// Empty reports whether the two networks are the same for routing and
// delivery. The files may still differ in comments, order or layout, and
// then From and To differ.
func (c Change) Empty() bool {
	return len(c.Hub) == 0 && len(c.Agencies) == 0 && len(c.Agreements) == 0
}

// String summarises the change for a log line, such as
// "agency lo-lima added; agreement lo-lima added; agreement de-bka changed (countries)".
func (c Change) String() string {
	if c.Empty() {
		return "no change"
	}
	var parts []string
	if len(c.Hub) > 0 {
		parts = append(parts, fmt.Sprintf("hub changed (%s)", strings.Join(c.Hub, ", ")))
	}
	for _, set := range []struct {
		what string
		mods []Modification
	}{{"agency", c.Agencies}, {"agreement", c.Agreements}} {
		for _, m := range set.mods {
			s := fmt.Sprintf("%s %s %s", set.what, m.ID, m.Op)
			if len(m.Keys) > 0 {
				s += " (" + strings.Join(m.Keys, ", ") + ")"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// Compare returns what changed from old to new. Modifications are sorted by
// ID. Countries are compared as sets: listing them in another order changes
// nothing.
func Compare(old, new *guardian.Network) Change {
	c := Change{From: old.Digest, To: new.Digest}
	c.Hub = diffKeys([]keyDiff{
		{"id", old.Hub.ID == new.Hub.ID},
		{"name", old.Hub.Name == new.Hub.Name},
		{"country", old.Hub.Country == new.Hub.Country},
		{"handling-codes", slices.Equal(old.Hub.HandlingCodes, new.Hub.HandlingCodes)},
	})
	c.Agencies = compareByID(agencyMap(old), agencyMap(new), func(a, b *guardian.Agency) []string {
		return diffKeys([]keyDiff{
			{"name", a.Name == b.Name},
			{"kind", a.Kind == b.Kind},
			{"country", a.Country == b.Country},
			{"languages", slices.Equal(a.Languages, b.Languages)},
			{"duty.email", slices.Equal(a.Duty.Email, b.Duty.Email)},
			{"duty.webhook", a.Duty.Webhook == b.Duty.Webhook},
			{"recipients", slices.Equal(a.Recipients, b.Recipients)},
		})
	})
	c.Agreements = compareByID(agreementMap(old), agreementMap(new), func(a, b *guardian.Agreement) []string {
		return diffKeys([]keyDiff{
			{"channel", a.Channel == b.Channel},
			{"countries", slices.Equal(slices.Sorted(slices.Values(a.Countries)), slices.Sorted(slices.Values(b.Countries)))},
			{"data-scope", a.DataScope == b.DataScope},
			{"handling-code", a.HandlingCode == b.HandlingCode},
			{"acknowledge-within", maps.Equal(a.AcknowledgeWithin, b.AcknowledgeWithin)},
			{"retention", a.RetentionDays == b.RetentionDays},
			{"dispatch", a.Dispatch == b.Dispatch},
		})
	})
	return c
}

type keyDiff struct {
	key   string
	equal bool
}

func diffKeys(keys []keyDiff) []string {
	var out []string
	for _, k := range keys {
		if !k.equal {
			out = append(out, k.key)
		}
	}
	return out
}

func agencyMap(n *guardian.Network) map[string]*guardian.Agency {
	m := make(map[string]*guardian.Agency, len(n.Agencies))
	for _, a := range n.Agencies {
		m[a.ID] = a
	}
	return m
}

func agreementMap(n *guardian.Network) map[string]*guardian.Agreement {
	m := make(map[string]*guardian.Agreement, len(n.Agreements))
	for _, ag := range n.Agreements {
		m[ag.Agency] = ag
	}
	return m
}

func compareByID[T any](old, new map[string]T, keys func(a, b T) []string) []Modification {
	var mods []Modification
	for _, id := range slices.Sorted(maps.Keys(old)) {
		b, ok := new[id]
		if !ok {
			mods = append(mods, Modification{ID: id, Op: Removed})
		} else if k := keys(old[id], b); len(k) > 0 {
			mods = append(mods, Modification{ID: id, Op: Changed, Keys: k})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(new)) {
		if _, ok := old[id]; !ok {
			mods = append(mods, Modification{ID: id, Op: Added})
		}
	}
	slices.SortStableFunc(mods, func(a, b Modification) int { return strings.Compare(a.ID, b.ID) })
	return mods
}
