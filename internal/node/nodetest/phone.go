package nodetest

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// Phone is an agent's SIP phone: it REGISTERs with digest auth, rings on
// INVITEs from the node and answers them itself (180 then 200 with an SDP
// offering PCMU and a real RTP socket) unless told to wait. Cleanup hangs up
// its calls and unregisters it.
type Phone struct {
	Ext string

	t        testing.TB
	p        *peer
	password string
	auto     atomic.Bool
	toneHz   atomic.Uint64 // float64 bits
	// contactHost is the host of its REGISTER's Contact (127.0.0.1 unless
	// SetContactHost: a phone behind NAT names its LAN address).
	contactHost atomic.Pointer[string]

	mu      sync.Mutex
	calls   map[string]*PhoneCall // SIP Call-ID → call
	ringing chan *PhoneCall
}

// PhoneCall is one call ringing or up on a Phone.
type PhoneCall struct {
	// Caller is the From user of the INVITE (the caller's number).
	Caller string
	// RTP is the phone's audio on this call.
	RTP *RTP

	ph       *Phone
	dlg      *sipgo.DialogServerSession
	sess     media.Session
	answered chan struct{}
	ended    chan struct{}
	endOnce  sync.Once
	decided  atomic.Bool
}

// NewPhone registers ext (with password) at the node at server; it answers
// calls itself until SetAutoAnswer(false).
func NewPhone(t testing.TB, server netip.AddrPort, ext, password string) *Phone {
	t.Helper()
	return newPhone(t, server, ext, password, func(ph *Phone) sipgo.RequestHandler { return ph.onInvite }, nil)
}

// newPhone builds a Phone whose INVITEs go to the handler invite makes,
// registers it for an hour, and on Cleanup hangs up its calls, runs
// cleanup (if any) and unregisters it.
func newPhone(t testing.TB, server netip.AddrPort, ext, password string, invite func(*Phone) sipgo.RequestHandler, cleanup func()) *Phone {
	t.Helper()
	ph := &Phone{Ext: ext, t: t, password: password, calls: map[string]*PhoneCall{}, ringing: make(chan *PhoneCall, 16)}
	ph.auto.Store(true)
	ph.p = newPeer(t, server, ext, func(srv *sipgo.Server) {
		srv.OnInvite(invite(ph))
		srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
			if c := ph.call(req); c != nil {
				_ = c.dlg.ReadAck(req, tx)
			}
		})
		srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
			c := ph.call(req)
			if c == nil {
				_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			_ = c.dlg.ReadBye(req, tx)
			c.end()
		})
	})
	t.Cleanup(func() {
		ph.mu.Lock()
		calls := make([]*PhoneCall, 0, len(ph.calls))
		for _, c := range ph.calls {
			calls = append(calls, c)
		}
		ph.mu.Unlock()
		for _, c := range calls {
			_ = c.Hangup()
			c.RTP.close()
		}
		if cleanup != nil {
			cleanup()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ph.Register(ctx, 0)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ph.Register(ctx, time.Hour); err != nil {
		t.Fatalf("nodetest: phone %s: %v", ext, err)
	}
	return ph
}

// Phone registers the agent ext of this node's setup, with its password.
func (n *Node) Phone(t testing.TB, ext string) *Phone {
	t.Helper()
	for _, a := range n.Config().Agents {
		if a.Extension == ext {
			return NewPhone(t, n.SIPAddr(), ext, a.Password)
		}
	}
	t.Fatalf("nodetest: the setup has no agent %q", ext)
	return nil
}

// Register sends REGISTER for expires (0 unregisters), answering the
// digest challenge.
func (ph *Phone) Register(ctx context.Context, expires time.Duration) error {
	p := ph.p
	req := gosip.NewRequest(gosip.REGISTER, p.uri(""))
	aor := p.uri(ph.Ext)
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	host := "127.0.0.1"
	if h := ph.contactHost.Load(); h != nil {
		host = *h
	}
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: ph.Ext, Host: host, Port: int(p.addr.Port())}})
	req.AppendHeader(expiresHeader(expires))
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return errorf("REGISTER %s: %w", ph.Ext, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ph.Ext, Password: ph.password})
		if err != nil {
			return errorf("REGISTER %s with credentials: %w", ph.Ext, err)
		}
	}
	if res.StatusCode != 200 {
		return errorf("REGISTER %s: %d %s", ph.Ext, res.StatusCode, res.Reason)
	}
	return nil
}

