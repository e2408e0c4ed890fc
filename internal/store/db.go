package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Drivers the store runs on.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// db is the pool the store reads and writes through. Statements are
// written once, with ? placeholders and SQL both engines take; on
// PostgreSQL each is rebound to $1, $2, ... before it is sent.
type db struct {
	sql *sql.DB
	pg  bool
}

// q returns query as the engine takes it.
func (d *db) q(query string) string {
	if !d.pg {
		return query
	}
	return rebind(query)
}

// own is the condition that keeps a query to node's rows on a shared
// database (" AND <col> = ?", with node as its argument); on SQLite, the
// node's own, it is empty.
func (d *db) own(col, node string) (string, []any) {
	if !d.pg {
		return "", nil
	}
	return " AND " + col + " = ?", []any{node}
}

// nowMS is the database's clock in milliseconds since 1970: nodes
// compare heartbeats on one clock, not each on its own.
func (d *db) nowMS() string {
	if d.pg {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// greatest is the name of the scalar maximum of several values.
func (d *db) greatest() string {
	if d.pg {
		return "GREATEST"
	}
	return "MAX"
}

func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.sql.ExecContext(ctx, d.q(query), args...)
}

func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.sql.QueryContext(ctx, d.q(query), args...)
}

func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.sql.QueryRowContext(ctx, d.q(query), args...)
}

func (d *db) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.sql.PrepareContext(ctx, d.q(query))
}

func (d *db) BeginTx(ctx context.Context, opts *sql.TxOptions) (*tx, error) {
	t, err := d.sql.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &tx{Tx: t, db: d}, nil
}

func (d *db) Close() error { return d.sql.Close() }

// tx is a transaction of db; its statements are rebound like db's.
type tx struct {
	*sql.Tx
	db *db
}

func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.db.q(query), args...)
}

func (t *tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.db.q(query), args...)
}

func (t *tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.db.q(query))
}

func (t *tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.db.q(query), args...)
}

// rebind turns each ? placeholder of query into $1, $2, ... in order,
// leaving quoted strings, quoted names and comments as they are.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch c {
		case '\'', '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			if j >= len(query) {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : j+1])
			i = j
		case '-':
			if i+1 < len(query) && query[i+1] == '-' {
				j := strings.IndexByte(query[i:], '\n')
				if j < 0 {
					b.WriteString(query[i:])
					return b.String()
				}
				b.WriteString(query[i : i+j+1])
				i += j
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
