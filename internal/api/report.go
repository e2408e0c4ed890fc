package api

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/event"
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
	if n := int64(to.Sub(from)/interval+1) * int64(len(s.config().Queues)); n > maxReportRows {
		writeError(w, 400, "too many rows: widen the interval or narrow the range")
		return
	}
	rep, err := report.Queues(s.config().Queues, from, to, interval, StoreSum(r.Context(), s.Reports))
	if err != nil {
		s.log.Error("api: queue report", "err", err)
		writeError(w, 500, "could not compute the report")
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		queueReportCSV(w, rep)
		return
	}
	writeJSON(w, 200, rep)
}

// StoreSum adapts the store's aggregate (of queue segments) to the report package.
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

// agentReport serves GET /api/v1/reports/agents?from=&to=: per agent the
// calls answered, talk, AHT, time in each state and occupancy.
func (s *Server) agentReport(w http.ResponseWriter, r *http.Request) {
	if s.Reports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	if now := time.Now(); to.After(now) {
		to = now // the future has no state yet
	}
	if !to.After(from) {
		writeError(w, 400, "from: in the future")
		return
	}
	rows, err := s.agentRows(r.Context(), from, to)
	if err != nil {
		s.log.Error("api: agent report", "err", err)
		writeError(w, 500, "could not read agent states and calls")
		return
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "rows": rows, "definitions": report.AgentDefinitions})
}

// agentRows is the agent report's rows from from to to, one per agent of
// the setup.
func (s *Server) agentRows(ctx context.Context, from, to time.Time) ([]report.AgentRow, error) {
	changes, err := s.Reports.AgentStateChanges(ctx, from, to, 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	calls, err := s.Reports.AgentCalls(ctx, from, to)
	if err != nil {
		return nil, err
	}
	sc := make([]report.StateChange, len(changes))
	for i, c := range changes {
		sc[i] = report.StateChange(c)
	}
	agents := make([]string, 0, len(s.config().Agents))
	for _, a := range s.config().Agents {
		agents = append(agents, a.Extension)
	}
	return report.BuildAgentReport(from, to, agents, sc, calls), nil
}

// reportRange reads a report's from and to (RFC 3339, at most a year
// apart), answering 400 when they are not.
func reportRange(w http.ResponseWriter, r *http.Request) (from, to time.Time, ok bool) {
	qv := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339, qv.Get("from"))
	to, err2 := time.Parse(time.RFC3339, qv.Get("to"))
	if err1 != nil || err2 != nil || !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		writeError(w, 400, "from and to: RFC 3339 times, from before to, at most a year apart")
		return time.Time{}, time.Time{}, false
	}
	return from, to, true
}

// ivrReport answers GET /api/v1/reports/ivr?from=&to=&flow=: each flow's
// steps (calls that entered, the share of each option, timeouts, invalid
// keys, hang-ups, median and 90th percentile time in the step) and where
// its calls ended (the funnel).
func (s *Server) ivrReport(w http.ResponseWriter, r *http.Request) {
	if s.Reports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	evs, err := s.Reports.EventsOfKind(r.Context(), event.IVRStep, from, to)
	if err != nil {
		s.log.Error("api: IVR report", "err", err)
		writeError(w, 500, "could not read the IVR's steps")
		return
	}
	only := r.URL.Query().Get("flow")
	visits := make([]report.IVRVisit, 0, len(evs))
	for _, e := range evs {
		if d, ok := report.ParseIVRStep(e.Detail); ok && (only == "" || d.Flow == only) {
			visits = append(visits, report.IVRVisit{At: e.At, IVRStepDetail: d})
		}
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "flows": report.IVR(visits), "definitions": report.IVRDefinitions})
}

// waitEstimateReport answers GET /api/v1/reports/wait-estimates?from=&to=:
// per queue and per day (24 h from from), how close the wait announced to
// each caller on joining came to the wait they then had.
func (s *Server) waitEstimateReport(w http.ResponseWriter, r *http.Request) {
	if s.Reports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	evs, err := s.Reports.EventsOfKind(r.Context(), event.Connected, from, to) // a call answered outside a queue has no estimate: ParseWaitSample skips it
	if err != nil {
		s.log.Error("api: wait estimates", "err", err)
		writeError(w, 500, "could not read the answered calls")
		return
	}
	samples := make([]report.WaitSample, 0, len(evs))
	for _, e := range evs {
		if ws, ok := report.ParseWaitSample(e.Queue, e.At, e.Detail); ok {
			samples = append(samples, ws)
		}
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "queues": report.WaitEstimates(samples, from, to),
		"definitions": report.EstimateDefinitions})
}

// queueReportCSV writes a queue report as CSV (format=csv).
func queueReportCSV(w http.ResponseWriter, rep report.QueueReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="queues.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"queue", "interval_start", "offered", "answered", "abandoned", "short_abandoned", "overflowed_out", "service_level",
		"abandonment_rate", "asa_seconds", "aht_seconds", "longest_wait_seconds"})
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	row := func(r report.QueueRow, when string) {
		_ = cw.Write([]string{r.Queue, when, strconv.Itoa(r.Offered), strconv.Itoa(r.Answered), strconv.Itoa(r.Abandoned),
			strconv.Itoa(r.ShortAbandoned), strconv.Itoa(r.OverflowedOut), opt(r.ServiceLevel), opt(r.AbandonmentRate), f(r.ASASeconds), f(r.AHTSeconds), f(r.LongestWaitSeconds)})
	}
	for _, r := range rep.Rows {
		row(r, r.IntervalStart.UTC().Format(time.RFC3339))
	}
	for _, r := range rep.Totals {
		row(r, "total")
	}
	cw.Flush()
}
