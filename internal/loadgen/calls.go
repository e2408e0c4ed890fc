package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

func (g *Generator) offer(ep *media.Endpoint) []byte {
	return media.BuildSDP(media.Offer{Local: ep.Local(), SessionID: rand.Uint64() >> 1, Codecs: []media.Codec{media.PCMU, media.PCMA},
		TelephoneEvent: media.DefaultTelephoneEvent})
}

// call is one caller: dial, listen to the greeting, press the digits, wait
// for an agent (or give up), talk until the agent hangs up.
func (g *Generator) call(ctx context.Context, n int, patience time.Duration, ph phase) {
	g.placed.Add(1)
	if a := g.active.Add(1); a > g.peak.Load() {
		g.peak.Store(a)
	}
	defer g.active.Add(-1)
	ep, err := g.eng.NewEndpoint()
	if err != nil {
		g.failCall(ph, "call %d: media: %v", n, err)
		return
	}
	up := false // answered: its RTP counts in the phase's fewest received
	defer func() { g.collect(ep, ph, up) }()
	user := "7" + strconv.Itoa(100000+n)
	connected := make(chan struct{})
	g.mu.Lock()
	g.waiting[user] = connected
	g.callPhase[user] = ph
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.waiting, user)
		delete(g.callPhase, user)
		g.mu.Unlock()
	}()

	var target gosip.Uri
	if err := gosip.ParseUri("sip:"+g.cfg.Number+"@"+g.cfg.Target, &target); err != nil {
		g.failCall(ph, "call %d: target: %v", n, err)
		return
	}
	from := &gosip.FromHeader{DisplayName: "Load " + user, Address: gosip.Uri{Scheme: "sip", User: user, Host: g.cfg.Local, Port: g.cfg.SIPPort},
		Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	setupCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t0 := time.Now()
	dlg, err := g.dialog.Invite(setupCtx, target, g.offer(ep), from, gosip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		g.failCall(ph, "call %d: invite: %v", n, err)
		return
	}
	cid := dlg.InviteRequest.CallID().Value()
	g.mu.Lock()
	g.callers[cid] = dlg
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.callers, cid)
		g.mu.Unlock()
		dlg.Close()
	}()
	if err := dlg.WaitAnswer(setupCtx, sipgo.AnswerOptions{}); err != nil {
		if refused, retryAfter := isRefusal(err); refused {
			g.refused(ph, retryAfter)
			return
		}
		g.failCall(ph, "call %d: answer: %v", n, err)
		return
	}
	setup := time.Since(t0)
	up = true
	answeredAt := time.Now()
	defer func() { g.callNanos.Add(int64(time.Since(answeredAt))) }()
	sess, err := media.ParseSDP(dlg.InviteResponse.Body())
	if err := dlg.Ack(ctx); err != nil {
		g.failCall(ph, "call %d: ack: %v", n, err)
		return
	}
	if err != nil {
		g.failCall(ph, "call %d: %v", n, errNoCodec)
		_ = dlg.Bye(context.Background())
		return
	}
	g.mu.Lock()
	g.setups = append(g.setups, float64(setup.Microseconds())/1000)
	g.mu.Unlock()
	ep.SetSession(sess)
	if g.cfg.Sound != nil {
		ep.Loop(g.cfg.Sound)
	}
	ended := dlg.Context().Done()
	hangup := func() {
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer bcancel()
		_ = dlg.Bye(bctx)
	}
	select {
	case <-time.After(g.cfg.GreetingWait):
	case <-ended:
		g.failCall(ph, "call %d: server hung up during the greeting", n)
		return
	case <-ctx.Done():
		hangup()
		return
	}
	for _, d := range []byte(g.cfg.Digits) {
		_ = ep.SendDTMF(d, 100*time.Millisecond)
	}
	if g.cfg.Agents == 0 {
		g.talkAndHangUp(ctx, n, ph, ended, hangup)
		return
	}
	queued := time.Now()
	var giveUp <-chan time.Time
	if patience > 0 {
		t := time.NewTimer(patience)
		defer t.Stop()
		giveUp = t.C
	}
	select {
	case <-connected:
		wait := time.Since(queued)
		g.answered.Add(1)
		g.mu.Lock()
		g.phase[ph].Answered++
		g.waits = append(g.waits, float64(wait.Microseconds())/1000)
		if wait <= g.cfg.Threshold {
			g.within++
		}
		g.mu.Unlock()
	case <-giveUp:
		g.abandons.Add(1)
		hangup()
		return
	case <-ended:
		g.failCall(ph, "call %d: server hung up while waiting", n)
		return
	case <-ctx.Done():
		hangup()
		return
	}
	// Talk until the agent hangs up (the server then ends our leg).
	limit := time.NewTimer(max(g.cfg.Handle.Mean*20, 2*g.cfg.HoldFor) + time.Minute)
	defer limit.Stop()
	select {
	case <-ended:
	case <-limit.C:
		g.failCall(ph, "call %d: not ended by the agent", n)
		hangup()
	case <-ctx.Done():
		hangup()
	}
}