// SetContactHost makes the next REGISTER's Contact name host, as a phone
// behind NAT names its LAN address; the phone still sends and listens on
// 127.0.0.1.
func (ph *Phone) SetContactHost(host string) { ph.contactHost.Store(&host) }

// SetAutoAnswer turns answering by itself on (the default) or off; off,
// calls ring until Answer or Reject.
func (ph *Phone) SetAutoAnswer(on bool) { ph.auto.Store(on) }

// SetTone makes the phone send a sine at hz on calls it answers from now.
func (ph *Phone) SetTone(hz float64) { ph.toneHz.Store(uint64(hz * 1000)) }

// NextCall waits up to d for the next call to ring and returns it.
func (ph *Phone) NextCall(t testing.TB, d time.Duration) *PhoneCall {
	t.Helper()
	select {
	case c := <-ph.ringing:
		return c
	case <-time.After(d):
		t.Fatalf("nodetest: phone %s: no call within %s", ph.Ext, d)
		return nil
	}
}

func (ph *Phone) call(req *gosip.Request) *PhoneCall {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.calls[callID(req)]
}

func (ph *Phone) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		// A re-INVITE from the node (session refresh, its own hold): echo
		// our SDP with the direction its offer implies.
		c := ph.call(req)
		if c == nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		dir := ""
		if s, err := media.ParseSDP(req.Body()); err == nil {
			dir = media.AnswerDirection(s.Direction)
		}
		_ = tx.Respond(gosip.NewSDPResponseFromRequest(req, offer(c.RTP, dir)))
		return
	}
	sess, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	r, err := newRTP()
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	dlg, err := ph.p.dialog.ReadInvite(req, tx)
	if err != nil {
		r.close()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	c := &PhoneCall{ph: ph, dlg: dlg, sess: sess, RTP: r, answered: make(chan struct{}), ended: make(chan struct{})}
	if f := req.From(); f != nil {
		c.Caller = f.Address.User
	}
	ph.mu.Lock()
	ph.calls[callID(req)] = c
	ph.mu.Unlock()
	go func() {
		<-dlg.Context().Done()
		c.end()
	}()
	_ = dlg.Respond(180, "Ringing", nil)
	select {
	case ph.ringing <- c:
	default:
	}
	if ph.auto.Load() {
		go func() { _ = c.Answer() }()
	}
	// The INVITE transaction stays until the final response (or CANCEL).
	select {
	case <-c.answered:
	case <-c.ended:
	case <-tx.Done():
		c.end()
	}
}

// end marks the call over and stops its audio.
func (c *PhoneCall) end() {
	c.endOnce.Do(func() {
		close(c.ended)
		c.RTP.SetRemote(netip.AddrPort{})
	})
}

// Answer answers a ringing call with 200 and an SDP for its RTP socket,
// waits for the ACK and starts the audio.
func (c *PhoneCall) Answer() error {
	if !c.decided.CompareAndSwap(false, true) {
		return errorf("call already answered or rejected")
	}
	c.RTP.SetTone(float64(c.ph.toneHz.Load()) / 1000)
	c.RTP.SetRemote(c.sess.Remote)
	// Answered is closed only once the 200 is out: a test that then holds
	// or transfers the call uses the dialog RespondSDP has finished with.
	if err := c.dlg.RespondSDP(offer(c.RTP, "")); err != nil {
		c.end()
		return errorf("answer: %w", err)
	}
	close(c.answered)
	return nil
}

