package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// execer runs a statement: a *sql.Tx, or a preparedTx that reuses what
// was prepared before.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// stmtCache keeps the writer's statements prepared: SQLite parses and
// compiles a statement each time it is run from its text, which was most
// of the cost of writing a call's events. database/sql keeps each
// statement prepared once per connection of the pool.
type stmtCache struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// writerQueries are the statements the writer runs.
var writerQueries = []string{qSaveCall, qInsertEvent, qInsertOutbox, qMarkOutbox, qUpsertSegment, qAlive}

// prepare readies the cache's statements before the writer starts: a
// statement prepared inside a transaction would need a second connection
// of the pool while the transaction may hold SQLite's write lock.
func (c *stmtCache) prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// preparedTx runs statements in tx from the cache, each bound to tx once.
type preparedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	bound map[string]*sql.Stmt
}

func newPreparedTx(tx *sql.Tx, c *stmtCache) *preparedTx {
	return &preparedTx{tx: tx, cache: c, bound: map[string]*sql.Stmt{}}
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := p.bound[query]
	if !ok {
		parent, err := p.cache.get(ctx, query)
		if err != nil {
			return nil, err
		}
		st = p.tx.StmtContext(ctx, parent)
		p.bound[query] = st
	}
	return st.ExecContext(ctx, args...)
}
