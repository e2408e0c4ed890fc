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
	// WaitAnswered sums the queue wait of answered calls; Talk sums their
	// talk (and hold) time; LongestWait is over every offered call.
	WaitAnswered, Talk, LongestWait float64
}

const reportIndex = `CREATE INDEX IF NOT EXISTS calls_queued ON calls(queued_at) WHERE queued_at IS NOT NULL;`

// QueueBuckets sums queued calls per queue and interval over [from, to).
// threshold gives each queue's service-level threshold (seconds; def for
// queues not listed); shortAbandon is the short-abandon window in seconds.
// One aggregate query on the queued_at index: the rows never leave SQLite.
func (s *Store) QueueBuckets(ctx context.Context, from, to time.Time, interval time.Duration, threshold map[string]float64, def, shortAbandon float64) ([]QueueBucket, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("store: interval must be > 0")
	}
	// The threshold per queue, as a CASE expression with parameters.
	var tcase strings.Builder
	args := []any{}
	tcase.WriteString("CASE queue")
	for q, t := range threshold {
		tcase.WriteString(" WHEN ? THEN ?")
		args = append(args, q, t)
	}
	tcase.WriteString(" ELSE ? END")
	args = append(args, def)
	q := `SELECT queue, (queued_at - ?) / ? AS b,
  COUNT(*),
  SUM(connected_at IS NOT NULL),
  SUM(connected_at IS NULL AND outcome = 'abandoned' AND wait_seconds >= ?),
  SUM(connected_at IS NULL AND outcome = 'abandoned' AND wait_seconds < ?),
  SUM(connected_at IS NOT NULL AND wait_seconds <= ` + tcase.String() + `),
  TOTAL(CASE WHEN connected_at IS NOT NULL THEN wait_seconds END),
  TOTAL(CASE WHEN connected_at IS NOT NULL THEN talk_seconds END),
  MAX(wait_seconds)
FROM calls WHERE queued_at >= ? AND queued_at < ? AND queue != ''
GROUP BY queue, b ORDER BY queue, b`
	all := append([]any{ms(from), interval.Milliseconds(), shortAbandon, shortAbandon}, args...)
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
			&b.WaitAnswered, &b.Talk, &b.LongestWait); err != nil {
			return nil, fmt.Errorf("store: queue report: %w", err)
		}
		b.Start = from.Add(time.Duration(n) * interval)
		out = append(out, b)
	}
	return out, rows.Err()
}
