package call

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

var monitorModes = map[string]media.MonitorMode{"listen": media.Listen, "whisper": media.Whisper, "barge": media.Barge}

// callOfAgent finds the call an agent is talking on.
func (m *Manager) callOfAgent(ext string) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		c.mu.Lock()
		ok := c.view.Agent == ext && c.view.State.talking()
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
	if a, ok := m.agent(sup); !ok || !a.Supervisor {
		leg.Reject(403, "Forbidden")
		c.end(event.OutcomeRejected, event.BySystem, "agent "+sup+" is not a supervisor")
		return
	}
	target := m.callOfAgent(ext)
	if target == nil {
		leg.Reject(404, "Not Found")
		c.end(event.OutcomeRejected, event.BySystem, "agent "+ext+" is on no call")
		return
	}
	if !c.answer() {
		return
	}
	by, why, mode := m.runMonitor(ctx, target, leg, monitorModes[modeName], sup, c.cmds)
	leg.Hangup()
	c.end(event.OutcomeCompleted, by, fmt.Sprintf("monitor (%s) of %s: %s", mode, ext, why))
}

// runMonitor mixes target's call for supLeg until one of them ends; the
// supervisor's keys 4, 5, 6 (and modes sent on the channel) switch modes.
//
// The monitored call's goroutine hands over its legs (a command); the
// monitor only taps their audio and sends to the supervisor's leg. cmds,
// when set, are the supervisor's own call's commands, refused meanwhile.
func (m *Manager) runMonitor(ctx context.Context, target *Call, supLeg *sip.Leg, mode media.MonitorMode, sup string, cmds <-chan *command) (by event.HangupBy, why string, last media.MonitorMode) {
	var callerLeg, agentLeg *sip.Leg
	var queue, ext string
	if err := target.do("monitor", func(c *Call) error {
		if c.st != StateConnected && c.st != StateHeld || c.agentLeg == nil {
			return c.refuse("monitor")
		}
		callerLeg, agentLeg, queue, ext = c.caller, c.agentLeg, c.queue, c.agentID
		return nil
	}); err != nil {
		return event.BySystem, "the call cannot be monitored: " + err.Error(), mode
	}
	modes := m.monitorModes(sup)
	mon := media.NewMonitor(callerLeg.Media(), agentLeg.Media(), supLeg.Media(), mode)
	defer mon.Stop()
	m.event(event.MonitorStarted, target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s", mode, sup))
	m.log.Info("monitoring", "agent", ext, "call", target.ID, "mode", mode, "supervisor", sup)
	setMode := func(next media.MonitorMode) {
		if next != mon.Mode() {
			mon.SetMode(next)
			m.event(event.MonitorMode, target.ID, ext, queue, fmt.Sprintf("mode=%s supervisor=%s", next, sup))
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
		case k := <-cmds:
			k.reply <- &StateError{Op: k.op, State: StateConnected}
		case <-supLeg.Done():
			by, why = event.ByCaller, "supervisor hung up"
		case <-callerLeg.Done():
			by, why = event.BySystem, "the monitored call ended"
		case <-agentLeg.Done():
			by, why = event.BySystem, "the monitored call ended"
		case <-ctx.Done():
			by, why = event.BySystem, "maximum call duration or shutdown"
		}
	}
	m.event(event.MonitorEnded, target.ID, ext, queue, "supervisor="+sup+": "+why)
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
	st := target.view.State
	target.mu.Unlock()
	if st != StateConnected && st != StateHeld {
		return &StateError{Op: "monitor", State: st}
	}
	if m.phones == nil || !m.phones.Has(user) {
		return fmt.Errorf("%w: connect the softphone first", ErrNotConnected)
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
	ctx, cancel := context.WithTimeout(m.ctx, m.config().Server.MaxCallDuration)
	m.monitors[user] = monitorRun{modes: make(chan media.MonitorMode, 1), cancel: cancel}
	m.mu.Unlock()
	started := m.goTracked(func() {
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
		m.runMonitor(ctx, target, leg, mode, user, nil)
	})
	if !started {
		cancel()
		m.mu.Lock()
		delete(m.monitors, user)
		m.mu.Unlock()
		return ErrShuttingDown
	}
	return nil
}

// monitorModes is the mode channel of user's desktop monitor (nil for a phone's).
func (m *Manager) monitorModes(user string) <-chan media.MonitorMode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.monitors[user].modes
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
