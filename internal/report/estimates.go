package report

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// WaitSample is one answered call's wait beside the wait it was told on
// joining the queue, read from its connected event.
type WaitSample struct {
	Queue string
	At    time.Time // when the agent answered
	// Wait and Estimate in seconds; Known is false when no estimate could
	// be given (nobody staffed the queue), and the caller heard none.
	Wait, Estimate float64
	Known          bool
}

// connectedDetail is the part of a connected event's detail that holds
// the wait and the estimate (call.Call.connected writes it).
var connectedDetail = regexp.MustCompile(`wait=([0-9.]+)s estimated=([0-9.]+)s known=(true|false)`)

// ParseWaitSample reads the wait and estimate from a connected event's
// detail; ok is false when it holds none (a call answered outside a queue).
func ParseWaitSample(queue string, at time.Time, detail string) (WaitSample, bool) {
	m := connectedDetail.FindStringSubmatch(detail)
	if m == nil {
		return WaitSample{}, false
	}
	wait, err1 := strconv.ParseFloat(m[1], 64)
	est, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil || queue == "" {
		return WaitSample{}, false
	}
	return WaitSample{Queue: queue, At: at, Wait: wait, Estimate: est, Known: m[3] == "true"}, true
}

// EstimateDefinitions are the formulas of the wait-estimate figures.
var EstimateDefinitions = map[string]string{
	"calls":                    "answered calls that were told an estimated wait on joining the queue (by the time they were answered)",
	"not_estimated":            "answered calls that joined with nobody staffing the queue, so were told no estimate",
	"median_abs_error_seconds": "the median over those calls of |estimated wait − the wait they then had in the queue|",
	"bias_seconds":             "the mean of (estimated − actual wait): above 0 the estimates were too long, below too short",
	"within_share":             "the share of those calls whose estimate was within 30 s or within 20 % of their wait, whichever is wider",
	"within_30s_or_20pct":      "the same as within_share",
}

// EstimateRow is one queue's wait-estimate accuracy over one day (or the
// whole range). The figures are null with no estimated call.
type EstimateRow struct {
	Queue                 string    `json:"queue"`
	Day                   time.Time `json:"day"`
	Calls                 int       `json:"calls"`
	NotEstimated          int       `json:"not_estimated"`
	MedianAbsErrorSeconds *float64  `json:"median_abs_error_seconds"`
	BiasSeconds           *float64  `json:"bias_seconds"`
	WithinShare           *float64  `json:"within_share"`
	// Within30sOr20pct is WithinShare by the name the API's contract gives it.
	Within30sOr20pct *float64 `json:"within_30s_or_20pct"`
}

// EstimateQueue is one queue's rows, one per day from the range's start
// (days without a call included), and its total.
type EstimateQueue struct {
	Queue string        `json:"queue"`
	Days  []EstimateRow `json:"days"`
	Total EstimateRow   `json:"total"`
	// The total's figures, at the queue's level too.
	Calls                 int      `json:"calls"`
	NotEstimated          int      `json:"not_estimated"`
	MedianAbsErrorSeconds *float64 `json:"median_abs_error_seconds"`
	BiasSeconds           *float64 `json:"bias_seconds"`
	Within30sOr20pct      *float64 `json:"within_30s_or_20pct"`
}

// WaitEstimates sums the samples into days of 24 h from from (to
// excluded), per queue, queues by name.
func WaitEstimates(samples []WaitSample, from, to time.Time) []EstimateQueue {
	const day = 24 * time.Hour
	days := int((to.Sub(from) + day - 1) / day)
	byQueue := map[string][][]WaitSample{}
	for _, s := range samples {
		i := int(s.At.Sub(from) / day)
		if s.At.Before(from) || !s.At.Before(to) || i >= days {
			continue
		}
		if byQueue[s.Queue] == nil {
			byQueue[s.Queue] = make([][]WaitSample, days)
		}
		byQueue[s.Queue][i] = append(byQueue[s.Queue][i], s)
	}
	names := make([]string, 0, len(byQueue))
	for q := range byQueue {
		names = append(names, q)
	}
	slices.Sort(names)
	out := make([]EstimateQueue, 0, len(names))
	for _, q := range names {
		eq := EstimateQueue{Queue: q}
		var all []WaitSample
		for i, ss := range byQueue[q] {
			eq.Days = append(eq.Days, estimateRow(q, from.Add(time.Duration(i)*day), ss))
			all = append(all, ss...)
		}
		eq.Total = estimateRow(q, from, all)
		t := eq.Total
		eq.Calls, eq.NotEstimated, eq.MedianAbsErrorSeconds, eq.BiasSeconds, eq.Within30sOr20pct = t.Calls, t.NotEstimated, t.MedianAbsErrorSeconds, t.BiasSeconds, t.WithinShare
		out = append(out, eq)
	}
	return out
}

func estimateRow(queue string, start time.Time, ss []WaitSample) EstimateRow {
	r := EstimateRow{Queue: queue, Day: start}
	var (
		abs          []float64
		bias, within float64
	)
	for _, s := range ss {
		if !s.Known {
			r.NotEstimated++
			continue
		}
		e := s.Estimate - s.Wait
		abs = append(abs, math.Abs(e))
		bias += e
		if math.Abs(e) <= max(30, 0.2*s.Wait) {
			within++
		}
	}
	r.Calls = len(abs)
	if r.Calls == 0 {
		return r
	}
	slices.Sort(abs)
	med := abs[len(abs)/2]
	if len(abs)%2 == 0 {
		med = (abs[len(abs)/2-1] + abs[len(abs)/2]) / 2
	}
	b, w := bias/float64(r.Calls), within/float64(r.Calls)
	r.MedianAbsErrorSeconds, r.BiasSeconds, r.WithinShare, r.Within30sOr20pct = &med, &b, &w, &w
	return r
}
