package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/cluster"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// Browser softphones across nodes. A desktop keeps its WebRTC connection
// with the node it opened, which notes it in the shared store
// (softphones). A call held by another node rings that agent through the
// phone's node: the call's node makes a local leg and asks, over
// pathRing, the phone's node to ring the browser with the leg's RTP
// address; the answer names the phone's shim, where the leg sends. The
// request lasts as long as the call: the call's node ends it to hang up,
// the phone's node ends it when the desktop goes, and either node's death
// ends it. The audio takes one extra RTP hop: caller → call's node →
// phone's node → browser.

// pathRing is the phone's node's side (clusterPhones.serveRing).
const pathRing = cluster.PathNode + "softphone/ring"

// ringRequest asks a node to ring its softphone of User for a call whose
// RTP endpoint is at RTP (PCMU).
type ringRequest struct {
	User   string `json:"user"`
	Caller string `json:"caller"`
	RTP    string `json:"rtp"`
	// Node is the call's node: the phone hangs up when it is lost.
	Node string `json:"node"`
	Call string `json:"call,omitempty"`
}

// ringAnswer is the first line of pathRing's answer: the desktop answered
// (RTP is where to send) or not (Error, with Is naming a webrtc error).
// A second line, Ended, says the desktop went.
type ringAnswer struct {
	RTP   string `json:"rtp,omitempty"`
	Error string `json:"error,omitempty"`
	Is    string `json:"is,omitempty"`
	Ended bool   `json:"ended,omitempty"`
}

var ringErrors = map[string]error{"no_phone": webrtc.ErrNoPhone, "rejected": webrtc.ErrRejected, "busy": webrtc.ErrBusy}

// softphoneTimeout bounds the store's writes and reads of softphones.
const softphoneTimeout = 2 * time.Second

// clusterPhones are the browser softphones as the call manager rings them:
// this node's, and in a cluster those connected with other nodes.
type clusterPhones struct {
	local *webrtc.Phones
	// n is the node, for its store, name and cluster client; nil on a
	// store of its own (only local phones).
	n *Node

	// changing makes changed one at a time, so the last to run writes what
	// is true now.
	changing sync.Mutex

	mu sync.Mutex
	// remote are the calls ringing or up on other nodes' softphones, by
	// agent: cancelling one ends it.
	remote map[string]context.CancelFunc
	// serves counts the other nodes' calls ringing or up on this node's
	// softphones (serveRing): a draining node waits for them too.
	serves atomic.Int64
}

// serving is how many other nodes' calls ring or are up on this node's
// softphones.
func (cp *clusterPhones) serving() int { return int(cp.serves.Load()) }

// lookup finds user's softphone on another live node.
func (cp *clusterPhones) lookup(user string) (addr string, ok bool) {
	if cp.n == nil || cp.n.acd == nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), softphoneTimeout)
	defer cancel()
	p, found, err := cp.n.st.LookupSoftphone(ctx, user, cluster.AliveWithin)
	if err != nil {
		cp.n.log.Warn("softphone lookup failed", "agent", user, "err", err)
		return "", false
	}
	if !found || p.Node == cp.n.cfg.Node.Name {
		return "", false // here: the local phones know, and it is gone if not there
	}
	return p.HTTP, true
}

// Has reports whether user's desktop has a softphone connected, here or
// with another live node.
func (cp *clusterPhones) Has(user string) bool {
	if cp.local.Has(user) {
		return true
	}
	_, ok := cp.lookup(user)
	return ok
}

// HasHere reports whether user's softphone is connected with this node:
// the device state this node reports to the cluster's ACD (the node the
// desktop is connected with vouches for it, and the leader drops a lost
// node's word).
func (cp *clusterPhones) HasHere(user string) bool { return cp.local.Has(user) }

// Ring rings user's softphone: here, or through the node it is connected
// with (done is closed when that call ends there).
func (cp *clusterPhones) Ring(ctx context.Context, user, caller string, ep *media.Endpoint) (<-chan struct{}, error) {
	if cp.local.Has(user) {
		return cp.local.Ring(ctx, user, caller, ep)
	}
	addr, ok := cp.lookup(user)
	if !ok {
		return nil, webrtc.ErrNoPhone
	}
	// The request outlives ctx, which ends once the ring is answered: it
	// lasts as long as the call.
	call, hangup := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, hangup)
	fail := func(err error) (<-chan struct{}, error) {
		stop()
		hangup()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	res, err := cp.n.acd.Request(call, http.MethodPost, addr, pathRing, ringRequest{User: user, Caller: caller, RTP: ep.Local().String(),
		Node: cp.n.cfg.Node.Name})
	if err != nil {
		return fail(fmt.Errorf("softphone %s on another node: %w", user, err))
	}
	dec := json.NewDecoder(io.LimitReader(res.Body, 4096))
	var first ringAnswer
	if err := dec.Decode(&first); err != nil {
		res.Body.Close()
		return fail(fmt.Errorf("softphone %s on another node: %w", user, err))
	}
	if first.Error != "" {
		res.Body.Close()
		if e, ok := ringErrors[first.Is]; ok {
			return fail(e)
		}
		return fail(fmt.Errorf("softphone %s on another node: %s", user, first.Error))
	}
	shim, err := netip.ParseAddrPort(first.RTP)
	if err != nil || !stop() { // a bad answer, or ctx ended as it came
		res.Body.Close()
		return fail(fmt.Errorf("softphone %s on another node: RTP address %q: %v", user, first.RTP, err))
	}
	ep.SetSession(media.Session{Remote: shim, Codec: media.PCMU, PT: 0})
	cp.mu.Lock()
	if old := cp.remote[user]; old != nil {
		old()
	}
	cp.remote[user] = hangup
	cp.mu.Unlock()
	done := make(chan struct{})
	go func() { // the answer ends when the desktop goes, the phone's node dies, or Hangup
		var end ringAnswer
		_ = dec.Decode(&end)
		res.Body.Close()
		hangup()
		close(done)
	}()
	return done, nil
}

