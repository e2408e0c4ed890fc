package store

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/store/storetest"
)

// engineEnv=postgres runs the store's tests on PostgreSQL (the server
// storetest.Env names) instead of SQLite: scripts/test.sh runs them both
// ways. The tests of what only PostgreSQL has (the cluster) run whenever
// there is a server.
const engineEnv = "SWITCHBOARD_TEST_STORE"

// testOptions returns a fresh, empty database for one test: SQLite in a
// directory of the test's, or, on PostgreSQL, a new database
// dropped when the test ends. Opening the Options again opens the same
// database (a restart).
func testOptions(t testing.TB) Options {
	t.Helper()
	if !onPostgres() {
		return Options{Dir: t.TempDir(), Node: "test"}
	}
	return Options{Driver: DriverPostgres, DSN: storetest.Postgres(t), Node: "test"}
}

// onPostgres reports whether the tests run on PostgreSQL.
func onPostgres() bool { return os.Getenv(engineEnv) == "postgres" }
