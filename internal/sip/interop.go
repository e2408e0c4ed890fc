package sip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// This file is what an INVITE must pass, after authentication and before
// its SDP is read, so that what real phones, gateways and carriers send is
// answered as RFC 3261 §8.2 says rather than by accident: header
// inspection (single-valued headers, CSeq, Require, Replaces) and content
// processing (Content-Type, Content-Encoding, a multipart body).
//
// What sipgo cannot parse (a Content-Length larger than the datagram, a
// non-numeric Content-Length or CSeq, a broken From) never reaches the
// server: sipgo drops it, and there is nothing here to answer.

// supportedOptions are the SIP option tags (RFC 3261 §19.2) this server
// implements, which an INVITE may list in Require. None: not 100rel
// (reliable provisional responses, RFC 3262), not timer (session timers,
// RFC 4028: we never refresh), not replaces (an INVITE with Replaces is
// checked as RFC 3891 asks, then treated as a new call).
var supportedOptions = map[string]bool{}

// singleHeaders may appear once in a request (RFC 3261 §7.3.1: they are
// not comma-separated lists); a request with two is malformed.
var singleHeaders = []string{"Call-ID", "From", "To", "CSeq", "Max-Forwards", "Content-Type", "Content-Length"}

// refusal is a final response to a new INVITE the server gives on its own.
type refusal struct {
	code    int
	reason  string
	detail  string         // why, for the log, the Reason header and the call record
	headers []gosip.Header // e.g. Unsupported for 420, Accept for 415
}

func (r *refusal) response(req *gosip.Request) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, r.code, r.reason, nil)
	for _, h := range r.headers {
		res.AppendHeader(h)
	}
	if r.detail != "" {
		res.AppendHeader(gosip.NewHeader("Reason", fmt.Sprintf("SIP;cause=%d;text=%q", r.code, r.detail)))
	}
	return res
}

// replacesTarget is a Replaces header's dialog (RFC 3891 §6.1), as the
// receiving side names it: toTag is our tag, fromTag the peer's.
type replacesTarget struct {
	callID, toTag, fromTag string
}

// checkInvite inspects a new INVITE's headers and body and returns the
// offer to read, or the response that refuses the INVITE. dialogExists
// says whether the server has the dialog a Replaces header names.
func checkInvite(req *gosip.Request, dialogExists func(replacesTarget) bool) ([]byte, *refusal) {
	for _, name := range singleHeaders {
		if n := len(req.GetHeaders(name)); n > 1 {
			return nil, badRequest(fmt.Sprintf("%d %s headers", n, name))
		}
	}
	if cs := req.CSeq(); cs == nil || cs.MethodName != gosip.INVITE {
		return nil, badRequest("CSeq method is not INVITE")
	}
	if unsupported := unsupportedOptions(req); len(unsupported) > 0 {
		list := strings.Join(unsupported, ", ")
		return nil, &refusal{code: 420, reason: "Bad Extension", detail: "unsupported: " + list,
			headers: []gosip.Header{gosip.NewHeader("Unsupported", list)}}
	}
	if r := checkReplaces(req, dialogExists); r != nil {
		return nil, r
	}
	return offerBody(req)
}

func badRequest(detail string) *refusal {
	return &refusal{code: 400, reason: "Bad Request", detail: detail}
}

// unsupportedOptions lists the option tags of the request's Require
// headers that the server does not implement, as the request spelled them.
func unsupportedOptions(req *gosip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for opt := range strings.SplitSeq(h.Value(), ",") {
			opt = strings.TrimSpace(opt)
			if opt != "" && !supportedOptions[strings.ToLower(opt)] {
				out = append(out, opt)
			}
		}
	}
	return out
}

// checkReplaces applies RFC 3891 §3: more than one Replaces is 400, one
// that names no dialog of ours is 481.
func checkReplaces(req *gosip.Request, dialogExists func(replacesTarget) bool) *refusal {
	hs := req.GetHeaders("Replaces")
	if len(hs) == 0 {
		return nil
	}
	if len(hs) > 1 {
		return badRequest("more than one Replaces header")
	}
	t, err := parseReplaces(hs[0].Value())
	if err != nil {
		return badRequest(err.Error())
	}
	if dialogExists == nil || !dialogExists(t) {
		return &refusal{code: 481, reason: "Call/Transaction Does Not Exist", detail: "Replaces names no dialog"}
	}
	return nil
}

