package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Softphone is where an agent's browser softphone is connected: the node
// and that node's HTTP address.
type Softphone struct {
	Agent, Node, HTTP string
}

// SaveSoftphone notes that agent's desktop connected its softphone with
// node (replacing any other node's row: the desktop keeps one).
func (s *Store) SaveSoftphone(ctx context.Context, agent, node string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO softphones (agent, node, since) VALUES (?,?,?)
 ON CONFLICT (agent) DO UPDATE SET node = excluded.node, since = excluded.since`, agent, node, ms(at))
	if err != nil {
		return fmt.Errorf("store: softphone of %s: %w", agent, err)
	}
	return nil
}

// DeleteSoftphone removes agent's softphone row if node still holds it.
func (s *Store) DeleteSoftphone(ctx context.Context, agent, node string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM softphones WHERE agent = ? AND node = ?`, agent, node); err != nil {
		return fmt.Errorf("store: softphone of %s: %w", agent, err)
	}
	return nil
}

// ClearSoftphones removes node's rows (it starts: no desktop is connected).
func (s *Store) ClearSoftphones(ctx context.Context, node string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM softphones WHERE node = ?`, node); err != nil {
		return fmt.Errorf("store: softphones of %s: %w", node, err)
	}
	return nil
}

// LookupSoftphone returns where agent's softphone is connected, if on a
// node whose heartbeat is more recent than aliveWithin (by the database's
// clock) and which has not stopped or been found lost.
func (s *Store) LookupSoftphone(ctx context.Context, agent string, aliveWithin time.Duration) (Softphone, bool, error) {
	p := Softphone{Agent: agent}
	err := s.db.QueryRowContext(ctx, `SELECT p.node, n.http FROM softphones p JOIN cluster_nodes n ON n.name = p.node
 WHERE p.agent = ? AND n.beat_at > `+s.db.nowMS()+` - ? AND n.stopped_at IS NULL AND n.lost_at IS NULL`,
		agent, aliveWithin.Milliseconds()).Scan(&p.Node, &p.HTTP)
	if errors.Is(err, sql.ErrNoRows) {
		return Softphone{}, false, nil
	}
	if err != nil {
		return Softphone{}, false, fmt.Errorf("store: softphone of %s: %w", agent, err)
	}
	return p, true, nil
}

// CallHolder is the node whose record a call is, while that node is alive:
// its name and HTTP address, and whether the call has ended.
type CallHolder struct {
	Node, HTTP string
	Ended      bool
}

// LookupCallHolder returns the node of call id's record if that node's
// heartbeat is more recent than aliveWithin and it has not stopped or
// been found lost (found false: no such call, or its node is not alive).
func (s *Store) LookupCallHolder(ctx context.Context, id string, aliveWithin time.Duration) (CallHolder, bool, error) {
	var (
		h     CallHolder
		ended sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT c.node, n.http, c.ended_at FROM calls c JOIN cluster_nodes n ON n.name = c.node
 WHERE c.id = ? AND n.beat_at > `+s.db.nowMS()+` - ? AND n.stopped_at IS NULL AND n.lost_at IS NULL`,
		id, aliveWithin.Milliseconds()).Scan(&h.Node, &h.HTTP, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return CallHolder{}, false, nil
	}
	if err != nil {
		return CallHolder{}, false, fmt.Errorf("store: the node of call %s: %w", id, err)
	}
	h.Ended = ended.Valid
	return h, true, nil
}
