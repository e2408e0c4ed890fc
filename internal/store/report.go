package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// QueueBucket is what one queue's calls did in one interval, summed. Calls
// belong to the interval in which they entered the queue.
type QueueBucket struct {
	Queue string
	Start time.Time
	// Offered entered the queue; ShortAbandoned hung up within the
	// short-abandon window (excluded from service level and abandonment).
	Offered, Answered, Abandoned, ShortAbandoned int
	// AnsweredInSL were answered within the queue's threshold.
	AnsweredInSL int
	// Resolved were answered calls whose caller did not call the same
	// queue again within the FCR window; Transfers counts transfer hops.
	Resolved, Transfers int
	// WaitAnswered sums the queue wait of answered calls; Talk sums their
	// talk (and hold) time; LongestWait is over every offered call.
	WaitAnswered, Talk, LongestWait float64
}

const reportIndex = `CREATE INDEX IF NOT EXISTS calls_queued ON calls(queued_at) WHERE queued_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_connected ON calls(connected_at) WHERE connected_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at);`

// QueueBuckets sums queued calls per queue and interval over [from, to).
// threshold gives each queue's service-level threshold (seconds; def for
// queues not listed); shortAbandon is the short-abandon window in seconds.
// One aggregate query on the queued_at index: the rows never leave SQLite.
func (s *Store) QueueBuckets(ctx context.Context, from, to time.Time, interval time.Duration, threshold map[string]float64, def, shortAbandon float64) ([]QueueBucket, error) {
	const fcrWindow = 7 * 24 * time.Hour
	if interval <= 0 {
		return nil, fmt.Errorf("store: interval must be > 0")
	}
	// The threshold per queue, as a CASE expression with parameters.
	var tcase strings.Builder
	args := []any{}
	if len(threshold) == 0 {
		tcase.WriteString("?")
	} else {
		tcase.WriteString("CASE queue")
		for q, t := range threshold {
			tcase.WriteString(" WHEN ? THEN ?")
			args = append(args, q, t)
		}
		tcase.WriteString(" ELSE ? END")
	}
	args = append(args, def)
	q := `SELECT queue, (queued_at - ?) / ? AS b,
  COUNT(*),
  SUM(connected_at IS NOT NULL),
  SUM(connected_at IS NULL AND outcome = 'abandoned' AND wait_seconds >= ?),
  SUM(connected_at IS NULL AND outcome = 'abandoned' AND wait_seconds < ?),
  SUM(connected_at IS NOT NULL AND wait_seconds <= ` + tcase.String() + `),
  TOTAL(CASE WHEN connected_at IS NOT NULL THEN wait_seconds END),
  TOTAL(CASE WHEN connected_at IS NOT NULL THEN talk_seconds END),
  MAX(wait_seconds),
  SUM(connected_at IS NOT NULL AND caller != '' AND NOT EXISTS (SELECT 1 FROM calls c2 WHERE c2.caller = calls.caller AND c2.queue = calls.queue
      AND c2.arrived_at > calls.arrived_at AND c2.arrived_at <= calls.arrived_at + ?))
FROM calls WHERE queued_at >= ? AND queued_at < ? AND queue != ''
GROUP BY queue, b ORDER BY queue, b`
	all := append([]any{ms(from), interval.Milliseconds(), shortAbandon, shortAbandon}, args...)
	all = append(all, fcrWindow.Milliseconds())
	all = append(all, ms(from), ms(to))
	rows, err := s.db.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("store: queue report: %w", err)
	}
	defer rows.Close()
	var out []QueueBucket
	for rows.Next() {
		var (
			b QueueBucket
			n int64
		)
		if err := rows.Scan(&b.Queue, &n, &b.Offered, &b.Answered, &b.Abandoned, &b.ShortAbandoned, &b.AnsweredInSL,
			&b.WaitAnswered, &b.Talk, &b.LongestWait, &b.Resolved); err != nil {
			return nil, fmt.Errorf("store: queue report: %w", err)
		}
		b.Start = from.Add(time.Duration(n) * interval)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Transfer hops of the calls, by the same queue and interval.
	trows, err := s.db.QueryContext(ctx, `SELECT c.queue, (c.queued_at - ?) / ? AS b, COUNT(*) FROM events e JOIN calls c ON c.id = e.call_id
		WHERE e.kind = 'transfer' AND c.queued_at >= ? AND c.queued_at < ? AND c.queue != '' GROUP BY c.queue, b`,
		ms(from), interval.Milliseconds(), ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: queue report transfers: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var (
			queue string
			n     int64
			count int
		)
		if err := trows.Scan(&queue, &n, &count); err != nil {
			return nil, fmt.Errorf("store: queue report transfers: %w", err)
		}
		start := from.Add(time.Duration(n) * interval)
		for i := range out {
			if out[i].Queue == queue && out[i].Start.Equal(start) {
				out[i].Transfers = count
			}
		}
	}
	return out, trows.Err()
}

// StateChange is one agent state change (an agent_state event).
type StateChange struct {
	Agent string
	At    time.Time
	// State is the state entered (the event's detail up to a ":" reason).
	State string
}

// AgentStateChanges lists agent state changes in [from−lookback, to), by
// agent then time: enough to know each agent's state at from.
func (s *Store) AgentStateChanges(ctx context.Context, from, to time.Time, lookback time.Duration) ([]StateChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT agent, at, detail FROM events
		WHERE kind = 'agent_state' AND at >= ? AND at < ? ORDER BY agent, at, seq`, ms(from.Add(-lookback)), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: agent states: %w", err)
	}
	defer rows.Close()
	var out []StateChange
	for rows.Next() {
		var (
			c      StateChange
			at     int64
			detail string
		)
		if err := rows.Scan(&c.Agent, &at, &detail); err != nil {
			return nil, fmt.Errorf("store: agent states: %w", err)
		}
		if strings.Contains(detail, ":extended") { // wrap-up extended: no change of state
			continue
		}
		c.State, _, _ = strings.Cut(detail, ":")
		c.At = time.UnixMilli(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AgentCalls sums, per agent, the calls answered in [from, to) (by the
// time the agent answered) and their talk time.
func (s *Store) AgentCalls(ctx context.Context, from, to time.Time) (map[string][2]float64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT agent, COUNT(*), TOTAL(talk_seconds) FROM calls
		WHERE connected_at >= ? AND connected_at < ? AND agent != '' GROUP BY agent`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: agent calls: %w", err)
	}
	defer rows.Close()
	out := map[string][2]float64{}
	for rows.Next() {
		var (
			agent string
			n     int
			talk  float64
		)
		if err := rows.Scan(&agent, &n, &talk); err != nil {
			return nil, fmt.Errorf("store: agent calls: %w", err)
		}
		out[agent] = [2]float64{float64(n), talk}
	}
	return out, rows.Err()
}
