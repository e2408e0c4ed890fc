package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/security"
	"github.com/switchboard/switchboard/internal/sip"
)

// edgeConfig is what one source may cost the SIP edge: security.rate per
// source and method (trunks' inbound sources, which sip.Config.Trusted
// holds, and security.exempt are not rate limited) and
// security.connections for TCP and TLS.
func (n *Node) edgeConfig() sip.EdgeConfig {
	sec := n.cfg.Security
	rate := func(r config.Rate) security.Rate {
		return security.Rate{PerSecond: r.PerSecond, Burst: r.Burst}
	}
	return sip.EdgeConfig{
		Invite:            rate(sec.Rate.Invite),
		Register:          rate(sec.Rate.Register),
		Options:           rate(sec.Rate.Options),
		Exempt:            sec.Exempt,
		MaxConnsPerSource: sec.Connections.PerSource,
		MaxConns:          sec.Connections.Total,
		ConnIdle:          sec.Connections.Idle,
	}
}

// EdgeCollector exports the SIP edge's defence to Prometheus: security
// events by kind, what the edge shed by reason, and the inbound TCP and
// TLS connections open.
func (n *Node) EdgeCollector() prometheus.Collector {
	return &edgeCollector{n: n,
		events: prometheus.NewDesc("switchboard_security_events_total",
			"Security events by kind (auth_failure, nonce_replay, uri_mismatch, ban, unban; rate_limited, malformed and connection_limit sampled: one per source per interval).",
			[]string{"kind"}, nil),
		shed: prometheus.NewDesc("switchboard_sip_shed_total",
			"SIP requests, messages and connections the edge shed, by reason (rate_invite, rate_register, rate_options, malformed, banned, connection_per_source, connection_total, connection_idle).",
			[]string{"reason"}, nil),
		conns: prometheus.NewDesc("switchboard_sip_connections", "Inbound SIP TCP and TLS connections open.", nil, nil),
	}
}

type edgeCollector struct {
	n                   *Node
	events, shed, conns *prometheus.Desc
}

func (c *edgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.shed
	ch <- c.conns
}

func (c *edgeCollector) Collect(ch chan<- prometheus.Metric) {
	k := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	r := c.n.guard.Events()
	for _, kind := range []security.EventKind{security.KindAuthFailure, security.KindNonceReplay, security.KindURIMismatch,
		security.KindBan, security.KindLift, security.KindRateLimited, security.KindMalformed, security.KindConnectionLimit} {
		k(c.events, r.Counts[kind], kind.String()) // every kind, zero included: no gaps in dashboards
	}
	st := c.n.sip.EdgeStats()
	k(c.shed, st.RateLimited["INVITE"], "rate_invite")
	k(c.shed, st.RateLimited["REGISTER"], "rate_register")
	k(c.shed, st.RateLimited["OPTIONS"], "rate_options")
	k(c.shed, st.Malformed, "malformed")
	k(c.shed, r.Dropped, "banned")
	k(c.shed, st.ConnsRefusedPerSource, "connection_per_source")
	k(c.shed, st.ConnsRefusedTotal, "connection_total")
	k(c.shed, st.ConnsIdleClosed, "connection_idle")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.ConnsOpen))
}
