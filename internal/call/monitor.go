package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

var monitorModes = map[string]media.MonitorMode{"listen": media.Listen, "whisper": media.Whisper, "barge": media.Barge}

// ErrBadMode names a monitor mode that does not exist.
var ErrBadMode = errors.New("call: mode is listen, whisper or barge")

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
	by, why, mode := m.runMonitor(ctx, target, leg, monitorModes[modeName], sup, nil)
	leg.Hangup()
	c.end(OutcomeCompleted, by, fmt.Sprintf("monitor (%s) of %s: %s", mode, ext, why))
}

// runMonitor mixes target's call for supLeg until one of them ends; the
// supervisor's keys 4, 5, 6 (and modes sent on the channel) switch modes.
func (m *Manager) runMonitor(ctx context.Context, target *Call, supLeg *sip.Leg, mode media.MonitorMode, sup string, modes <-chan media.MonitorMode) (by, why string, last media.MonitorMode) {
	target.mu.Lock()
	callerLeg, agentLeg, queue, ext := target.caller, target.agentLeg, target.rec.Queue, target.agentID
	target.mu.Unlock()
	mon := media.NewMonitor(callerLeg.Media(), agentLeg.Media(), supLeg.Media(), mode)
	defer mon.Stop()
	m.event("monitor_started", target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s", mode, sup))
	m.log.Info("monitoring", "agent", ext, "call", target.ID, "mode", mode, "supervisor", sup)
	setMode := func(next media.MonitorMode) {
		if next != mon.Mode() {
			mon.SetMode(next)
			m.event("monitor_mode", target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s", next, sup))
		}
	}
	for why == "" {
		select {
		case d := <-supLeg.Media().Digits():
			if next, ok := map[byte]media.MonitorMode{'4': media.Listen, '5': media.Whisper, '6': media.Barge}[d]; ok {
				setMode(next)
			}
		case next := <-modes:
			setMode(next)
		case <-supLeg.Done():
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
	return by, why, mon.Mode()
}

// MonitorFromDesktop joins user's softphone (a supervisor's wallboard) to a
// live call in mode; while it runs, calling it again switches the mode.
func (m *Manager) MonitorFromDesktop(callID, user, modeName string) error {
	mode, ok := monitorModes[modeName]
	if !ok {
		return ErrBadMode
	}
	target := m.call(callID)
	if target == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	target.mu.Lock()
	connected := target.agentLeg != nil && !target.ended
	target.mu.Unlock()
	if !connected {
		return ErrNotConnected
	}
	m.mu.Lock()
	if run, running := m.monitors[user]; running {
		m.mu.Unlock()
		select {
		case run.modes <- mode:
		default:
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Server.MaxCallDuration)
	modes := make(chan media.MonitorMode, 1)
	m.monitors[user] = monitorRun{modes: modes, cancel: cancel}
	m.mu.Unlock()
	if m.phones == nil || !m.phones.Has(user) {
		cancel()
		m.mu.Lock()
		delete(m.monitors, user)
		m.mu.Unlock()
		return fmt.Errorf("%w: connect the softphone first", ErrNotConnected)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() {
			m.mu.Lock()
			delete(m.monitors, user)
			m.mu.Unlock()
		}()
		defer cancel()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		leg, err := m.dialAgent(rctx, user, "monitor", "Monitor "+callID)
		rcancel()
		if err != nil {
			m.log.Info("monitor not answered", "supervisor", user, "err", err)
			return
		}
		defer leg.Hangup()
		m.runMonitor(ctx, target, leg, mode, user, modes)
	}()
	return nil
}

// monitorRun is a desktop monitor in progress.
type monitorRun struct {
	modes  chan media.MonitorMode
	cancel context.CancelFunc
}

// StopMonitor ends user's desktop monitor, if one runs.
func (m *Manager) StopMonitor(user string) {
	m.mu.Lock()
	run, ok := m.monitors[user]
	m.mu.Unlock()
	if ok {
		run.cancel()
	}
}