// talkAndHangUp is a caller without agents (the callee itself answered,
// e.g. SIPp as a server): it talks for a sampled handle time and hangs up.
func (g *Generator) talkAndHangUp(ctx context.Context, n int, ph phase, ended <-chan struct{}, hangup func()) {
	g.answered.Add(1)
	g.conn.Add(1)
	defer g.conn.Add(-1)
	g.mu.Lock()
	g.phase[ph].Answered++
	g.waits = append(g.waits, 0)
	g.within++
	handle := g.cfg.Handle.Sample(g.rng)
	if ph == phaseHold {
		handle = g.cfg.HoldFor
	}
	g.mu.Unlock()
	t := time.NewTimer(handle)
	defer t.Stop()
	select {
	case <-t.C:
		hangup()
	case <-ended:
		g.failCall(ph, "call %d: the callee hung up before the handle time", n)
	case <-ctx.Done():
		hangup()
	}
}

// collect adds a leg's RTP figures to the report (and its phase's) and
// closes it; up says the leg was answered.
func (g *Generator) collect(ep *media.Endpoint, ph phase, up bool) {
	ep.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	sent, received, lost := ep.Sent.Load(), ep.Received.Load(), ep.Lost.Load()
	g.rep.RTPSent += sent
	g.rep.RTPReceived += received
	g.rep.RTPLost += lost
	p := &g.phase[ph]
	p.RTPSent += sent
	p.RTPReceived += received
	p.RTPLost += lost
	if up && (p.legs == 0 || received < p.MinReceived) {
		p.MinReceived = received
	}
	if up {
		p.legs++
	}
	if ep.Received.Load() > 10 {
		g.jitters = append(g.jitters, float64(ep.Jitter().Microseconds())/1000)
	}
}

// onInvite is an agent's phone ringing: answer after the ring delay, talk
// for a sampled handle time, hang up.
func (g *Generator) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	sess, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	ep, err := g.eng.NewEndpoint()
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	ep.SetSession(sess)
	dlg, err := g.dialog.ReadInvite(req, tx)
	if err != nil {
		ep.Close()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	cid := req.CallID().Value()
	caller := req.From().Address.User
	ph := g.phaseOf(caller)
	g.mu.Lock()
	g.legs[cid] = &agentLeg{dlg: dlg, ep: ep}
	handle := g.cfg.Handle.Sample(g.rng)
	if ph == phaseHold {
		handle = g.cfg.HoldFor
	}
	start := g.start
	g.mu.Unlock()
	go func() {
		answered := false
		defer func() {
			g.mu.Lock()
			delete(g.legs, cid)
			g.mu.Unlock()
			g.collect(ep, ph, answered)
			dlg.Close()
		}()
		_ = dlg.Respond(180, "Ringing", nil)
		select {
		case <-time.After(g.cfg.RingDelay):
		case <-dlg.Context().Done():
			return // cancelled while ringing
		}
		answer := media.BuildSDP(media.Offer{Local: ep.Local(), SessionID: rand.Uint64() >> 1, Codecs: []media.Codec{sess.Codec},
			TelephoneEvent: sess.TelephoneEvent})
		if err := dlg.RespondSDP(answer); err != nil {
			return
		}
		answered = true
		g.agentAns.Add(1)
		g.conn.Add(1)
		defer g.conn.Add(-1)
		g.mu.Lock()
		if ch, ok := g.waiting[caller]; ok {
			close(ch)
			delete(g.waiting, caller)
		}
		g.mu.Unlock()
		if g.cfg.Sound != nil {
			ep.Loop(g.cfg.Sound)
		}
		select {
		case <-time.After(handle):
			g.noteEnd(ph, false, start)
			bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = dlg.Bye(bctx)
		case <-dlg.Context().Done():
			g.noteEnd(ph, true, start)
		}
	}()
	// Keep the INVITE transaction until the final response is out.
	select {
	case <-dlg.Context().Done():
	case <-time.After(g.cfg.RingDelay + 5*time.Second):
	}
}

