package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/cluster"
)

// A call lives on the node where it arrived. In a cluster, the API of any
// node acts on it: a request about another node's live call (hold,
// transfer, hang up, ...; a recording, whose file is on that node's disk)
// is forwarded there (api.Forwarder), and the live state of another
// node's call is read from it (pathLive).

// pathLive answers a live call's call.Live (404: not live here).
const pathLive = cluster.PathNode + "live/"

// liveTimeout bounds one read of another node's live call.
const liveTimeout = time.Second

// callForwarder is the api.Forwarder of a node in a cluster.
type callForwarder struct{ n *Node }

// Holder is the other node that holds call id, by its record, while that
// node is alive: for a recording whether or not the call has ended.
func (f callForwarder) Holder(ctx context.Context, id string, recording bool) (string, bool) {
	n := f.n
	if _, live := n.mgr.CallState(id); live {
		return "", false
	}
	h, found, err := n.st.LookupCallHolder(ctx, id, cluster.AliveWithin)
	if err != nil {
		n.log.Warn("the node of a call not found; served here", "call", id, "err", err)
		return "", false
	}
	if !found || h.Node == n.cfg.Node.Name || (h.Ended && !recording) {
		return "", false
	}
	return h.HTTP, true
}

func (f callForwarder) Authorize(r *http.Request)       { f.n.acd.Authorize(r) }
func (f callForwarder) Authorized(r *http.Request) bool { return f.n.acd.Authorized(r) }

// clusterCalls are the manager's live calls, and other nodes' read from
// them: the API shows a call's live view (state, parties, hold) on any node.
type clusterCalls struct {
	*call.Manager
	n *Node
}

func (c clusterCalls) LiveView(id string) (call.Live, bool) {
	if v, ok := c.Manager.LiveView(id); ok {
		return v, true
	}
	return c.n.remoteLive(id)
}

// remoteLive reads a live call from the other node that holds it.
func (n *Node) remoteLive(id string) (call.Live, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	addr, ok := callForwarder{n}.Holder(ctx, id, false)
	if !ok {
		return call.Live{}, false
	}
	res, err := n.acd.Request(ctx, http.MethodGet, addr, pathLive+url.PathEscape(id), nil)
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			n.log.Debug("another node's live call not read", "call", id, "err", err)
		}
		return call.Live{}, false
	}
	defer res.Body.Close()
	var v call.Live
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&v); err != nil {
		return call.Live{}, false
	}
	return v, true
}

// serveLive is the holder's side of pathLive.
func (n *Node) serveLive(w http.ResponseWriter, r *http.Request) {
	v, ok := n.mgr.LiveView(r.PathValue("id"))
	if !ok {
		http.Error(w, "no such live call here", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// clusterCollector shows the whole cluster on every node's /metrics: each
// node's calls and whether it is alive, and the leader's epoch (read from
// the shared store at each scrape).
type clusterCollector struct {
	n                   *Node
	calls, alive, epoch *prometheus.Desc
}

func newClusterCollector(n *Node) *clusterCollector {
	return &clusterCollector{n: n,
		calls: prometheus.NewDesc("switchboard_cluster_node_calls", "Calls each node of the cluster carries, by its last heartbeat (0 for a node not alive).", []string{"node"}, nil),
		alive: prometheus.NewDesc("switchboard_cluster_node_alive", "1 for a node of the cluster whose heartbeat goes on, 0 for one stopped or lost.", []string{"node"}, nil),
		epoch: prometheus.NewDesc("switchboard_cluster_leader_epoch", "The leader lease's epoch: it rises each time the lease changes hands.", nil, nil),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.calls
	ch <- c.alive
	ch <- c.epoch
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := cluster.Read(ctx, c.n.st, cluster.AliveWithin)
	if err != nil {
		c.n.log.Warn("metrics: the cluster's status not read", "err", err)
		return
	}
	for _, o := range st.Nodes {
		alive := 0.0
		if o.Alive {
			alive = 1
		}
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.GaugeValue, float64(o.Calls), o.Name)
		ch <- prometheus.MustNewConstMetric(c.alive, prometheus.GaugeValue, alive, o.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(st.Epoch))
}
