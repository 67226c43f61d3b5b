package sqlite_test

import (
	"testing"

	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

func TestStore(t *testing.T) { storetest.Run(t, storetest.SQLite) }

// TestStoreTxPerCall runs the behaviour suite without group commit, which
// the benchmarks compare against.
func TestStoreTxPerCall(t *testing.T) {
	b := storetest.SQLite
	b.Open = sqlite.OpenTxPerCall
	storetest.RunStoreTests(t, b.Opener())
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", "x.db?_txlock=deferred"} {
		if s, err := sqlite.Open(t.Context(), path, sqlstore.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

// BenchmarkStore measures write transactions per second, with group commit
// (as Open configures the store) and without.
func BenchmarkStore(b *testing.B) {
	b.Run("GroupCommit", func(b *testing.B) { storetest.RunBenchmarks(b, storetest.SQLite) })
	b.Run("TxPerCall", func(b *testing.B) {
		bk := storetest.SQLite
		bk.Open = sqlite.OpenTxPerCall
		storetest.RunBenchmarks(b, bk)
	})
}

// BenchmarkList measures an agency's inbox with a million referrals stored
// for it (issue 10): the first page and one deep in the cursor.
func BenchmarkList(b *testing.B) { storetest.RunListBenchmarks(b, storetest.SQLite, 1_000_000) }
