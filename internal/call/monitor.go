package call

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

var monitorModes = map[string]media.MonitorMode{"listen": media.Listen, "whisper": media.Whisper, "barge": media.Barge}

// callOfAgent finds the call an agent is talking on.
func (m *Manager) callOfAgent(ext string) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		c.mu.Lock()
		ok := c.agentID == ext && c.agentLeg != nil && !c.ended
		c.mu.Unlock()
		if ok {
			return c
		}
	}
	return nil
}

// monitor joins a supervisor's phone to an agent's call: listen, whisper
// or barge (feature code + extension); 4, 5 and 6 switch modes on the way.
func (c *Call) monitor(ctx context.Context, modeName, ext string) {
	m, leg := c.m, c.caller
	sup := leg.AuthUser
	c.update(func(r *store.CallRecord) { r.Flow, r.Agent = "monitor", sup })
	if a, ok := m.agents[sup]; !ok || !a.Supervisor {
		leg.Reject(403, "Forbidden")
		c.end(OutcomeRejected, "system", "agent "+sup+" is not a supervisor")
		return
	}
	target := m.callOfAgent(ext)
	if target == nil {
		leg.Reject(404, "Not Found")
		c.end(OutcomeRejected, "system", "agent "+ext+" is on no call")
		return
	}
	if err := leg.Answer(); err != nil {
		c.end(OutcomeFailed, "system", "answer failed: "+err.Error())
		return
	}
	target.mu.Lock()
	callerLeg, agentLeg, queue := target.caller, target.agentLeg, target.rec.Queue
	target.mu.Unlock()
	mode := monitorModes[modeName]
	mon := media.NewMonitor(callerLeg.Media(), agentLeg.Media(), leg.Media(), mode)
	defer mon.Stop()
	m.event("monitor_started", target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s monitor_call=%s", mode, sup, c.ID))
	c.log.Info("monitoring", "agent", ext, "call", target.ID, "mode", mode)
	by, why := "", ""
	for why == "" {
		select {
		case d := <-leg.Media().Digits():
			next, ok := map[byte]media.MonitorMode{'4': media.Listen, '5': media.Whisper, '6': media.Barge}[d]
			if ok && next != mon.Mode() {
				mon.SetMode(next)
				m.event("monitor_mode", target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s", next, sup))
			}
		case <-leg.Done():
			by, why = "caller", "supervisor hung up"
		case <-callerLeg.Done():
			by, why = "system", "the monitored call ended"
		case <-agentLeg.Done():
			by, why = "system", "the monitored call ended"
		case <-ctx.Done():
			by, why = "system", "maximum call duration or shutdown"
		}
	}
	m.event("monitor_ended", target.ID, ext, queue, "supervisor="+sup+": "+why)
	leg.Hangup()
	c.end(OutcomeCompleted, by, "monitor ("+mon.Mode().String()+") of "+ext+": "+why)
}
