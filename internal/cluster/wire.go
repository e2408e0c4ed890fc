package cluster

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
)

// The nodes talk over HTTP, on each node's HTTP listener, under
// /internal/cluster/, with the cluster's key (one for all nodes, in the
// shared store) as a bearer token:
//
//	POST /internal/cluster/acd/{op}  a node asks the leader's ACD (acdRequest → acdResponse)
//	POST /internal/cluster/offer     the leader tells a node to ring, or stop ringing (offerMessage)
//	POST /internal/cluster/report    the new leader asks a node for its calls (reportRequest → Report)
//
// Every message carries the sender's epoch: a node refuses a leader's
// message older than the newest epoch it has seen (409), and a leader
// refuses requests of a newer epoch than its own (it was deposed).

// Paths of the inter-node endpoints.
const (
	PathPrefix = "/internal/cluster/"
	pathACD    = PathPrefix + "acd/"
	pathOffer  = PathPrefix + "offer"
	pathReport = PathPrefix + "report"
)

// rpcTimeout bounds one request between nodes.
const rpcTimeout = 3 * time.Second

// acdRequest is one call into the leader's ACD: the operation is in the
// path, its arguments here (those it needs).
type acdRequest struct {
	// Epoch is the newest epoch the node has heard of; Run its start
	// (a restarted node is another run: its earlier calls are gone).
	Epoch    int64             `json:"epoch"`
	Node     string            `json:"node"`
	Run      int64             `json:"run"`
	Report   *Report           `json:"report,omitempty"`
	CallID   string            `json:"call_id,omitempty"`
	Queue    string            `json:"queue,omitempty"`
	AgentID  string            `json:"agent_id,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Priority int               `json:"priority,omitempty"`
	At       time.Time         `json:"at,omitzero"`
	On       bool              `json:"on,omitempty"`
	OfferID  uint64            `json:"offer_id,omitempty"`
	Duration time.Duration     `json:"duration,omitempty"`
	State    acd.AgentState    `json:"state,omitempty"`
	QueueCfg *acd.QueueConfig  `json:"queue_config,omitempty"`
	Members  []string          `json:"members,omitempty"`
	Queues   []acd.QueueConfig `json:"queues,omitempty"`
	Agents   []acd.AgentConfig `json:"agents,omitempty"`
}

// agentWire is an AgentView with its time in state, which the view's JSON
// leaves out.
type agentWire struct {
	acd.AgentView
	InState time.Duration `json:"in_state"`
}

func toWire(v acd.AgentView) agentWire { return agentWire{AgentView: v, InState: v.InState} }

func (w agentWire) view() acd.AgentView {
	v := w.AgentView
	v.InState = w.InState
	return v
}

// acdResponse is the leader's answer: an error (Is names the acd error it
// is, for errors.Is on the node), or the operation's results.
type acdResponse struct {
	Error   string          `json:"error,omitempty"`
	Is      string          `json:"is,omitempty"`
	N       [3]int          `json:"n,omitzero"`
	Bool    bool            `json:"bool,omitempty"`
	State   acd.AgentState  `json:"state,omitempty"`
	Wait    acd.WaitInfo    `json:"wait,omitzero"`
	Agent   *agentWire      `json:"agent,omitempty"`
	Agents  []agentWire     `json:"agents,omitempty"`
	Queue   *acd.QueueView  `json:"queue_view,omitempty"`
	QueuesV []acd.QueueView `json:"queues,omitempty"`
	Removed []string        `json:"removed,omitempty"`
}

// offerMessage is the leader's decision for a node's call.
type offerMessage struct {
	Epoch  int64     `json:"epoch"`
	Offer  acd.Offer `json:"offer"`
	Cancel bool      `json:"cancel,omitempty"`
}

// The acd errors a node branches on, by name on the wire.
var acdErrors = map[string]error{
	"unknown_queue": acd.ErrUnknownQueue,
	"unknown_agent": acd.ErrUnknownAgent,
	"unknown_call":  acd.ErrUnknownCall,
	"stale_offer":   acd.ErrStaleOffer,
	"agent_busy":    acd.ErrAgentBusy,
	"logged_out":    acd.ErrLoggedOut,
}

func errorResponse(err error) acdResponse {
	r := acdResponse{Error: err.Error()}
	for name, e := range acdErrors {
		if errors.Is(err, e) {
			r.Is = name
		}
	}
	return r
}

// err is the response's error as the node sees it: the acd error it
// names, with the leader's text.
func (r acdResponse) err() error {
	if r.Error == "" {
		return nil
	}
	if e, ok := acdErrors[r.Is]; ok {
		if r.Error == e.Error() {
			return e
		}
		return fmt.Errorf("%w (%s)", e, strings.TrimPrefix(r.Error, e.Error()+": "))
	}
	return errors.New(r.Error)
}

// Errors of the inter-node calls.
var (
	// ErrNoLeader: no leader could be reached (none yet, or it died and
	// another is taking over).
	ErrNoLeader = errors.New("cluster: no leader reachable")
	// ErrStaleEpoch: a message from a leader older than one already seen,
	// or to a leader from a node that has seen a newer one.
	ErrStaleEpoch = errors.New("cluster: stale epoch")
	// errNotReady: the leader is still rebuilding its ACD; ask again.
	errNotReady = errors.New("cluster: leader not ready")
	// errNeedReport: the leader has no report of this run of the node
	// (it could not ask at its takeover, or the node restarted): send it,
	// then ask again.
	errNeedReport = errors.New("cluster: the leader wants the node's report first")
)

// peer posts JSON to other nodes with the cluster's key.
type peer struct {
	key    string
	client *http.Client
}

func newPeer(key string) *peer {
	return &peer{key: key, client: &http.Client{Timeout: rpcTimeout}}
}

// post sends in to http://addr/path and decodes the answer into out.
// 503 is errNotReady, 409 ErrStaleEpoch.
func (p *peer) post(ctx context.Context, addr, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("cluster: %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cluster: %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("cluster: %s to %s: %w", path, addr, err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return errNotReady
	case http.StatusConflict:
		return ErrStaleEpoch
	case http.StatusPreconditionRequired:
		return errNeedReport
	default:
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("cluster: %s to %s: %s: %s", path, addr, res.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("cluster: %s from %s: %w", path, addr, err)
	}
	return nil
}

// authorized reports whether r carries the cluster's key.
func (p *peer) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(p.key)) == 1
}

// decode reads a request body of at most 4 MiB.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(v); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
