package nodetest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"

	"github.com/switchboard/switchboard/internal/media"
)

// srtpLink puts SRTP between an RTP and the node: the SDP names the
// link's socket; what the RTP sends is sealed with the link's own key and
// forwarded to the node, what the node sends is opened with the node's
// key (from its SDP) and handed to the RTP. So a tone, digits and
// ToneLevel work on an SRTP call as on a plain one.
type srtpLink struct {
	conn *net.UDPConn
	r    *RTP
	key  media.Crypto // ours

	mu       sync.Mutex
	remote   netip.AddrPort
	enc, dec *srtp.Context

	opened, failed atomic.Uint64
	wg             sync.WaitGroup
}

func newSRTPLink(r *RTP) (*srtpLink, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	l := &srtpLink{conn: c, r: r, key: media.NewCrypto(1)}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

func (l *srtpLink) local() netip.AddrPort { return l.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// offer is an RTP/SAVP SDP (offer or answer) at the link with our key
// under tag.
func (l *srtpLink) offer(direction string, tag uint32) []byte {
	k := l.key
	k.Tag = tag
	return media.BuildSDP(media.Offer{Local: l.local(), SessionID: uint64(time.Now().UnixNano()) >> 1,
		Version: uint64(time.Now().UnixNano()) >> 1, Codecs: []media.Codec{media.PCMU},
		TelephoneEvent: media.DefaultTelephoneEvent, Direction: direction, Secure: true, SRTP: true, Crypto: k})
}

// connect starts the audio with the node at remote, whose key is peer; a
// new peer key replaces the old.
func (l *srtpLink) connect(remote netip.AddrPort, peer media.Crypto) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enc == nil {
		enc, err := srtp.CreateContext(l.key.Key[:16], l.key.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			return err
		}
		l.enc = enc
	}
	dec, err := srtp.CreateContext(peer.Key[:16], peer.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return err
	}
	l.dec, l.remote = dec, remote
	l.r.SetRemote(l.local())
	return nil
}

func (l *srtpLink) run() {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.mu.Lock()
		enc, dec, remote := l.enc, l.dec, l.remote
		l.mu.Unlock()
		switch {
		case from == l.r.Local():
			if enc == nil || !remote.IsValid() {
				continue
			}
			if out, err := enc.EncryptRTP(nil, buf[:n], nil); err == nil {
				_, _ = l.conn.WriteToUDPAddrPort(out, remote)
			}
		case dec != nil:
			out, err := dec.DecryptRTP(nil, buf[:n], nil)
			if err != nil {
				l.failed.Add(1)
				continue
			}
			l.opened.Add(1)
			_, _ = l.conn.WriteToUDPAddrPort(out, l.r.Local())
		default:
			l.failed.Add(1)
		}
	}
}

func (l *srtpLink) close() {
	l.conn.Close()
	l.wg.Wait()
}

// SRTPCaller is a Caller whose offer is RTP/SAVP with an SDES key: its
// audio is sealed for the node and the node's is opened with the key of
// its answer.
type SRTPCaller struct {
	*Caller
	// Answer is the node's SDP answer, parsed (zero if refused).
	Answer media.Session
	link   *srtpLink
}

// Opened counts the node's SRTP packets that authenticated and
// decrypted with the key of its answer; Failed those that did not.
func (c *SRTPCaller) Opened() uint64 { return c.link.opened.Load() }

// Failed counts the node's packets that did not open.
func (c *SRTPCaller) Failed() uint64 { return c.link.failed.Load() }

// SRTPTag is the a=crypto tag an SRTPCaller offers its key under.
const SRTPTag = 3

// DialSRTP is Dial with an SRTP offer (RTP/SAVP, AES_CM_128_HMAC_SHA1_80
// under SRTPTag). An answered call whose answer has no key is returned
// with Answer.SRTP false and no audio.
func DialSRTP(t testing.TB, server netip.AddrPort, number string, opts ...CallOption) *SRTPCaller {
	t.Helper()
	o := dialOptions(opts)
	r, err := newRTP()
	if err != nil {
		t.Fatalf("nodetest: rtp: %v", err)
	}
	link, err := newSRTPLink(r)
	if err != nil {
		t.Fatalf("nodetest: srtp: %v", err)
	}
	call, answered := placeCall(t, server, number, o, r, link.offer("", SRTPTag), link.close)
	c := &SRTPCaller{Caller: call, link: link}
	if !answered {
		return c
	}
	if c.Answer, err = media.ParseSDP(c.dlg.InviteResponse.Body()); err != nil {
		t.Fatalf("nodetest: the node's SDP answer: %v", err)
	}
	if !c.Answer.SRTP {
		return c
	}
	r.SetTone(o.toneHz)
	if err := link.connect(c.Answer.Remote, c.Answer.Crypto); err != nil {
		t.Fatalf("nodetest: srtp: %v", err)
	}
	return c
}

// DialSRTP calls number at this node with an SRTP offer; see the
// package-level DialSRTP.
func (n *Node) DialSRTP(t testing.TB, number string, opts ...CallOption) *SRTPCaller {
	t.Helper()
	return DialSRTP(t, n.SIPAddr(), number, opts...)
}

