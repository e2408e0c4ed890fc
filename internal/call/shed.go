package call

import (
	"fmt"
	"maps"
	"time"
)

// Overload says whether the node is too late on its own work to take a new
// call, and its lag (the lag monitor, limits.max_lag).
type Overload interface {
	Overloaded() (bool, time.Duration)
}

// SetOverload connects the lag monitor; without one, lag refuses no call.
// Set it before calls arrive.
func (m *Manager) SetOverload(o Overload) { m.overload = o }

// Refusal is why admission refused a new call.
type Refusal string

// Refusals, one per limit (the config key's name) and shutdown.
const (
	RefusedShutdown Refusal = "shutdown"
	RefusedMaxCalls Refusal = "max_calls"
	RefusedRate     Refusal = "max_calls_per_second"
	RefusedLag      Refusal = "max_lag"
)

// Refused counts the new calls refused since start, by reason.
func (m *Manager) Refused() map[Refusal]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.refused)
}

// refuse counts a refusal (under m.mu) and says why, for the record.
func (m *Manager) refuse(r Refusal, why string) (bool, string) {
	if m.refused == nil {
		m.refused = map[Refusal]uint64{}
	}
	m.refused[r]++
	return false, why
}

// lagging reports whether the lag monitor says the node is overloaded.
func (m *Manager) lagging() (string, bool) {
	if m.overload == nil {
		return "", false
	}
	over, lag := m.overload.Overloaded()
	if !over {
		return "", false
	}
	return fmt.Sprintf("overloaded (lag %v, max_lag %v)", lag.Round(time.Millisecond), m.config().Limits.MaxLag), true
}
