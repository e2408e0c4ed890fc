package node

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/cluster"
)

// clusterAlive is how recent a node's heartbeat must be for the cluster's
// status to call it alive: a few missed beats.
const clusterAlive = 3 * time.Second

// clusterMember is this node's membership of the nodes sharing its store.
func (n *Node) clusterMember() *cluster.Member {
	return cluster.New(n.st, cluster.Config{
		Node: n.cfg.Node.Name,
		SIP:  n.SIPAddr().String(), HTTP: n.HTTPAddr().String(),
		RTP:        fmt.Sprintf("%d-%d", n.cfg.Server.RTPPortMin, n.cfg.Server.RTPPortMax),
		Calls:      n.mgr.Active,
		Deliveries: n.hooks.Prepare,
		Log:        n.log,
	})
}

// ClusterStatus is the cluster as this node sees it: from the shared
// store, or, on a store of its own, a cluster of one that leads itself
// (epoch 0: no lease was ever taken).
func (n *Node) ClusterStatus(ctx context.Context) (cluster.Status, error) {
	if n.st.Shared() {
		return cluster.Read(ctx, n.st, time.Now(), clusterAlive)
	}
	started := n.started
	return cluster.Status{Leader: n.cfg.Node.Name, Nodes: []cluster.NodeStatus{{
		Name: n.cfg.Node.Name, Alive: true, Calls: n.mgr.Active(),
		SIP: n.SIPAddr().String(), HTTP: n.HTTPAddr().String(),
		RTP:       fmt.Sprintf("%d-%d", n.cfg.Server.RTPPortMin, n.cfg.Server.RTPPortMax),
		StartedAt: started, HeartbeatAt: time.Now().UTC(),
	}}}, nil
}
