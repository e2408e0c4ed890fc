package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// QueueBucket is what one queue's segments did in one interval, summed. A
// segment (a call's stay in a queue) belongs to the interval in which it
// entered the queue; a call that visited two queues counts in both.
type QueueBucket struct {
	Queue string
	Start time.Time
	// Offered entered the queue; ShortAbandoned hung up within the
	// short-abandon window (excluded from service level and abandonment).
	Offered, Answered, Abandoned, ShortAbandoned int
	// OverflowedOut left the queue for another (overflowed, moved,
	// transferred).
	OverflowedOut int
	// AnsweredInSL were answered within the queue's threshold.
	AnsweredInSL int
	// Resolved were answered calls whose caller did not call the same
	// queue again within the FCR window; Transfers counts transfer hops.
	Resolved, Transfers int
	// WaitAnswered sums the queue wait of answered segments; Talk sums
	// their calls' talk (and hold) time, charged to the call's last answered
	// segment; LongestWait is over every offered segment.
	WaitAnswered, Talk, LongestWait float64
}

// QueueBuckets sums queue segments per queue and interval over [from, to).
// threshold gives each queue's service-level threshold (seconds; def for
// queues not listed); shortAbandon is the short-abandon window in seconds.
// One aggregate query on the segments' entered_at index: the rows never
// leave the database.
func (s *Store) QueueBuckets(ctx context.Context, from, to time.Time, interval time.Duration, threshold map[string]float64, def, shortAbandon float64) ([]QueueBucket, error) {
	const fcrWindow = 7 * 24 * time.Hour
	if interval <= 0 {
		return nil, fmt.Errorf("store: interval must be > 0")
	}
	// The threshold per queue, as a CASE expression with parameters.
	var tcase strings.Builder
	args := []any{}
	if len(threshold) == 0 {
		tcase.WriteString("CAST(? AS DOUBLE PRECISION)")
	} else {
		tcase.WriteString("CASE s.queue")
		for q, t := range threshold {
			tcase.WriteString(" WHEN ? THEN CAST(? AS DOUBLE PRECISION)")
			args = append(args, q, t)
		}
		tcase.WriteString(" ELSE CAST(? AS DOUBLE PRECISION) END")
	}
	args = append(args, def)
	// SQL both engines take: a count is SUM(CASE ... THEN 1 ELSE 0 END), a
	// sum of nothing COALESCE(SUM(...), 0).
	q := `SELECT s.queue, (s.entered_at - ?) / ? AS b,
  COUNT(*),
  SUM(CASE WHEN s.how = 'answered' THEN 1 ELSE 0 END),
  SUM(CASE WHEN s.how = 'abandoned' AND s.wait_seconds >= ? THEN 1 ELSE 0 END),
  SUM(CASE WHEN s.how = 'abandoned' AND s.wait_seconds < ? THEN 1 ELSE 0 END),
  SUM(CASE WHEN s.how IN ('overflowed', 'moved', 'transferred') THEN 1 ELSE 0 END),
  SUM(CASE WHEN s.how = 'answered' AND s.wait_seconds <= ` + tcase.String() + ` THEN 1 ELSE 0 END),
  COALESCE(SUM(CASE WHEN s.how = 'answered' THEN s.wait_seconds END), 0),
  COALESCE(SUM(CASE WHEN s.how = 'answered' AND NOT EXISTS (SELECT 1 FROM queue_segments l WHERE l.call_id = s.call_id
      AND l.seq > s.seq AND l.how = 'answered') THEN c.talk_seconds END), 0),
  MAX(s.wait_seconds),
  SUM(CASE WHEN s.how = 'answered' AND c.caller != '' AND NOT EXISTS (SELECT 1 FROM calls c2 JOIN queue_segments s2 ON s2.call_id = c2.id
      WHERE c2.caller = c.caller AND s2.queue = s.queue AND c2.arrived_at > c.arrived_at AND c2.arrived_at <= c.arrived_at + ?) THEN 1 ELSE 0 END)
FROM queue_segments s LEFT JOIN calls c ON c.id = s.call_id
WHERE s.entered_at >= ? AND s.entered_at < ? AND s.queue != ''
GROUP BY s.queue, b ORDER BY s.queue, b`
	all := append([]any{ms(from), interval.Milliseconds(), shortAbandon, shortAbandon}, args...)
	all = append(all, fcrWindow.Milliseconds())
	all = append(all, ms(from), ms(to))
	rows, err := s.db.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("store: queue report: %w", err)
	}
	defer rows.Close()
	var out []QueueBucket
	index := map[string]map[int64]int{} // queue → bucket number → index in out
	for rows.Next() {
		var (
			b QueueBucket
			n int64
		)
		if err := rows.Scan(&b.Queue, &n, &b.Offered, &b.Answered, &b.Abandoned, &b.ShortAbandoned, &b.OverflowedOut, &b.AnsweredInSL,
			&b.WaitAnswered, &b.Talk, &b.LongestWait, &b.Resolved); err != nil {
			return nil, fmt.Errorf("store: queue report: %w", err)
		}
		b.Start = from.Add(time.Duration(n) * interval)
		if index[b.Queue] == nil {
			index[b.Queue] = map[int64]int{}
		}
		index[b.Queue][n] = len(out)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Transfer hops, each charged to the segment the call was in when it
	// happened (from its entry to the next segment's).
	trows, err := s.db.QueryContext(ctx, `SELECT s.queue, (s.entered_at - ?) / ? AS b, COUNT(*) FROM queue_segments s
		JOIN events e ON e.call_id = s.call_id AND e.kind = ? AND e.at >= s.entered_at
		LEFT JOIN queue_segments nx ON nx.call_id = s.call_id AND nx.seq = s.seq + 1
		WHERE s.entered_at >= ? AND s.entered_at < ? AND s.queue != '' AND (nx.entered_at IS NULL OR e.at < nx.entered_at)
		GROUP BY s.queue, b`,
		ms(from), interval.Milliseconds(), event.Transfer, ms(from), ms(to))
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
		if i, ok := index[queue][n]; ok {
			out[i].Transfers = count
		}
	}
	return out, trows.Err()
}

