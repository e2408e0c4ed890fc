package report

import (
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// Bucket is what one queue's calls did in one interval, summed by the
// store (the same fields as store.QueueBucket, so one converts to the other).
type Bucket struct {
	Queue                                        string
	Start                                        time.Time
	Offered, Answered, Abandoned, ShortAbandoned int
	OverflowedOut                                int
	AnsweredInSL                                 int
	Resolved, Transfers                          int
	WaitAnswered, Talk, LongestWait              float64
}

// Definitions are the formulas behind each figure, served beside them. A
// call's stay in one queue is a segment: a call that overflowed, was moved
// or was transferred to another queue is offered to each queue it visited,
// and each queue's figures use the wait in that queue only.
var Definitions = map[string]string{
	"offered":               "calls that entered the queue in the interval (by the time they entered); a call that visited several queues is offered to each",
	"answered":              "offered calls an agent answered from this queue",
	"abandoned":             "offered calls whose caller hung up in this queue after the short-abandon window",
	"short_abandoned":       "offered calls whose caller hung up in this queue within the short-abandon window",
	"overflowed_out":        "offered calls that left this queue for another: overflowed, moved by a supervisor or transferred to a queue",
	"service_level":         "answered within the queue's threshold (of the wait in this queue) / (offered − short_abandoned); null with no such calls",
	"abandonment_rate":      "abandoned / offered",
	"asa_seconds":           "total wait in this queue of answered calls / answered",
	"aht_seconds":           "(talk + hold + the queue's wrap-up) of answered calls / answered; a call answered in several queues charges its talk to the last",
	"longest_wait_seconds":  "the longest wait in this queue of any offered call",
	"transfers":             "transfer hops of the offered calls while in this queue (until they entered another)",
	"first_call_resolution": "answered calls whose caller did not call the same queue again within 7 days / answered",
}

// QueueRow is one queue's figures over one interval (or the whole range).
type QueueRow struct {
	Queue              string    `json:"queue"`
	IntervalStart      time.Time `json:"interval_start"`
	Offered            int       `json:"offered"`
	Answered           int       `json:"answered"`
	Abandoned          int       `json:"abandoned"`
	ShortAbandoned     int       `json:"short_abandoned"`
	OverflowedOut      int       `json:"overflowed_out"`
	ServiceLevel       *float64  `json:"service_level"`
	AbandonmentRate    *float64  `json:"abandonment_rate"`
	ASASeconds         float64   `json:"asa_seconds"`
	AHTSeconds         float64   `json:"aht_seconds"`
	LongestWaitSeconds float64   `json:"longest_wait_seconds"`
	Transfers          int       `json:"transfers"`
	// FCR is first-call resolution: answered calls whose caller did not
	// call the queue again within 7 days / answered (null with none).
	FCR *float64 `json:"first_call_resolution"`

	inSL               float64
	resolved           int
	waitAnswered, talk float64
	wrapUpSeconds      float64
}

// QueueParams are a queue's settings the report needs.
type QueueParams struct {
	// ServiceLevel is the answer-time threshold; WrapUp the after-call work per call.
	ServiceLevel, WrapUp time.Duration
}

// QueueReport is the result of a queue report.
type QueueReport struct {
	From                time.Time         `json:"from"`
	To                  time.Time         `json:"to"`
	Interval            string            `json:"interval"`
	ShortAbandonSeconds float64           `json:"short_abandon_seconds"`
	Rows                []QueueRow        `json:"rows"`
	Totals              []QueueRow        `json:"totals"`
	Definitions         map[string]string `json:"definitions"`
}

// BuildQueueReport turns the store's sums into rows: one per queue per
// interval of [from, to) (intervals without calls included, as zeros), and
// one total per queue.
func BuildQueueReport(from, to time.Time, interval time.Duration, queues []string, params map[string]QueueParams, shortAbandon time.Duration, buckets []Bucket) QueueReport {
	rep := QueueReport{From: from, To: to, Interval: interval.String(), ShortAbandonSeconds: shortAbandon.Seconds(), Definitions: Definitions,
		Rows: []QueueRow{}, Totals: []QueueRow{}}
	n := int((to.Sub(from) + interval - 1) / interval)
	byKey := map[string]map[int64]Bucket{}
	for _, b := range buckets {
		if byKey[b.Queue] == nil {
			byKey[b.Queue] = map[int64]Bucket{}
		}
		byKey[b.Queue][int64(b.Start.Sub(from)/interval)] = b
	}
	for _, q := range queues {
		wrap := params[q].WrapUp.Seconds()
		total := QueueRow{Queue: q, IntervalStart: from}
		for i := 0; i < n; i++ {
			b := byKey[q][int64(i)]
			row := QueueRow{Queue: q, IntervalStart: from.Add(time.Duration(i) * interval), Offered: b.Offered, Answered: b.Answered,
				Abandoned: b.Abandoned, ShortAbandoned: b.ShortAbandoned, OverflowedOut: b.OverflowedOut, LongestWaitSeconds: b.LongestWait,
				inSL: float64(b.AnsweredInSL), waitAnswered: b.WaitAnswered, talk: b.Talk, wrapUpSeconds: wrap,
				Transfers: b.Transfers, resolved: b.Resolved}
			row.derive()
			rep.Rows = append(rep.Rows, row)
			total.Offered += row.Offered
			total.Answered += row.Answered
			total.Abandoned += row.Abandoned
			total.ShortAbandoned += row.ShortAbandoned
			total.OverflowedOut += row.OverflowedOut
			total.inSL += row.inSL
			total.Transfers += row.Transfers
			total.resolved += row.resolved
			total.waitAnswered += row.waitAnswered
			total.talk += row.talk
			total.LongestWaitSeconds = max(total.LongestWaitSeconds, row.LongestWaitSeconds)
		}
		total.wrapUpSeconds = wrap
		total.derive()
		rep.Totals = append(rep.Totals, total)
	}
	return rep
}

// derive computes the ratios and averages from the sums.
func (r *QueueRow) derive() {
	if eligible := r.Offered - r.ShortAbandoned; eligible > 0 {
		sl := r.inSL / float64(eligible)
		ab := float64(r.Abandoned) / float64(r.Offered)
		r.ServiceLevel, r.AbandonmentRate = &sl, &ab
	}
	if r.Answered > 0 {
		fcr := float64(r.resolved) / float64(r.Answered)
		r.FCR = &fcr
		r.ASASeconds = r.waitAnswered / float64(r.Answered)
		r.AHTSeconds = (r.talk + r.wrapUpSeconds*float64(r.Answered)) / float64(r.Answered)
	}
}

// ShortAbandon is the short-abandon window of reports (DESIGN.md's default).
const ShortAbandon = 5 * time.Second

// SumFunc sums a setup's queue segments over [from, to) per queue and
// interval (the store's aggregate), given each queue's service-level
// threshold in seconds, a default, and the short-abandon window.
type SumFunc func(from, to time.Time, interval time.Duration, threshold map[string]float64, def, shortAbandon float64) ([]Bucket, error)

// Queues builds the queue report of a setup's queues.
func Queues(queues []config.Queue, from, to time.Time, interval time.Duration, sum SumFunc) (QueueReport, error) {
	names := make([]string, 0, len(queues))
	params := map[string]QueueParams{}
	threshold := map[string]float64{}
	for _, q := range queues {
		names = append(names, q.Name)
		params[q.Name] = QueueParams{ServiceLevel: q.ServiceLevel, WrapUp: q.WrapUp}
		threshold[q.Name] = q.ServiceLevel.Seconds()
	}
	bs, err := sum(from, to, interval, threshold, 20, ShortAbandon.Seconds())
	if err != nil {
		return QueueReport{}, err
	}
	return BuildQueueReport(from, to, interval, names, params, ShortAbandon, bs), nil
}
