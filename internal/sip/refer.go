package sip

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Transfer is a REFER received on a leg: the phone asks Switchboard to
// send the other party of its call to Target (blind), or, with Replaces,
// to the far end of another of its calls (attended).
type Transfer struct {
	// Target is the user part of the Refer-To URI: an extension, a queue,
	// a number.
	Target string
	// Replaces is the SIP Call-ID of the consultation call an attended
	// transfer replaces ("" for blind).
	Replaces string
}

// ParseReferTo reads a Refer-To header value: <sip:user@host> or
// <sip:user@host?Replaces=callid%3Bto-tag%3D..%3Bfrom-tag%3D..>.
func ParseReferTo(v string) (Transfer, error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return Transfer{}, fmt.Errorf("sip: Refer-To %q: no closing >", v)
		}
		v = v[i+1 : i+j]
	}
	var t Transfer
	uri, headers, _ := strings.Cut(v, "?")
	var u gosip.Uri
	if err := gosip.ParseUri(uri, &u); err != nil {
		return Transfer{}, fmt.Errorf("sip: Refer-To %q: %w", v, err)
	}
	if u.User == "" {
		return Transfer{}, fmt.Errorf("sip: Refer-To %q names no user", v)
	}
	t.Target = u.User
	if headers != "" {
		q, err := url.ParseQuery(headers)
		if err != nil {
			return Transfer{}, fmt.Errorf("sip: Refer-To %q headers: %w", v, err)
		}
		if r := q.Get("Replaces"); r != "" {
			t.Replaces, _, _ = strings.Cut(r, ";")
		}
	}
	return t, nil
}

// OnTransfer registers f, called when the far end of the leg sends REFER.
// f returns nil to accept (202, then NOTIFY with progress through
// NotifyTransfer) or an error to refuse (603).
func (l *Leg) OnTransfer(f func(t Transfer) error) { l.referFn.Store(&f) }

func (s *Server) onRefer(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("REFER")
	l := s.inDialog(req)
	if l == nil {
		s.noDialog(req, tx)
		return
	}
	t, err := ParseReferTo(headerValue(req, "Refer-To"))
	if err != nil {
		s.log.Info("sip: unreadable REFER", "sip_call_id", l.ID, "err", err)
		s.respond(req, tx, 400, "Bad Request", err.Error())
		return
	}
	f := l.referFn.Load()
	if f == nil {
		s.respond(req, tx, 603, "Decline", "transfer not possible on this call")
		return
	}
	// NOTIFYs about this transfer wait for the 202 (referMu), so the phone
	// sees the acceptance first.
	l.referMu.Lock()
	defer l.referMu.Unlock()
	if err := (*f)(t); err != nil {
		s.log.Info("sip: transfer refused", "sip_call_id", l.ID, "target", t.Target, "err", err)
		s.respond(req, tx, 603, "Decline", err.Error())
		return
	}
	s.metrics.response(202)
	s.send(tx, gosip.NewResponseFromRequest(req, 202, "Accepted", nil))
}

// referNote is one NOTIFY to send about a transfer.
type referNote struct {
	code   int
	reason string
}

// NotifyTransfer tells the phone that sent REFER how the transfer goes
// (RFC 3515). It does not wait: the NOTIFYs go out in order from one
// goroutine of the leg, after the REFER's 202, for as long as the leg lives.
func (l *Leg) NotifyTransfer(code int, reason string) {
	l.notesOnce.Do(func() {
		l.notes = make(chan referNote, 8)
		go l.notifier(l.notes)
	})
	select {
	case l.notes <- referNote{code, reason}:
	default: // a phone that does not answer NOTIFYs: drop, never block the call
	}
}

func (l *Leg) notifier(notes <-chan referNote) {
	for {
		select {
		case n := <-notes:
			l.referMu.Lock()
			l.notify(n.code, n.reason)
			l.referMu.Unlock()
		case <-l.done:
			return
		}
	}
}

// notify sends one NOTIFY: a sipfrag with the status; 200 and above end
// the subscription.
func (l *Leg) notify(code int, reason string) {
	var target gosip.Uri
	switch {
	case l.client() != nil && l.client().InviteResponse != nil && l.client().InviteResponse.Contact() != nil:
		target = l.client().InviteResponse.Contact().Address
	case l.srv != nil && l.srv.InviteRequest.Contact() != nil:
		target = l.srv.InviteRequest.Contact().Address
	default:
		return
	}
	req := gosip.NewRequest(gosip.NOTIFY, *target.Clone())
	req.AppendHeader(gosip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if code >= 200 {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(gosip.NewHeader("Subscription-State", state))
	req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	switch {
	case l.client() != nil:
		_, err = l.client().Do(ctx, req)
	case l.srv != nil:
		_, err = l.srv.Do(ctx, req)
	}
	l.s.metrics.request("NOTIFY-out")
	if err != nil {
		l.s.log.Debug("sip: NOTIFY", "sip_call_id", l.ID, "err", err)
	}
}
