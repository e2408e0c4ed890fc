package store

import (
	"context"
	"database/sql"
	"fmt"
)

// execer runs a statement: a *sql.Tx, or a preparedTx that reuses what
// was prepared before.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// stmtCache keeps the writer's statements prepared: SQLite parses and
// compiles a statement each time it is run from its text, which was most
// of the cost of writing a call's events. database/sql keeps each
// statement prepared once per connection of the pool. The statements are
// prepared at Open, before the writer starts (preparing inside the
// writer's transaction would need a second connection of the pool while
// the transaction may hold SQLite's write lock), and never change after.
type stmtCache struct {
	stmts map[string]*sql.Stmt
}

// writerQueries are the statements the writer runs.
var writerQueries = []string{qSaveCall, qInsertEvent, qInsertOutbox, qMarkOutbox, qUpsertSegment, qAlive}

func prepareStmts(ctx context.Context, db *db, queries ...string) (stmtCache, error) {
	c := stmtCache{stmts: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return stmtCache{}, fmt.Errorf("prepare: %w", err)
		}
		c.stmts[q] = st
	}
	return c, nil
}

func (c *stmtCache) close() {
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// preparedTx runs statements in tx, each of the cache's bound to tx once;
// another statement runs from its text.
type preparedTx struct {
	tx    *tx
	cache *stmtCache
	bound map[string]*sql.Stmt
}

func newPreparedTx(tx *tx, c *stmtCache) *preparedTx {
	return &preparedTx{tx: tx, cache: c, bound: map[string]*sql.Stmt{}}
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := p.bound[query]
	if !ok {
		parent, prepared := p.cache.stmts[query]
		if !prepared {
			return p.tx.ExecContext(ctx, query, args...)
		}
		st = p.tx.StmtContext(ctx, parent)
		p.bound[query] = st
	}
	return st.ExecContext(ctx, args...)
}
