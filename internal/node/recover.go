package node

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/recording"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webhook"
)

// What a previous run of this node left — stopped normally or killed — is
// taken up at start, in this order:
//
//  1. recover, first after the store opens: the calls it left in progress
//     are closed at the time it was last seen alive (failed, "server
//     stopped"; their ended events and webhook deliveries in the outbox),
//     and the agents it left logged in are logged out at that time;
//  2. indexOrphans: recordings it did not index are indexed (with their
//     headers repaired), so they can be downloaded;
//  3. restore, once the call manager and the SIP edge are built and before
//     SIP serves: its phones' registrations that have not expired, then
//     its agents' states (available, away with the reason, logged out) —
//     read before either writes an event — then its hours overrides.
//
// So the report charges the downtime to logged_out: an agent's states are
// its state until the last sign of life, logged_out ("server stopped")
// from then to this start, then the state restored ("restored after
// restart" in the event's detail).

// recoverTimeout bounds each step of the recovery.
const recoverTimeout = 30 * time.Second

// recover closes what a previous run of this node left open in the store.
func (n *Node) recover() error {
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	now := time.Now()
	// The closing events are written with their webhook deliveries; the
	// dispatcher built later delivers them from the outbox, like any a
	// killed run left (deliveries are named by the webhooks' URLs).
	hooks := webhook.New(n.cfg.Webhooks, webhook.Settings{}, n.log)
	calls, err := n.st.MarkUnfinishedWithOutbox(ctx, now, hooks.Prepare)
	if err != nil {
		return err
	}
	if calls > 0 {
		n.log.Warn("closed calls left unfinished by a previous run", "calls", calls)
	}
	// Agents a stopped run left logged in are logged out at the time it was
	// last alive, before the ACD writes any event; restore logs them in
	// again once the ACD is built.
	if n.st.Shared() {
		return nil // agents belong to the cluster: its leader restores their states
	}
	agents, err := n.st.ReconcileAgentStates(ctx, now)
	if err != nil {
		return err
	}
	if agents > 0 {
		n.log.Warn("logged out agents left logged in by a previous run", "agents", agents)
	}
	return nil
}

// indexOrphans indexes the recordings a killed run left without an index
// entry, before recordings begin, the API serves them and retention
// expires them. A failure is logged, not fatal: calls matter more than
// the index of old files.
func (n *Node) indexOrphans() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recording.IndexOrphans(ctx, filepath.Join(n.cfg.Server.DataDir, "recordings"), n.st, n.log)
	if err != nil {
		n.log.Error("indexing recordings left by a previous run", "err", err)
	}
	if c > 0 {
		n.log.Warn("indexed recordings left unindexed by a previous run", "recordings", c)
	}
}

// restore puts back what the previous run had promised: registrations,
// agents' states and hours overrides. A failure is logged, not fatal: the
// node serves calls without them.
func (n *Node) restore() {
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	// Read first: restoring a registration may log its agent in
	// (login_on_register), which is an event of this run.
	var states []store.AgentStateAtStop
	if !n.st.Shared() { // in a cluster the leader restores agents' states
		var err error
		states, err = n.st.AgentStatesAtStop(ctx)
		if err != nil {
			n.log.Error("reading agents' states before the last stop", "err", err)
		}
	}
	regs, err := n.sip.RestoreRegistrations(ctx, bindingStore{n.st})
	if err != nil {
		n.log.Error("restoring registrations", "err", err)
	}
	if n.st.Shared() {
		n.sip.ShareRegistrations(bindingStore{n.st}) // phones registered with the other nodes are reached too
		n.sip.ShareNonces(n.st)                      // a digest answer used with one node is not taken by another
	}
	if regs > 0 {
		n.log.Info("registrations restored", "phones", regs)
	}
	n.restoreAgents(states)
	n.restoreOverrides(ctx)
}

// restoreAgents puts each agent of the setup back in its state at the
// last stop. One logged in by its restored registration but logged out
// before the stop is logged out again: the phone did not register anew.
func (n *Node) restoreAgents(states []store.AgentStateAtStop) {
	a := n.mgr.ACD()
	restored := 0
	for _, st := range states {
		v, ok := a.Agent(st.Agent)
		if !ok {
			continue // no longer in the setup
		}
		s := acd.AgentState(st.State)
		if v.State == s && (s != acd.Away || v.Reason == st.Reason) {
			continue
		}
		// Whether its phone can be reached is decided now, before it may be
		// offered calls: a registration that expired during the downtime, a
		// browser softphone the restart disconnected.
		n.mgr.DeviceChanged(st.Agent)
		if err := a.Restore(st.Agent, s, st.Reason); err != nil {
			n.log.Warn("agent's state not restored", "agent", st.Agent, "state", st.State, "reason", st.Reason, "err", err)
			continue
		}
		restored++
	}
	if restored > 0 {
		n.log.Info("agents restored to their states before the last stop", "agents", restored)
	}
}

// restoreOverrides puts the stored hours overrides back in force; one for
// a schedule no longer in the setup is dropped.
func (n *Node) restoreOverrides(ctx context.Context) {
	cal := n.mgr.Calendar()
	// From now on every override set or cleared is kept for the next start.
	defer cal.OnOverride(func(name string, open *bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.st.SaveHoursOverride(ctx, name, open, time.Now()); err != nil {
			n.log.Error("hours override not kept for a restart", "hours", name, "err", err)
		}
	})
	overrides, err := n.st.HoursOverrides(ctx)
	if err != nil {
		n.log.Error("restoring hours overrides", "err", err)
		return
	}
	for _, o := range overrides {
		open := o.Open
		err := cal.SetOverride(o.Name, &open)
		if errors.Is(err, flow.ErrUnknownSchedule) {
			n.log.Warn("hours override dropped: the schedule is no longer in the setup", "hours", o.Name, "open", o.Open, "set_at", o.SetAt)
			if err := n.st.SaveHoursOverride(ctx, o.Name, nil, time.Now()); err != nil {
				n.log.Error("dropping hours override", "hours", o.Name, "err", err)
			}
			continue
		}
		if err != nil {
			n.log.Error("restoring hours override", "hours", o.Name, "err", err)
			continue
		}
		n.log.Info("hours override restored", "hours", o.Name, "open", o.Open, "set_at", o.SetAt)
	}
}

// bindingStore is the store as the SIP registrar keeps bindings in it.
type bindingStore struct{ st *store.Store }

func (b bindingStore) SaveBinding(ctx context.Context, sb sip.StoredBinding) error {
	return b.st.SaveRegistration(ctx, store.Registration(sb))
}

func (b bindingStore) DeleteBinding(ctx context.Context, user string, version int64) error {
	return b.st.DeleteRegistration(ctx, user, version)
}

func (b bindingStore) LookupBinding(ctx context.Context, user string, now time.Time) (sip.StoredBinding, bool, error) {
	r, ok, err := b.st.LookupRegistration(ctx, user, now)
	return sip.StoredBinding(r), ok, err
}

func (b bindingStore) LoadBindings(ctx context.Context, now time.Time) ([]sip.StoredBinding, error) {
	regs, err := b.st.Registrations(ctx, now)
	out := make([]sip.StoredBinding, 0, len(regs))
	for _, r := range regs {
		out = append(out, sip.StoredBinding(r))
	}
	return out, err
}