// Reject refuses a ringing call with code (486 Busy Here, say).
func (c *PhoneCall) Reject(code int, reason string) error {
	if !c.decided.CompareAndSwap(false, true) {
		return errorf("call already answered or rejected")
	}
	defer c.end()
	return c.dlg.Respond(code, reason, nil)
}

// Answered is closed once the phone has answered.
func (c *PhoneCall) Answered() <-chan struct{} { return c.answered }

// Ended is closed when the call is over.
func (c *PhoneCall) Ended() <-chan struct{} { return c.ended }

// WaitEnded fails the test unless the call ends within d.
func (c *PhoneCall) WaitEnded(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-c.ended:
	case <-time.After(d):
		t.Fatalf("nodetest: phone %s: the call did not end within %s", c.ph.Ext, d)
	}
}

// Hold puts the call on hold with a re-INVITE offering sendonly; as a
// desk phone does, it then sends silence instead of its tone.
func (c *PhoneCall) Hold(ctx context.Context) error {
	if err := c.reinvite(ctx, media.SendOnly); err != nil {
		return err
	}
	c.RTP.SetTone(0)
	return nil
}

// Resume takes the call off hold with a re-INVITE offering sendrecv and
// sends the phone's tone again.
func (c *PhoneCall) Resume(ctx context.Context) error {
	if err := c.reinvite(ctx, media.SendRecv); err != nil {
		return err
	}
	c.RTP.SetTone(float64(c.ph.toneHz.Load()) / 1000)
	return nil
}

// up waits until the call's 200 is out (Answer has finished with the
// dialog), so a request in the dialog never races the answer.
func (c *PhoneCall) up(ctx context.Context) error {
	select {
	case <-c.answered:
		return nil
	case <-c.ended:
		return errorf("the call ended before it was answered")
	case <-ctx.Done():
		return errorf("the call was not answered: %w", ctx.Err())
	}
}

func (c *PhoneCall) reinvite(ctx context.Context, dir string) error {
	if err := c.up(ctx); err != nil {
		return err
	}
	req := gosip.NewRequest(gosip.INVITE, c.dlg.InviteRequest.Contact().Address)
	req.SetBody(offer(c.RTP, dir))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		return errorf("re-INVITE (%s): %w", dir, err)
	}
	if res.IsSuccess() {
		ack := gosip.NewRequest(gosip.ACK, c.dlg.InviteRequest.Contact().Address)
		if err := c.dlg.WriteRequest(ack); err != nil {
			return errorf("ACK of the re-INVITE: %w", err)
		}
	}
	if res.StatusCode != 200 {
		return errorf("re-INVITE (%s): %d %s", dir, res.StatusCode, res.Reason)
	}
	return nil
}

// Refer asks the node to transfer the call to target (a number or an
// extension; a bare one becomes sip:target@<the node>) and returns the
// status of the REFER (202 when accepted).
func (c *PhoneCall) Refer(ctx context.Context, target string) (int, error) {
	if err := c.up(ctx); err != nil {
		return 0, err
	}
	if !strings.Contains(target, ":") {
		u := c.ph.p.uri(target)
		target = u.String()
	}
	req := gosip.NewRequest(gosip.REFER, c.dlg.InviteRequest.Contact().Address)
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+target+">"))
	by := c.ph.p.uri(c.ph.Ext)
	req.AppendHeader(gosip.NewHeader("Referred-By", "<"+by.String()+">"))
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		return 0, errorf("REFER: %w", err)
	}
	return res.StatusCode, nil
}

// Hangup sends BYE on a call that was answered and is still up.
func (c *PhoneCall) Hangup() error {
	select {
	case <-c.ended:
		return nil
	case <-c.answered:
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer c.end()
	return c.dlg.Bye(ctx)
}