// StateChange is one agent state change (an agent_state event).
type StateChange struct {
	Agent string
	At    time.Time
	// State is the state entered; Reason why (an away reason), if any.
	State, Reason string
}

// AgentStateChanges lists agent state changes in [from−lookback, to), by
// agent then time: enough to know each agent's state at from.
func (s *Store) AgentStateChanges(ctx context.Context, from, to time.Time, lookback time.Duration) ([]StateChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT agent, at, kind, state, reason, detail FROM events
		WHERE kind = ? AND at >= ? AND at < ? ORDER BY agent, at, seq`, event.AgentState, ms(from.Add(-lookback)), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: agent states: %w", err)
	}
	defer rows.Close()
	var out []StateChange
	for rows.Next() {
		var (
			e  Event
			at int64
		)
		if err := rows.Scan(&e.Agent, &at, &e.Kind, &e.State, &e.Reason, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: agent states: %w", err)
		}
		state, reason, ok := e.AgentState()
		if !ok {
			continue
		}
		out = append(out, StateChange{Agent: e.Agent, At: time.UnixMilli(at), State: state, Reason: reason})
	}
	return out, rows.Err()
}

// AgentCalls sums, per agent, the calls answered in [from, to) (by the
// time the agent answered) and their talk time.
func (s *Store) AgentCalls(ctx context.Context, from, to time.Time) (map[string][2]float64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT agent, COUNT(*), COALESCE(SUM(talk_seconds), 0) FROM calls
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

// EventsOfKind returns the events of kind in [from, to), in order, each
// with its queue, time and detail: what the reports read from the
// timelines (the connected events' waits and estimates, the IVR's steps).
func (s *Store) EventsOfKind(ctx context.Context, kind event.Kind, from, to time.Time) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT queue, at, detail FROM events WHERE kind = ? AND at >= ? AND at < ? ORDER BY at, seq`,
		kind, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: %s events: %w", kind, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{Kind: kind}
		var at int64
		if err := rows.Scan(&e.Queue, &at, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: %s events: %w", kind, err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
