package postgres_test

import (
	"os"
	"testing"

	"github.com/guardian-network/guardian/storetest"
)

// skipUnlessConfigured skips tb unless GUARDIAN_TEST_POSTGRES names a
// database, once rather than in every subtest.
func skipUnlessConfigured(tb testing.TB) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			tb.Fatalf("%s is not set", storetest.PostgresEnv)
		}
		tb.Skipf("%s is not set", storetest.PostgresEnv)
	}
}

func TestStore(t *testing.T) {
	skipUnlessConfigured(t)
	storetest.Run(t, storetest.Postgres)
}

func BenchmarkStore(b *testing.B) {
	skipUnlessConfigured(b)
	storetest.RunBenchmarks(b, storetest.Postgres)
}

// BenchmarkList measures an agency's inbox with a million referrals stored
// for it (issue 10): the first page and one deep in the cursor.
func BenchmarkList(b *testing.B) {
	skipUnlessConfigured(b)
	storetest.RunListBenchmarks(b, storetest.Postgres, 1_000_000)
}
