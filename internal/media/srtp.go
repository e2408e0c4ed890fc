package media

import (
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// srtpTagLen is what SRTP adds to an RTP packet: the 80-bit
// authentication tag of AES_CM_128_HMAC_SHA1_80 (no MKI).
const srtpTagLen = 10

// srtpReplayWindow is how far behind the newest packet an SRTP packet may
// arrive and still be taken once (RFC 3711 §3.3.2 asks for at least 64).
const srtpReplayWindow = 128

// sealer encrypts what one leg sends with the leg's own key. Every sender
// of the leg (the pacer, the peer's reader relaying, a mixer, DTMF) seals
// through it; mu serialises them, because an SRTP context keeps the
// stream's rollover counter.
type sealer struct {
	mu  sync.Mutex
	ctx *srtp.Context
	hdr rtp.Header // reused: EncryptRTP would allocate one per packet
}

// seal encrypts pkt in place and returns the SRTP packet: pkt must have
// srtpTagLen bytes of capacity beyond its length.
func (s *sealer) seal(pkt []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx.EncryptRTP(pkt, pkt, &s.hdr)
}

// newSRTPContext is an AES_CM_128_HMAC_SHA1_80 context for key; replay
// protection is for the receiving side.
func newSRTPContext(key Crypto, replay bool) (*srtp.Context, error) {
	var opts []srtp.ContextOption
	if replay {
		opts = append(opts, srtp.SRTPReplayProtection(srtpReplayWindow))
	}
	return srtp.CreateContext(key.Key[:16], key.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
}

// opener decrypts what the peer sends with the peer's key. Only the leg's
// reader uses it, one packet at a time.
type opener struct {
	key Crypto
	ctx *srtp.Context
}

// LocalCrypto is the key this leg encrypts with, under tag, for an SDP
// offer or answer. The key is made, at random, the first time it is
// asked for and kept for the leg's life (a re-INVITE keeps it).
func (ep *Endpoint) LocalCrypto(tag uint32) Crypto {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.localKeyLocked()
	c := ep.localKey
	c.Tag = tag
	return c
}

func (ep *Endpoint) localKeyLocked() {
	if !ep.haveKey {
		ep.localKey = NewCrypto(1)
		ep.haveKey = true
	}
}

// PlainOnly makes the leg refuse best-effort SRTP (an RTP/AVP offer with
// a=crypto): the current session, and every later one of that kind, is
// taken as plain RTP. An RTP/SAVP session is still SRTP (it cannot be
// anything else).
func (ep *Endpoint) PlainOnly() {
	ep.mu.Lock()
	ep.plainOnly = true
	s := ep.negotiated
	ep.mu.Unlock()
	if s.SRTP && !s.Secure {
		ep.SetSession(s)
	}
}

// RequireSRTP makes the leg keep SRTP once it has it: a later session
// without a key (a re-INVITE offering plain RTP) keeps the current keys,
// so nothing the leg sends or takes is ever plain.
func (ep *Endpoint) RequireSRTP() {
	ep.mu.Lock()
	ep.requireSRTP = true
	ep.mu.Unlock()
}

// SRTPPolicy reports what the leg was told: required (RequireSRTP) keeps
// SRTP, plainOnly (PlainOnly) keeps plain RTP; neither lets a new session
// choose.
func (ep *Endpoint) SRTPPolicy() (required, plainOnly bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.requireSRTP, ep.plainOnly
}

// SRTP reports whether the leg's media is SRTP.
func (ep *Endpoint) SRTP() bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.negotiated.SRTP
}

// setSRTPLocked applies a new session's SRTP to the leg: the peer's key
// for what arrives (the same key keeps its context, with its replay
// window and rollover counter; a new one starts afresh), ours for what
// goes out. It returns the session as the leg takes it.
func (ep *Endpoint) setSRTPLocked(s Session) Session {
	if s.SRTP && ep.plainOnly && !s.Secure {
		s.SRTP, s.Crypto = false, Crypto{}
	}
	if !s.SRTP && ep.requireSRTP && ep.negotiated.SRTP {
		s.Secure, s.SRTP, s.Crypto = ep.negotiated.Secure, true, ep.negotiated.Crypto
	}
	if !s.SRTP {
		s.Crypto = Crypto{}
		ep.open = nil
		ep.seal.Store(nil)
		return s
	}
	if ep.open == nil || ep.open.key.Key != s.Crypto.Key {
		ctx, err := newSRTPContext(s.Crypto, true)
		if err != nil { // only for keys of the wrong size, which parseCrypto refuses
			ep.e.log.Error("media: SRTP context for the peer's key", "local", ep.local, "err", err)
			ep.open = &opener{key: s.Crypto} // nil ctx: everything fails to open
		} else {
			ep.open = &opener{key: s.Crypto, ctx: ctx}
		}
	}
	ep.localKeyLocked()
	if ep.sealer == nil {
		ctx, err := newSRTPContext(ep.localKey, false)
		if err != nil {
			ep.e.log.Error("media: SRTP context for our key", "local", ep.local, "err", err)
		} else {
			ep.sealer = &sealer{ctx: ctx}
		}
	}
	ep.seal.Store(ep.sealer)
	return s
}

// openSRTP authenticates and decrypts pkt in place with the peer's key
// and returns the RTP packet; false drops it.
func openSRTP(o *opener, pkt []byte, h *rtp.Header) ([]byte, bool) {
	if o.ctx == nil {
		return nil, false
	}
	out, err := o.ctx.DecryptRTP(pkt, pkt, h)
	if err != nil {
		return nil, false
	}
	return out, true
}
