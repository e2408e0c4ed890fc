package acd

import "time"

// SetReachable records whether an agent's phone can be reached (Asterisk's
// device state): a registration that expired, a softphone closed. An
// unreachable agent keeps their state but is never offered a call; an
// offer ringing when the phone goes is withdrawn and its call offered to
// another agent. Agents start reachable. It emits a device_state event
// (Detail "reachable" or "unreachable") when the value changes.
func (a *ACD) SetReachable(agentID string, reachable bool) error {
	return a.withAgent(agentID, func(ag *agent) {
		if ag.unreachable == !reachable {
			return
		}
		ag.unreachable = !reachable
		d := "reachable"
		if !reachable {
			d = "unreachable"
		}
		a.emit(Event{Kind: EventDevice, AgentID: ag.id, Detail: d})
		if !reachable {
			if ag.offer != nil {
				a.withdrawOffer(ag, "phone unreachable")
				a.setAgentState(ag, Available, "")
			}
			return
		}
		a.dispatchAgent(ag)
	})
}

// LogoutAll logs every logged-in agent out with reason (an agent_state
// event each), at once: offers ringing are cancelled, and agents on a call
// or in wrap-up are logged out too (their talk time counted to now), since
// the server is stopping. Waiting calls are not offered to anyone. Reports
// then charge the downtime to logged_out, not to the agents' last states.
func (a *ACD) LogoutAll(reason string) {
	a.mu.Lock()
	defer a.unlock()
	now := a.clock.Now()
	for _, ag := range a.sortedAgents() {
		if ag.state == LoggedOut {
			continue
		}
		if o := ag.offer; o != nil {
			a.endOffer(o)
			a.sendCancel(o.Offer)
			a.emit(Event{Kind: EventCancelled, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue, Detail: "logged out: " + reason})
		}
		a.rollDay(ag)
		if !ag.answeredAt.IsZero() {
			ag.talk += now.Sub(ag.answeredAt)
			ag.answeredAt = time.Time{}
		}
		ag.callID, ag.callQueue, ag.direct = "", nil, false
		ag.pending, ag.pendingReason = "", ""
		ag.wrapUntil, ag.restUntil = time.Time{}, time.Time{}
		delete(a.timed, ag)
		a.setAgentState(ag, LoggedOut, reason)
	}
}
