package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"
)

// pgEnv names a PostgreSQL server (the DSN of a superuser) to run the
// store's tests on instead of SQLite: scripts/test.sh runs them both ways.
const pgEnv = "SWITCHBOARD_TEST_POSTGRES"

// testOptions returns a fresh, empty database for one test: SQLite in a
// directory of the test's, or, with pgEnv set, a new PostgreSQL database
// dropped when the test ends. Opening the Options again opens the same
// database (a restart).
func testOptions(t testing.TB) Options {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		return Options{Dir: t.TempDir(), Node: "test"}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", pgEnv, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "sbtest_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		admin.Close()
	})
	u.Path = "/" + name
	return Options{Driver: DriverPostgres, DSN: u.String(), Node: "test"}
}

// onPostgres reports whether the tests run on PostgreSQL.
func onPostgres() bool { return os.Getenv(pgEnv) != "" }
