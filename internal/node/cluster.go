package node

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/cluster"
	"github.com/switchboard/switchboard/internal/store"
)

// clusterMember is this node's membership of the nodes sharing its store.
func (n *Node) clusterMember() *cluster.Member {
	return cluster.New(n.st, cluster.Config{
		Node: n.cfg.Node.Name,
		SIP:  n.SIPAddr().String(), HTTP: n.HTTPAddr().String(),
		RTP:        n.rtpRange(),
		Calls:      n.mgr.Active,
		Deliveries: n.hooks.Prepare,
		Log:        n.log,
		OnLead:     n.acd.Leading,
		OnLose:     n.acd.NotLeading,
		OnLeader:   n.acd.SetLeader,
		OnLost: func(node string) {
			n.acd.NodeLost(node)
			go n.adoptCallbacks(node)
			go n.adoptContacts(node)
		},
	})
}

// adoptCallbacks takes over a lost node's pending callbacks (the leader
// does, when it finds the node lost): they are queued again here in their
// order, ahead of new calls, and dialled from here; the customers keep
// their callbacks.
func (n *Node) adoptCallbacks(lost string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cbs, err := n.st.AdoptCallbacks(ctx, lost)
	if err != nil {
		n.log.Error("a lost node's pending callbacks not taken over; they wait for it", "node", lost, "err", err)
		return
	}
	if len(cbs) == 0 {
		return
	}
	restored := n.mgr.RestoreCallbacks(n.ready, cbs)
	n.log.Warn("took over a lost node's pending callbacks", "node", lost, "callbacks", restored, "stored", len(cbs))
}

// adoptContacts makes pending again the campaign contacts a lost node was
// dialling (the leader does, when it finds the node lost): their calls
// died with it, and the attempt counts.
func (n *Node) adoptContacts(lost string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := n.st.ResetDialingOf(ctx, lost); err != nil {
		n.log.Error("a lost node's campaign contacts stay dialling", "node", lost, "err", err)
	} else if c > 0 {
		n.log.Warn("a lost node's campaign contacts are pending again", "node", lost, "contacts", c)
	}
}

// nodeEndpoints are this node's endpoints for the other nodes under
// cluster.PathNode (the cluster's key is checked before).
func (n *Node) nodeEndpoints() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathRing, func(w http.ResponseWriter, r *http.Request) {
		if n.softphones == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		n.softphones.serveRing(w, r)
	})
	mux.HandleFunc("GET "+pathLive+"{id}", n.serveLive)
	return mux
}

// joinACD sends the manager's queue work to the cluster's one ACD (the
// leader's), with the cluster's key for the nodes' calls to each other.
func (n *Node) joinACD() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, err := n.st.SharedSecret(ctx, "cluster_rpc_key", 32)
	if err != nil {
		return fmt.Errorf("node: the cluster's key: %w", err)
	}
	n.acd = cluster.NewClient(cluster.ClientConfig{
		Node: n.cfg.Node.Name, Key: hex.EncodeToString(key),
		Local: n.mgr, Engine: n.mgr.NewEngine, Sink: n.mgr.ACDEvent,
		Registered: func(agent string) bool {
			_, ok := n.sip.Registered(agent)
			return ok
		},
		AgentStates: n.st.LastAgentStates,
		Peers: func(ctx context.Context) (map[string]string, error) {
			st, err := cluster.Read(ctx, n.st, cluster.AliveWithin)
			if err != nil {
				return nil, err
			}
			out := map[string]string{}
			for _, o := range st.Nodes {
				if o.Alive {
					out[o.Name] = o.HTTP
				}
			}
			return out, nil
		},
		Log:   n.log,
		Serve: n.nodeEndpoints(),
	})
	n.mgr.SetDistributor(n.acd)
	return nil
}

// joinCluster checks that no live node has this node's name (a node just
// killed under the same name stops looking alive within cluster.AliveWithin: it
// waits that long for it), then writes a first heartbeat, before recover
// closes this node's leftover calls.
func (n *Node) joinCluster() error {
	ctx, cancel := context.WithTimeout(context.Background(), cluster.AliveWithin+5*time.Second)
	defer cancel()
	name := n.cfg.Node.Name
	for {
		st, err := cluster.Read(ctx, n.st, cluster.AliveWithin)
		if err != nil {
			return fmt.Errorf("node: join the cluster: %w", err)
		}
		live := false
		for _, o := range st.Nodes {
			live = live || (o.Name == name && o.Alive)
		}
		if !live {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: the name %q is a live node's in the cluster (its heartbeat goes on): give each node its own node.name", name)
		case <-time.After(500 * time.Millisecond):
		}
	}
	// The sockets are not bound yet: the setup's addresses until the
	// member's first beat.
	return n.st.Beat(ctx, store.NodeBeat{Name: name, SIP: n.cfg.Server.SIPListen, HTTP: n.cfg.Server.HTTPListen,
		RTP: n.rtpRange(), StartedAt: n.started})
}

// ClusterStatus is the cluster as this node sees it: from the shared
// store, or, on a store of its own, a cluster of one that leads itself
// (epoch 0: no lease was ever taken).
func (n *Node) ClusterStatus(ctx context.Context) (cluster.Status, error) {
	if n.st.Shared() {
		return cluster.Read(ctx, n.st, cluster.AliveWithin)
	}
	started := n.started
	return cluster.Status{Leader: n.cfg.Node.Name, Nodes: []cluster.NodeStatus{{
		Name: n.cfg.Node.Name, Alive: true, Calls: n.mgr.Active(),
		SIP: n.SIPAddr().String(), HTTP: n.HTTPAddr().String(),
		RTP:       n.rtpRange(),
		StartedAt: started, HeartbeatAt: time.Now().UTC(),
	}}}, nil
}

// rtpRange is the node's RTP port range as heartbeats show it.
func (n *Node) rtpRange() string {
	return fmt.Sprintf("%d-%d", n.cfg.Server.RTPPortMin, n.cfg.Server.RTPPortMax)
}
