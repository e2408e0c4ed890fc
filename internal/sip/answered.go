package sip

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// answered keeps what RFC 3261's Timer J asks of a non-INVITE server
// transaction over UDP — for 64×T1 (32 s) after its final response, a
// retransmission of the request gets that response again — without the
// transaction. sipgo keeps the whole transaction for Timer J: its parsed
// request, its parsed response and a timer, about 3.5 KiB for a BYE. At 200
// calls a second that is every call of the last 32 s, and the server's
// memory grew with the call rate instead of with the calls up. Here the
// transaction ends as soon as the handler has answered, and the final
// response stays as text, keyed by the transaction's key, in a queue in the
// order of answering, so expiry pops from the front and needs no timer.
// maxAnswered bounds the responses kept (about 600 bytes each), 2,048 a
// second for 32 s; beyond it the oldest goes before its 32 s, and a
// retransmission of its request is handled again as a new one: a BYE then
// gets 481, an INFO's digit counts twice, a REFER is refused as a second
// transfer, an authenticated REGISTER counts as a nonce replay. The
// requests whose answers are kept are rate-limited by source (REGISTER,
// OPTIONS) or come from a dialog's own peer; refusals are not kept
// (worthKeeping).
const maxAnswered = 1 << 16

type answered struct {
	ttl time.Duration
	max int // entries kept at most; the oldest goes first beyond it

	mu    sync.Mutex
	byKey map[string][]byte
	queue []kept // in the order answered; head is the oldest
	head  int
}

type kept struct {
	key string
	at  time.Time
}

func newAnswered(ttl time.Duration, max int) *answered {
	return &answered{ttl: ttl, max: max, byKey: make(map[string][]byte)}
}

// get returns the final response sent for key, nil if none is kept.
func (a *answered) get(key string, now time.Time) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(now)
	return a.byKey[key]
}

// put keeps res as the final response for key.
func (a *answered) put(key string, res []byte, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(now)
	if _, ok := a.byKey[key]; !ok {
		a.queue = append(a.queue, kept{key: key, at: now})
	}
	a.byKey[key] = res
	for len(a.byKey) > a.max {
		a.pop()
	}
}

// len is the number of responses kept.
func (a *answered) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byKey)
}

func (a *answered) expire(now time.Time) {
	for a.head < len(a.queue) && now.Sub(a.queue[a.head].at) >= a.ttl {
		a.pop()
	}
}

// pop drops the oldest entry; the queue's slice is compacted once its dead
// front is as long as the rest, so it stays within twice the entries kept.
func (a *answered) pop() {
	if a.head == len(a.queue) {
		return
	}
	delete(a.byKey, a.queue[a.head].key)
	a.queue[a.head] = kept{}
	a.head++
	if a.head == len(a.queue) {
		a.queue, a.head = a.queue[:0], 0
	} else if a.head >= len(a.queue)-a.head {
		live := a.queue[a.head:]
		if cap(a.queue) > 1024 && cap(a.queue) > 4*len(live) {
			// after a burst: let the big array go
			a.queue, a.head = append(make([]kept, 0, 2*len(live)), live...), 0
			return
		}
		n := copy(a.queue, live)
		clear(a.queue[n:])
		a.queue, a.head = a.queue[:n], 0
	}
}

// finalTx is a server transaction that keeps the text of the final
// response sent on it, under key, before it goes out: a retransmission that
// comes the moment the peer has the answer finds it kept.
type finalTx struct {
	gosip.ServerTransaction
	key      string
	kept     *answered
	answered atomic.Bool // a final response went out
}

func (t *finalTx) Respond(res *gosip.Response) error {
	final := !res.IsProvisional() && !t.answered.Swap(true)
	if final && worthKeeping(res.StatusCode) {
		t.kept.put(t.key, []byte(res.String()), time.Now())
	}
	return t.ServerTransaction.Respond(res)
}

// worthKeeping is false for the answers a request gets again, unchanged, if
// it is handled again: 400 (it does not parse), 405 (no such method here)
// and 481 (no such dialog). Those are what anyone can make the server send,
// without limit, by sending junk in-dialog requests; keeping them would let
// such a flood push the answers that matter out of the table early.
func worthKeeping(code int) bool {
	switch code {
	case 400, 405, 481:
		return false
	}
	return true
}

// absorbing wraps a handler of a non-INVITE method. Over UDP, a request
// whose transaction was answered within Timer J is a retransmission: it gets
// the same final response and does not reach the handler again. Otherwise
// the handler answers it, the final response is kept (unless it is a
// refusal the request would get again: worthKeeping), and the transaction
// ends at once. Over TCP and TLS there are no retransmissions: sipgo ends
// the transaction itself.
func (s *Server) absorbing(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *gosip.Request, tx gosip.ServerTransaction) {
		if tx == nil || gosip.IsReliable(req.Transport()) {
			h(req, tx)
			return
		}
		key, err := gosip.ServerTxKeyMake(req)
		if err != nil {
			h(req, tx)
			return
		}
		if text := s.answered.get(key, time.Now()); text != nil {
			s.resend(req, tx, text)
			tx.Terminate()
			return
		}
		w := &finalTx{ServerTransaction: tx, key: key, kept: s.answered}
		h(req, w)
		if w.answered.Load() {
			tx.Terminate() // a refusal not kept is simply given again
		}
	}
}

// resend answers a retransmitted request with the final response its first
// copy got.
func (s *Server) resend(req *gosip.Request, tx gosip.ServerTransaction, text []byte) {
	msg, err := gosip.ParseMessage(text)
	res, ok := msg.(*gosip.Response)
	if err != nil || !ok {
		s.log.Debug("sip: kept response does not parse", "method", req.Method.String(), "err", err)
		return
	}
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source()) // the retransmission's source: its first copy's
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond to a retransmission", "method", req.Method.String(), "err", err)
	}
}

// AcceptedWait is how long an INVITE transaction stays after its 2xx
// (RFC 6026's Timer L on the server, Timer M on the client) once
// ShortenAcceptedTimers has run. RFC 3261 says 64×T1 (32 s). sipgo sends a
// caller's 2xx again after 0.5 s and then every 4 s until the ACK: within
// 13 s that is 5 copies (9 within 32 s), and an agent's phone that missed
// our ACK sends its 2xx again at 0.5, 1.5, 3.5, 7.5 and 11.5 s.
const AcceptedWait = 13 * time.Second

// ShortenAcceptedTimers sets sipgo's Timer L and Timer M to AcceptedWait.
// sipgo does not stop those two timers when a transaction ends (at the BYE),
// so each call's two INVITE transactions — the parsed INVITE, its answer
// and the ACK kept for 2xx retransmissions, about 14 KiB — stayed in memory
// for 32 s after the call was answered, however short the call: at 200 new
// calls a second the memory grew with the call rate, not with the calls
// up. What it costs: a caller whose ACK has not come within AcceptedWait
// (all 5 copies of the 2xx or their ACKs lost) loses the call then, not
// after 32 s, and the call ends without a BYE, as it did after 32 s; an
// agent's 2xx retransmitted after AcceptedWait is not acknowledged again.
//
// The two are sipgo's package variables, read each time a 2xx is sent or
// received: call this once before any SIP traffic (switchboard serve does,
// first thing; the sip and node tests do in TestMain).
func ShortenAcceptedTimers() {
	gosip.Timer_L = AcceptedWait
	gosip.Timer_M = AcceptedWait
}
