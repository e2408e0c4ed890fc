package call

import (
	"fmt"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
)

// Applied is what a new setup changed among the agents.
type Applied struct {
	// Added and Removed are agents' extensions; a removed agent on a call
	// is logged out after it (and its wrap-up).
	Added, Removed []string
}

// Apply puts a new, validated setup in force without dropping a call.
// sounds, when not nil, adds to the sound library the sound files the new
// setup may use. What it does:
//
//   - every call's next step reads the new setup: a call in the IVR goes
//     on with the flow it is in, the next call takes the new one;
//   - the ACD gets the new queues and agents (acd.Reconfigure): a queue's
//     new strategy, ring timeout or wrap-up decide the next offer; a call
//     waiting in a removed queue stays there, with that queue's settings
//     as they were when the call arrived, until an agent who was a member
//     answers or one of the queue's limits (max_wait...) sends it on; a
//     removed agent gets no new call and is logged out after the one it
//     is on;
//   - business hours are replaced, keeping the overrides of schedules
//     still there;
//   - new agents start logged out (or logged in when they register, with
//     login_on_register).
//
// Nothing changes when it fails (Check says whether it would).
func (m *Manager) Apply(cfg *config.Config, sounds *media.Library) (Applied, error) {
	queues, err := m.check(cfg, sounds)
	if err != nil {
		return Applied{}, err
	}
	if sounds != nil {
		m.sounds.Update(sounds)
	}
	agents := make([]acd.AgentConfig, 0, len(cfg.Agents))
	old := m.setup.Load()
	var res Applied
	for _, a := range cfg.Agents {
		agents = append(agents, acd.AgentConfig{ID: a.Extension, Queues: a.Queues, Skills: a.Skills})
		if _, ok := old.agents[a.Extension]; !ok {
			res.Added = append(res.Added, a.Extension)
		}
	}
	// The setup is swapped before the ACD changes, so an offer the ACD
	// makes to a new agent finds the agent in the setup.
	m.setup.Store(newSetup(cfg))
	removed, err := m.acd.Reconfigure(queues, agents) // agents name only cfg's queues: validated at load
	if err != nil {
		m.setup.Store(old)
		return Applied{}, err
	}
	res.Removed = removed
	m.hours.Replace(cfg.Hours)
	for _, ext := range res.Added {
		m.DeviceChanged(ext)
	}
	m.poke()
	return res, nil
}

// Check reports whether Apply would accept cfg with sounds: every sound the
// setup names is in the library or in sounds, every queue's strategy known.
func (m *Manager) Check(cfg *config.Config, sounds *media.Library) error {
	_, err := m.check(cfg, sounds)
	return err
}

func (m *Manager) check(cfg *config.Config, sounds *media.Library) ([]acd.QueueConfig, error) {
	return checkSetup(cfg, m.sounds, sounds)
}

// CheckSetup is Check without a manager: whether a node with sounds
// would start with cfg (`config apply` to a stopped server's data
// directory asks).
func CheckSetup(cfg *config.Config, sounds *media.Library) error {
	_, err := checkSetup(cfg, sounds)
	return err
}

func checkSetup(cfg *config.Config, libs ...*media.Library) ([]acd.QueueConfig, error) {
	for _, name := range cfg.Sounds() {
		ok := false
		for _, l := range libs {
			if l != nil {
				if _, ok = l.Get(name); ok {
					break
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("sound %q is used by the setup but not in the sounds directory", name)
		}
	}
	queues := make([]acd.QueueConfig, 0, len(cfg.Queues))
	for _, q := range cfg.Queues {
		qc, err := queueConfig(q)
		if err != nil {
			return nil, err
		}
		queues = append(queues, qc)
	}
	return queues, nil
}
