package store

import (
	"context"
	"fmt"
	"time"
)

// OutboxEntry is one event waiting for delivery to one webhook receiver:
// written in the same transaction as the event it carries, and marked
// done once the receiver has it (or delivery was given up), so a killed
// server delivers after its restart what it had not. Receiver and ID name
// the delivery: a receiver that gets one twice (the server died between
// its answer and the mark) sees the same ID both times.
type OutboxEntry struct {
	Receiver  string
	ID        string
	Body      []byte
	CreatedAt time.Time
}

type outboxDone struct {
	receiver, id string
	gaveUp       bool
	at           time.Time
}

// outboxKeep is how long delivered entries are kept before PruneOutbox
// deletes them.
const outboxKeep = 7 * 24 * time.Hour

// AppendEventWithOutbox writes an event and its webhook deliveries in one
// transaction.
func (s *Store) AppendEventWithOutbox(e Event, out []OutboxEntry) {
	if e.Node == "" {
		e.Node = s.node
	}
	s.send(op{event: &e, outbox: out})
}

// OutboxDone marks a delivery done: received, or given up.
func (s *Store) OutboxDone(receiver, id string, gaveUp bool) {
	s.send(op{done: &outboxDone{receiver: receiver, id: id, gaveUp: gaveUp, at: time.Now()}})
}

// PendingOutbox returns the node's deliveries not done, oldest first.
func (s *Store) PendingOutbox(ctx context.Context) ([]OutboxEntry, error) {
	own, args := s.db.own("node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT receiver, id, body, created_at FROM webhook_outbox WHERE done_at IS NULL`+own+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pending webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var at int64
		if err := rows.Scan(&e.Receiver, &e.ID, &e.Body, &at); err != nil {
			return nil, fmt.Errorf("store: pending webhook deliveries: %w", err)
		}
		e.CreatedAt = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneOutbox deletes deliveries done more than a week before now.
func (s *Store) PruneOutbox(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE done_at IS NOT NULL AND done_at < ?`, ms(now.Add(-outboxKeep)))
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// insertOutbox queues e for node to deliver.
func insertOutbox(ctx context.Context, tx execer, e OutboxEntry, node string) error {
	_, err := tx.ExecContext(ctx, qInsertOutbox,
		e.Receiver, e.ID, e.Body, ms(e.CreatedAt), node)
	return err
}

func markOutbox(ctx context.Context, tx execer, d outboxDone) error {
	gaveUp := 0
	if d.gaveUp {
		gaveUp = 1
	}
	_, err := tx.ExecContext(ctx, qMarkOutbox,
		ms(d.at), gaveUp, d.receiver, d.id)
	return err
}

// qInsertOutbox is run by the store's writer, prepared (stmt.go).
const qInsertOutbox = `INSERT INTO webhook_outbox (receiver, id, body, created_at, node) VALUES (?,?,?,?,?) ON CONFLICT (receiver, id) DO NOTHING`

// qMarkOutbox is run by the store's writer, prepared (stmt.go).
const qMarkOutbox = `UPDATE webhook_outbox SET done_at = ?, gave_up = ? WHERE receiver = ? AND id = ? AND done_at IS NULL`