// Hangup ends the call on user's softphone, here or on another node.
func (cp *clusterPhones) Hangup(user string) {
	cp.local.Hangup(user)
	cp.mu.Lock()
	hangup := cp.remote[user]
	delete(cp.remote, user)
	cp.mu.Unlock()
	if hangup != nil {
		hangup()
	}
}

// serveRing is the phone's node's side of pathRing: it rings the local
// softphone, answers with its shim's address, and holds the answer open
// for the call: until the desktop goes (it says so), or the call's node
// ends the request (the call ended there: the phone hangs up).
func (cp *clusterPhones) serveRing(w http.ResponseWriter, r *http.Request) {
	var req ringRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	target, err := netip.ParseAddrPort(req.RTP)
	if err != nil || req.User == "" || req.Node == "" {
		http.Error(w, fmt.Sprintf("bad request: user %q, node %q, RTP address %q", req.User, req.Node, req.RTP), http.StatusBadRequest)
		return
	}
	if cp.n.sip.Draining() {
		http.Error(w, "this node is stopping", http.StatusServiceUnavailable)
		return
	}
	cp.serves.Add(1)
	defer cp.serves.Add(-1)
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	var shim netip.AddrPort
	var done <-chan struct{}
	if cp.local.ShimIP().IsLoopback() && !target.Addr().IsLoopback() {
		err = fmt.Errorf("this node's softphones are on loopback (set server.media_ip), which the call's node at %s cannot reach", target.Addr())
	} else {
		shim, done, err = cp.local.RingRemote(r.Context(), req.User, req.Caller, target)
	}
	if err != nil {
		a := ringAnswer{Error: err.Error()}
		for name, e := range ringErrors {
			if errors.Is(err, e) {
				a.Is = name
			}
		}
		_ = enc.Encode(a)
		return
	}
	if err := enc.Encode(ringAnswer{RTP: shim.String()}); err != nil {
		cp.local.Hangup(req.User)
		return
	}
	if fl != nil {
		fl.Flush()
	}
	// The call's node ends the request when the call ends, or its kernel
	// does when it is killed; a machine that died says nothing, so its
	// heartbeat is watched too.
	watch := time.NewTicker(time.Second)
	defer watch.Stop()
	for {
		select {
		case <-done:
			_ = enc.Encode(ringAnswer{Ended: true})
			cp.local.Hangup(req.User)
			return
		case <-r.Context().Done():
			cp.local.Hangup(req.User)
			return
		case <-watch.C:
			if !cp.nodeAlive(r.Context(), req.Node) {
				cp.n.log.Warn("the node of a call on this node's softphone is lost; the softphone hangs up", "agent", req.User, "node", req.Node)
				cp.local.Hangup(req.User)
				return
			}
		}
	}
}

// nodeAlive reports whether node's heartbeat goes on (true when the store
// cannot tell: a store hiccup does not end calls).
func (cp *clusterPhones) nodeAlive(ctx context.Context, node string) bool {
	ctx, cancel := context.WithTimeout(ctx, softphoneTimeout)
	defer cancel()
	st, err := cluster.Read(ctx, cp.n.st, cluster.AliveWithin)
	if err != nil {
		return true
	}
	for _, o := range st.Nodes {
		if o.Name == node {
			return o.Alive
		}
	}
	return false
}

// changed follows a softphone connected or gone here: the shared store
// notes where it is (so other nodes ring it here), then the agent's
// device state is computed again.
func (cp *clusterPhones) changed(user string) {
	cp.changing.Lock()
	defer cp.changing.Unlock()
	if n := cp.n; n != nil && n.acd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), softphoneTimeout)
		var err error
		if cp.local.Has(user) {
			err = n.st.SaveSoftphone(ctx, user, n.cfg.Node.Name, time.Now())
		} else {
			err = n.st.DeleteSoftphone(ctx, user, n.cfg.Node.Name)
		}
		cancel()
		if err != nil {
			n.log.Warn("softphone not noted in the shared store: other nodes may not ring it", "agent", user, "err", err)
		}
	}
	if cp.n != nil {
		cp.n.mgr.DeviceChanged(user)
	}
}
