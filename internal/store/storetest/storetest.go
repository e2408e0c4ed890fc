// Package storetest gives tests a database of their own on the PostgreSQL
// server the test command starts (scripts/test.sh, scripts/pg-temp.sh).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Env names the PostgreSQL server (the DSN of a superuser) tests may
// create databases on; unset, tests that need PostgreSQL skip.
const Env = "SWITCHBOARD_TEST_POSTGRES"

// Enabled reports whether Env is set.
func Enabled() bool { return os.Getenv(Env) != "" }

// Postgres creates an empty database for t on the server Env names, drops
// it when t ends, and returns its DSN; t is skipped when Env is unset.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		t.Skip("needs PostgreSQL: set " + Env + " (scripts/test.sh does)")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
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
	return u.String()
}
