package nodetest

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// Caller is a caller's phone (a UAC) on one call: it sends an INVITE with
// an SDP offering PCMU and telephone-event 101, ACKs the answer, sends RTP
// (a tone or silence) and RFC 4733 digits, counts what it receives, and
// hangs up with BYE. Cleanup hangs up a call still up.
type Caller struct {
	// Code is the final response to the INVITE (200 when answered);
	// Response is that response.
	Code     int
	Response *gosip.Response
	// RTP is the caller's audio.
	RTP *RTP

	t    testing.TB
	p    *peer
	dlg  *sipgo.DialogClientSession
	done chan struct{}
}

// CallOption adjusts a call before it is placed.
type CallOption func(*callOptions)

type callOptions struct {
	from, name string
	sdp        []byte
	toneHz     float64
	timeout    time.Duration
	user, pass string
}

// From sets the caller's number (default 5551234) and display name.
func From(user, name string) CallOption {
	return func(o *callOptions) { o.from, o.name = user, name }
}

// WithSDP sends body as the offer instead of a valid one (malformed offers).
func WithSDP(body []byte) CallOption { return func(o *callOptions) { o.sdp = body } }

// Auth answers a digest challenge as an agent's phone would.
func Auth(user, password string) CallOption {
	return func(o *callOptions) { o.user, o.pass = user, password }
}

// Tone makes the caller send a sine at hz once answered (default silence).
func Tone(hz float64) CallOption { return func(o *callOptions) { o.toneHz = hz } }

// Dial calls number at the node at server and waits (at most 10 s, or
// WithTimeout) for the final response; a refused call is returned with its
// Code, not failed. A call that was answered is ACKed and its RTP starts.
func Dial(t testing.TB, server netip.AddrPort, number string, opts ...CallOption) *Caller {
	t.Helper()
	o := dialOptions(opts)
	r, err := newRTP()
	if err != nil {
		t.Fatalf("nodetest: rtp: %v", err)
	}
	body := o.sdp
	if body == nil {
		body = offer(r, "")
	}
	c, answered := placeCall(t, server, number, o, r, body, nil)
	if !answered {
		return c
	}
	sess, err := media.ParseSDP(c.dlg.InviteResponse.Body())
	if err != nil {
		t.Fatalf("nodetest: the node's SDP answer: %v", err)
	}
	r.SetTone(o.toneHz)
	r.SetRemote(sess.Remote)
	return c
}

func dialOptions(opts []CallOption) callOptions {
	o := callOptions{from: "5551234", name: "Test Caller", timeout: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// placeCall sends an INVITE offering body from a new peer whose audio is
// r, and waits for the final response: a refusal is returned with its
// Code and answered false; an answer is ACKed, and the Caller's Ended
// follows the dialog.
// Cleanup hangs up, closes r and runs cleanup (if any).
func placeCall(t testing.TB, server netip.AddrPort, number string, o callOptions, r *RTP, body []byte, cleanup func()) (c *Caller, answered bool) {
	t.Helper()
	var up atomic.Pointer[sipgo.DialogClientSession]
	p := newPeer(t, server, o.from, func(srv *sipgo.Server) {
		srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
			d := up.Load()
			if d == nil || callID(req) != d.InviteRequest.CallID().Value() {
				_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			_ = d.ReadBye(req, tx)
		})
	})
	c = &Caller{t: t, p: p, RTP: r, done: make(chan struct{})}
	t.Cleanup(func() {
		c.Hangup()
		r.close()
		if cleanup != nil {
			cleanup()
		}
		if c.dlg != nil {
			c.dlg.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dlg, err := p.dialog.Invite(ctx, p.uri(number), body, p.fromHeader(o.from, o.name),
		gosip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatalf("nodetest: INVITE %s: %v", number, err)
	}
	c.dlg = dlg
	up.Store(dlg)
	err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{Username: o.user, Password: o.pass})
	var refused *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &refused):
		c.Code, c.Response = refused.Res.StatusCode, refused.Res
		close(c.done)
		return c, false
	case err != nil:
		t.Fatalf("nodetest: INVITE %s: no final response: %v", number, err)
	}
	c.Code, c.Response = dlg.InviteResponse.StatusCode, dlg.InviteResponse
	if err := dlg.Ack(ctx); err != nil {
		t.Fatalf("nodetest: ACK: %v", err)
	}
	go func() {
		<-dlg.Context().Done()
		close(c.done)
	}()
	return c, true
}

// Dial calls number at this node; see the package-level Dial.
func (n *Node) Dial(t testing.TB, number string, opts ...CallOption) *Caller {
	t.Helper()
	return Dial(t, n.SIPAddr(), number, opts...)
}

// SendDTMF sends digits as RFC 4733 events in the RTP stream.
func (c *Caller) SendDTMF(digits string) { c.RTP.SendDTMF(digits) }

// SendInbandDTMF plays digits as DTMF tones in the caller's audio.
func (c *Caller) SendInbandDTMF(digits string) { c.RTP.SendInbandDTMF(digits) }

// Ended is closed when the call is over (refused, hung up by either side).
func (c *Caller) Ended() <-chan struct{} { return c.done }

// WaitEnded fails the test unless the call ends within d.
func (c *Caller) WaitEnded(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("nodetest: the call did not end within %s", d)
	}
}

// Hangup sends BYE on an answered call still up; otherwise it does nothing.
func (c *Caller) Hangup() {
	if c.dlg == nil || c.Code != 200 {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil {
		c.t.Logf("nodetest: BYE: %v", err)
	}
}

// Play sends 8 kHz samples (speech) as the caller's audio, then the tone.
func (c *Caller) Play(pcm []int16) { c.RTP.Play(pcm) }
