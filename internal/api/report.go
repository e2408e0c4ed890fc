package api

import (
	"context"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/report"
)

// maxReportRows bounds one report's size (queues × intervals).
const maxReportRows = 50000

// queueReport serves GET /api/v1/reports/queues?from=&to=&interval=30m:
// a row per queue per interval and a total per queue.
func (s *Server) queueReport(w http.ResponseWriter, r *http.Request) {
	if s.Reports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	qv := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339, qv.Get("from"))
	to, err2 := time.Parse(time.RFC3339, qv.Get("to"))
	if err1 != nil || err2 != nil || !to.After(from) {
		writeError(w, 400, "from and to: RFC 3339 times, from before to (e.g. from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z)")
		return
	}
	interval := 30 * time.Minute
	if v := qv.Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			writeError(w, 400, "interval: a duration of at least 1m, e.g. 15m, 30m, 60m")
			return
		}
		interval = d
	}
	if n := int64(to.Sub(from)/interval+1) * int64(len(s.cfg.Queues)); n > maxReportRows {
		writeError(w, 400, "too many rows: widen the interval or narrow the range")
		return
	}
	rep, err := report.Queues(s.cfg.Queues, from, to, interval, StoreSum(r.Context(), s.Reports))
	if err != nil {
		s.log.Error("api: queue report", "err", err)
		writeError(w, 500, "could not compute the report")
		return
	}
	writeJSON(w, 200, rep)
}

// StoreSum adapts the store's aggregate to the report package.
func StoreSum(ctx context.Context, rs ReportStore) report.SumFunc {
	return func(from, to time.Time, interval time.Duration, th map[string]float64, def, short float64) ([]report.Bucket, error) {
		buckets, err := rs.QueueBuckets(ctx, from, to, interval, th, def, short)
		bs := make([]report.Bucket, len(buckets))
		for i, b := range buckets {
			bs[i] = report.Bucket(b)
		}
		return bs, err
	}
}
