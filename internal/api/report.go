package api

import (
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/report"
)

// maxReportRows bounds one report's size (queues × intervals).
const maxReportRows = 50000

// shortAbandon is the short-abandon window of reports (DESIGN.md default).
const shortAbandon = 5 * time.Second

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
	queues := make([]string, 0, len(s.cfg.Queues))
	params := map[string]report.QueueParams{}
	threshold := map[string]float64{}
	for _, q := range s.cfg.Queues {
		queues = append(queues, q.Name)
		params[q.Name] = report.QueueParams{ServiceLevel: q.ServiceLevel, WrapUp: q.WrapUp}
		threshold[q.Name] = q.ServiceLevel.Seconds()
	}
	if n := int64(to.Sub(from)/interval+1) * int64(len(queues)); n > maxReportRows {
		writeError(w, 400, "too many rows: widen the interval or narrow the range")
		return
	}
	buckets, err := s.Reports.QueueBuckets(r.Context(), from, to, interval, threshold, 20, shortAbandon.Seconds())
	if err != nil {
		s.log.Error("api: queue report", "err", err)
		writeError(w, 500, "could not compute the report")
		return
	}
	bs := make([]report.Bucket, len(buckets))
	for i, b := range buckets {
		bs[i] = report.Bucket(b)
	}
	writeJSON(w, 200, report.BuildQueueReport(from, to, interval, queues, params, shortAbandon, bs))
}