func (g *Generator) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	if l := g.leg(req); l != nil {
		_ = l.dlg.ReadBye(req, tx)
		return
	}
	g.mu.Lock()
	var dlg *sipgo.DialogClientSession
	if cid := req.CallID(); cid != nil {
		dlg = g.callers[cid.Value()]
	}
	g.mu.Unlock()
	if dlg == nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = dlg.ReadBye(req, tx)
}

func percentiles(v []float64) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	slices.Sort(v)
	at := func(q float64) float64 { return v[min(int(q*float64(len(v))), len(v)-1)] }
	return Percentiles{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: v[len(v)-1]}
}

func (g *Generator) finish() Report {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rep
	r.Placed, r.Answered, r.Abandoned, r.Failed = int(g.placed.Load()), int(g.answered.Load()), int(g.abandons.Load()), int(g.failed.Load())
	r.CallSeconds = time.Duration(g.callNanos.Load()).Seconds()
	r.AgentCalls = int(g.agentAns.Load())
	for i := range g.phase {
		g.phase[i].finish()
		r.Refused503 += g.phase[i].Refused503
		r.RetryAfter += g.phase[i].RetryAfter
	}
	if g.cfg.Hold > 0 {
		r.Overload = &OverloadReport{Hold: g.phase[phaseHold], Surge: g.phase[phaseMain], Recovery: g.phase[phaseRecover]}
	}
	r.Setup, r.Wait = percentiles(g.setups), percentiles(g.waits)
	if r.Placed > 0 {
		r.ServiceLvl = float64(g.within) / float64(r.Placed)
	}
	if exp := r.RTPReceived + r.RTPLost; exp > 0 {
		r.RTPLossPct = float64(r.RTPLost) * 100 / float64(exp)
	}
	if len(g.jitters) > 0 {
		sum := 0.0
		for _, j := range g.jitters {
			sum += j
		}
		r.JitterMs = sum / float64(len(g.jitters))
		r.JitterMaxMs = slices.Max(g.jitters)
	}
	r.PeakActive = int(g.peak.Load())
	r.Seconds = r.Duration.Seconds()
	return r
}

// String renders the report for a terminal.
func (r Report) String() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("calls placed %d, answered by an agent %d, abandoned %d, failed %d, refused 503 %d (with Retry-After %d) (peak %d concurrent)\n",
		r.Placed, r.Answered, r.Abandoned, r.Failed, r.Refused503, r.RetryAfter, r.PeakActive)
	w("agents registered %d\n", r.Registered)
	w("setup latency ms   p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n", r.Setup.P50, r.Setup.P95, r.Setup.P99, r.Setup.Max)
	w("wait for agent ms  p50 %.0f  p95 %.0f  p99 %.0f  max %.0f\n", r.Wait.P50, r.Wait.P95, r.Wait.P99, r.Wait.Max)
	w("service level      %.1f%% of placed calls answered within the threshold\n", r.ServiceLvl*100)
	w("RTP                sent %d, received %d, lost %d (%.3f%%), jitter mean %.2f ms, max %.2f ms\n", r.RTPSent, r.RTPReceived, r.RTPLost, r.RTPLossPct, r.JitterMs, r.JitterMaxMs)
	w("duration           %.1f s\n", r.Seconds)
	if o := r.Overload; o != nil {
		b.WriteString(o.Hold.summary("held"))
		b.WriteString(o.Surge.summary("surge"))
		b.WriteString(o.Recovery.summary("recovery"))
	}
	for _, e := range r.Errors {
		w("error: %s\n", e)
	}
	return b.String()
}