// NewSRTPPhone is a Phone that speaks only SRTP, as a phone set to
// mandatory SRTP does: it answers an INVITE offering an SDES key with
// RTP/SAVP and its own key (the offer's tag), refuses any other with 488,
// and answers re-INVITEs alike. It always answers by itself.
func NewSRTPPhone(t testing.TB, server netip.AddrPort, ext, password string) *Phone {
	t.Helper()
	var links sync.Map // SIP Call-ID → *srtpLink
	return newPhone(t, server, ext, password,
		func(ph *Phone) sipgo.RequestHandler {
			return func(req *gosip.Request, tx gosip.ServerTransaction) { ph.onSRTPInvite(req, tx, &links) }
		},
		func() { links.Range(func(_, v any) bool { v.(*srtpLink).close(); return true }) })
}

// SRTPPhone registers the agent ext of this node's setup as an SRTP-only
// phone (NewSRTPPhone).
func (n *Node) SRTPPhone(t testing.TB, ext string) *Phone {
	t.Helper()
	for _, a := range n.Config().Agents {
		if a.Extension == ext {
			return NewSRTPPhone(t, n.SIPAddr(), ext, a.Password)
		}
	}
	t.Fatalf("nodetest: the setup has no agent %q", ext)
	return nil
}

func (ph *Phone) onSRTPInvite(req *gosip.Request, tx gosip.ServerTransaction, links *sync.Map) {
	sess, err := media.ParseSDP(req.Body())
	if err != nil || !sess.SRTP {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		c := ph.call(req)
		v, ok := links.Load(callID(req))
		if c == nil || !ok {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		link := v.(*srtpLink)
		if err := link.connect(sess.Remote, sess.Crypto); err != nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		_ = tx.Respond(gosip.NewSDPResponseFromRequest(req, link.offer(media.AnswerDirection(sess.Direction), sess.Crypto.Tag)))
		return
	}
	r, err := newRTP()
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	link, err := newSRTPLink(r)
	if err != nil {
		r.close()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	dlg, err := ph.p.dialog.ReadInvite(req, tx)
	if err != nil {
		link.close()
		r.close()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	links.Store(callID(req), link)
	c := &PhoneCall{ph: ph, dlg: dlg, sess: sess, RTP: r, answered: make(chan struct{}), ended: make(chan struct{})}
	c.decided.Store(true) // answered here, never by Answer
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
	r.SetTone(float64(ph.toneHz.Load()) / 1000)
	if err := link.connect(sess.Remote, sess.Crypto); err != nil {
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		c.end()
		return
	}
	if err := dlg.RespondSDP(link.offer("", sess.Crypto.Tag)); err != nil {
		c.end()
		return
	}
	close(c.answered) // once the 200 is out, as PhoneCall.Answer
}

// Reinvite sends a re-INVITE offering SRTP again, with a fresh key when
// rekey is set (the same key otherwise), and on its 200 goes on with the
// key of the node's answer.
func (c *SRTPCaller) Reinvite(ctx context.Context, rekey bool) error {
	l := c.link
	l.mu.Lock()
	if rekey {
		l.key, l.enc = media.NewCrypto(1), nil
	}
	l.mu.Unlock()
	req := gosip.NewRequest(gosip.INVITE, c.dlg.InviteResponse.Contact().Address)
	req.SetBody(l.offer("", SRTPTag))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		return errorf("re-INVITE: %w", err)
	}
	if res.IsSuccess() {
		ack := gosip.NewRequest(gosip.ACK, c.dlg.InviteResponse.Contact().Address)
		if err := c.dlg.WriteRequest(ack); err != nil {
			return errorf("ACK of the re-INVITE: %w", err)
		}
	}
	if res.StatusCode != 200 {
		return errorf("re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	sess, err := media.ParseSDP(res.Body())
	if err != nil || !sess.SRTP {
		return errorf("re-INVITE answer without SRTP: %v", err)
	}
	c.Answer = sess
	return l.connect(sess.Remote, sess.Crypto)
}

// ReinvitePlain sends a re-INVITE offering plain RTP only (no key) and
// returns its final status; on a 200 it is ACKed and the call goes on as
// the answer says.
func (c *SRTPCaller) ReinvitePlain(ctx context.Context) (int, error) {
	l := c.link
	body := media.BuildSDP(media.Offer{Local: l.local(), SessionID: uint64(time.Now().UnixNano()) >> 1,
		Version: uint64(time.Now().UnixNano()) >> 1, Codecs: []media.Codec{media.PCMU}, TelephoneEvent: media.DefaultTelephoneEvent})
	req := gosip.NewRequest(gosip.INVITE, c.dlg.InviteResponse.Contact().Address)
	req.SetBody(body)
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		return 0, errorf("re-INVITE: %w", err)
	}
	if res.IsSuccess() {
		ack := gosip.NewRequest(gosip.ACK, c.dlg.InviteResponse.Contact().Address)
		if err := c.dlg.WriteRequest(ack); err != nil {
			return res.StatusCode, errorf("ACK of the re-INVITE: %w", err)
		}
	}
	return res.StatusCode, nil
}
