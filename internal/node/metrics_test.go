package node_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// /metrics serves the edge's, the admission's and SRTP's counters beside
// the others.
func TestMetricsServeEdgeAdmissionAndSRTP(t *testing.T) {
	n := nodetest.Start(t, "")
	res, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, name := range []string{
		"switchboard_security_events_total", "switchboard_sip_shed_total", "switchboard_sip_connections",
		"switchboard_calls_refused_total", "switchboard_srtp_packets_failed_total", "switchboard_store_queue_depth",
	} {
		if !strings.Contains(string(b), name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
}