// parseReplaces reads "call-id;to-tag=a;from-tag=b[;early-only]".
func parseReplaces(v string) (replacesTarget, error) {
	if strings.Contains(v, ",") {
		return replacesTarget{}, errors.New("more than one Replaces value")
	}
	parts := strings.Split(v, ";")
	t := replacesTarget{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			t.toTag = strings.TrimSpace(val)
		case "from-tag":
			t.fromTag = strings.TrimSpace(val)
		}
	}
	if t.callID == "" || t.toTag == "" || t.fromTag == "" {
		return replacesTarget{}, fmt.Errorf("replaces %q lacks a Call-ID, to-tag or from-tag", v)
	}
	return t, nil
}

// acceptedBodies is the Accept header of a 415: an SDP offer, alone or as
// one part of a multipart body.
const acceptedBodies = "application/sdp, multipart/mixed"

// offerBody finds the SDP offer of an INVITE: the body itself
// (application/sdp, or no Content-Type at all, as some gateways send), or
// the application/sdp part of a multipart body (SIP-I and SIP-T gateways
// send the SDP beside an application/isup part, RFC 3204). An empty body
// is returned as it is: the SDP reader refuses it (no offerless INVITE).
func offerBody(req *gosip.Request) ([]byte, *refusal) {
	body := req.Body()
	if len(body) == 0 {
		return body, nil
	}
	for _, name := range []string{"Content-Encoding", "e"} {
		if h := req.GetHeader(name); h != nil && !strings.EqualFold(strings.TrimSpace(h.Value()), "identity") {
			return nil, &refusal{code: 415, reason: "Unsupported Media Type", detail: "Content-Encoding " + h.Value(),
				headers: []gosip.Header{gosip.NewHeader("Accept-Encoding", "identity")}}
		}
	}
	ct := headerValue(req, "Content-Type")
	if ct == "" {
		return body, nil
	}
	sdp, err := findSDP(ct, body, 0)
	if err != nil {
		return nil, &refusal{code: 415, reason: "Unsupported Media Type", detail: err.Error(),
			headers: []gosip.Header{gosip.NewHeader("Accept", acceptedBodies)}}
	}
	return sdp, nil
}

// errNoSDP means a body holds no application/sdp part.
var errNoSDP = errors.New("no application/sdp body")

// findSDP returns the SDP in a body of content type ct: the body itself,
// or the first application/sdp part of a multipart body, one level of
// nesting deep at most.
func findSDP(ct string, body []byte, depth int) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", ct, err)
	}
	switch {
	case mt == "application/sdp":
		return body, nil
	case !strings.HasPrefix(mt, "multipart/") || depth > 1:
		return nil, fmt.Errorf("%w: the body is %s", errNoSDP, mt)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, fmt.Errorf("%s body without a boundary", mt)
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w in %s", errNoSDP, mt)
		}
		if err != nil {
			return nil, fmt.Errorf("%s body: %w", mt, err)
		}
		pct := p.Header.Get("Content-Type")
		if pct == "" {
			continue // text/plain by default (RFC 2046 §5.1)
		}
		part, err := io.ReadAll(io.LimitReader(p, int64(len(body))))
		if err != nil {
			return nil, fmt.Errorf("%s body: %w", mt, err)
		}
		if sdp, err := findSDP(pct, part, depth+1); err == nil {
			if !bytes.HasSuffix(sdp, []byte("\n")) {
				// The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1).
				sdp = append(sdp, '\r', '\n')
			}
			return sdp, nil
		}
	}
}

// replacedDialog reports whether t names a dialog the server has: the
// Call-ID of a leg whose dialog has t's tags, ours as to-tag.
func (s *Server) replacedDialog(t replacesTarget) bool {
	v, ok := s.legs.Load(t.callID)
	if !ok {
		return false
	}
	d := v.(*Leg).dialog.Load()
	return d != nil && d.local == t.toTag && d.remote == t.fromTag
}
