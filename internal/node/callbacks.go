package node

import (
	"context"
	"time"
)

// restoreCallbacks queues again the callbacks a previous run of this node
// left pending, stopped or killed, in the order they were waiting: once,
// after the call manager is built and before SIP serves, so no new call
// takes their place in line. A failure to read them is logged, not fatal:
// they stay stored (their records open) for the next start.
func (n *Node) restoreCallbacks() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cbs, err := n.st.PendingCallbacks(ctx)
	if err != nil {
		n.log.Error("pending callbacks left by a previous run not restored", "err", err)
		return
	}
	if len(cbs) == 0 {
		return
	}
	restored := n.mgr.RestoreCallbacks(n.ready, cbs)
	n.log.Info("restored callbacks left pending by a previous run", "callbacks", restored, "stored", len(cbs))
}
