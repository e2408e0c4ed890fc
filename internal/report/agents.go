package report

import (
	"sort"
	"time"
)

// StateChange is an agent entering a state at a time, and why (an away
// reason). The same fields as store.StateChange, so one converts to the other.
type StateChange struct {
	Agent         string
	At            time.Time
	State, Reason string
}

// AgentRow is one agent's figures over a range.
type AgentRow struct {
	Agent        string             `json:"agent"`
	Answered     int                `json:"answered"`
	TalkSeconds  float64            `json:"talk_seconds"`
	AHTSeconds   float64            `json:"aht_seconds"`
	StateSeconds map[string]float64 `json:"state_seconds"`
	// AwaySeconds splits the away time by reason ("" for none given).
	AwaySeconds map[string]float64 `json:"away_seconds"`
	// Occupancy = handle time (on call, on hold, wrap-up) / (handle time +
	// available idle time); null with neither.
	Occupancy *float64 `json:"occupancy"`
}

// AgentDefinitions are the formulas of the agent report.
var AgentDefinitions = map[string]string{
	"answered":      "calls the agent answered in the range",
	"talk_seconds":  "talk and hold time of those calls",
	"aht_seconds":   "(talk + hold + the agent's wrap-up time in the range) / answered",
	"state_seconds": "time in each state within the range (logged_out, available, ringing, on_call, on_hold, wrap_up, away)",
	"away_seconds":  "the away time split by the reason the agent gave (lunch, training, missed, ...)",
	"occupancy":     "(on_call + on_hold + wrap_up) / (on_call + on_hold + wrap_up + available)",
}

// BuildAgentReport turns state changes (ordered by agent and time, with
// some before from so each agent's state at from is known) and per-agent
// answered calls and talk into rows, one per agent in agents.
func BuildAgentReport(from, to time.Time, agents []string, changes []StateChange, calls map[string][2]float64) []AgentRow {
	byAgent := map[string][]StateChange{}
	for _, c := range changes {
		byAgent[c.Agent] = append(byAgent[c.Agent], c)
	}
	rows := make([]AgentRow, 0, len(agents))
	for _, a := range agents {
		row := AgentRow{Agent: a, StateSeconds: map[string]float64{}, AwaySeconds: map[string]float64{}}
		cur, since := StateChange{State: "logged_out"}, from
		spend := func(until time.Time) {
			d := until.Sub(since).Seconds()
			row.StateSeconds[cur.State] += d
			if cur.State == "away" {
				row.AwaySeconds[cur.Reason] += d
			}
		}
		for _, c := range byAgent[a] {
			if !c.At.After(from) {
				cur = c // the state at from
				continue
			}
			if c.At.After(to) {
				break
			}
			spend(c.At)
			cur, since = c, c.At
		}
		spend(to)
		n, talk := calls[a][0], calls[a][1]
		row.Answered, row.TalkSeconds = int(n), talk
		if n > 0 {
			row.AHTSeconds = (talk + row.StateSeconds["wrap_up"]) / n
		}
		handle := row.StateSeconds["on_call"] + row.StateSeconds["on_hold"] + row.StateSeconds["wrap_up"]
		if d := handle + row.StateSeconds["available"]; d > 0 {
			occ := handle / d
			row.Occupancy = &occ
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Agent < rows[j].Agent })
	return rows
}
