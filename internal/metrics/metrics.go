// Package metrics exposes Switchboard's live figures to Prometheus. It
// reads them at scrape time from the parts that own them (calls, media, SIP,
// ACD) through plain functions, so those parts never import Prometheus.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// QueueState is one queue's live load.
type QueueState struct {
	Name               string
	Waiting            int
	LongestWaitSeconds float64
}

// Sources are the readers of every figure.
type Sources struct {
	ActiveCalls  func() int
	MediaLegs    func() int64
	CallOutcomes func() map[string]uint64
	SIPRequests  func() map[string]uint64
	SIPResponses func() map[int]uint64
	Queues       func() []QueueState
	AgentStates  func() map[string]int
	// RTP counters: packets in, out, lost (sequence gaps), late pacer ticks,
	// dropped from a wrong source, dropped as malformed.
	RTP func() (in, out, lost, late, wrongSource, malformed uint64)
}

type collector struct {
	s Sources

	activeCalls, mediaLegs, calls, sipReq, sipRes                 *prometheus.Desc
	queueWaiting, queueLongest, agents                            *prometheus.Desc
	rtpIn, rtpOut, rtpLost, rtpLate, rtpWrongSource, rtpMalformed *prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("switchboard_"+name, help, labels, nil)
}

// NewRegistry returns a registry with Switchboard's collector and the Go
// runtime and process collectors.
func NewRegistry(s Sources) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &collector{
		s:              s,
		activeCalls:    desc("active_calls", "Calls in progress."),
		mediaLegs:      desc("media_legs", "RTP legs open (a bridged call has two)."),
		calls:          desc("calls_total", "Calls ended, by outcome.", "outcome"),
		sipReq:         desc("sip_requests_total", "SIP requests received (INVITE-out: sent to agents), by method.", "method"),
		sipRes:         desc("sip_responses_total", "SIP responses sent or received in dialogs, by status code.", "code"),
		queueWaiting:   desc("queue_waiting_calls", "Calls waiting in a queue (including ringing an agent).", "queue"),
		queueLongest:   desc("queue_longest_wait_seconds", "Wait of the longest-waiting call of a queue.", "queue"),
		agents:         desc("agents", "Agents by state.", "state"),
		rtpIn:          desc("rtp_packets_in_total", "RTP packets received."),
		rtpOut:         desc("rtp_packets_out_total", "RTP packets sent."),
		rtpLost:        desc("rtp_packets_lost_total", "RTP packets missing from received sequences."),
		rtpLate:        desc("rtp_pacer_late_ticks_total", "20 ms playback ticks that ran late."),
		rtpWrongSource: desc("rtp_packets_wrong_source_total", "RTP packets dropped for coming from an unexpected address."),
		rtpMalformed:   desc("rtp_packets_malformed_total", "Datagrams dropped for not being RTP."),
	})
	return r
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.activeCalls, c.mediaLegs, c.calls, c.sipReq, c.sipRes, c.queueWaiting, c.queueLongest,
		c.agents, c.rtpIn, c.rtpOut, c.rtpLost, c.rtpLate, c.rtpWrongSource, c.rtpMalformed} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	k := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	g(c.activeCalls, float64(c.s.ActiveCalls()))
	g(c.mediaLegs, float64(c.s.MediaLegs()))
	for o, n := range c.s.CallOutcomes() {
		k(c.calls, float64(n), o)
	}
	for m, n := range c.s.SIPRequests() {
		k(c.sipReq, float64(n), m)
	}
	for code, n := range c.s.SIPResponses() {
		k(c.sipRes, float64(n), strconv.Itoa(code))
	}
	for _, q := range c.s.Queues() {
		g(c.queueWaiting, float64(q.Waiting), q.Name)
		g(c.queueLongest, q.LongestWaitSeconds, q.Name)
	}
	for st, n := range c.s.AgentStates() {
		g(c.agents, float64(n), st)
	}
	in, out, lost, late, wrong, bad := c.s.RTP()
	k(c.rtpIn, float64(in))
	k(c.rtpOut, float64(out))
	k(c.rtpLost, float64(lost))
	k(c.rtpLate, float64(late))
	k(c.rtpWrongSource, float64(wrong))
	k(c.rtpMalformed, float64(bad))
}
