package report

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// IVRStepDetail is the detail of an ivr_step event: one step of a flow
// one call visited. End is set on the call's last step: where its flow
// ended (queue, voicemail, hangup, transferred, hung_up, failed).
type IVRStepDetail struct {
	Flow     string  `json:"flow"`
	Step     string  `json:"step"`
	Type     string  `json:"type"`
	Seconds  float64 `json:"seconds"`
	Choice   string  `json:"choice,omitempty"`
	Timeouts int     `json:"timeouts,omitempty"`
	Invalid  int     `json:"invalid,omitempty"`
	End      string  `json:"end,omitempty"`
	// Spoken: the choice was said; Unsure counts spoken answers not heard
	// well enough (asked again).
	Spoken bool `json:"spoken,omitempty"`
	Unsure int  `json:"unsure,omitempty"`
}

// How a call's flow ended, beside the flow's own actions (queue,
// voicemail, hangup: the flow hung up).
const (
	IVREndTransferred = "transferred" // to an extension
	IVREndHungUp      = "hung_up"     // the caller hung up in the IVR
	IVREndFailed      = "failed"
)

// ParseIVRStep reads an ivr_step event's detail.
func ParseIVRStep(detail string) (IVRStepDetail, bool) {
	var d IVRStepDetail
	if json.Unmarshal([]byte(detail), &d) != nil || d.Flow == "" || d.Step == "" {
		return IVRStepDetail{}, false
	}
	return d, true
}

// IVRDefinitions are the formulas of the IVR figures.
var IVRDefinitions = map[string]string{
	"entered":        "visits of the step in the range (by the time the call entered it); a call that comes back to a step counts again",
	"options":        "per key, how many of the step's visits left by it (menus)",
	"choices":        "per key, the share of the step's visits that left by it (menus)",
	"timeouts":       "attempts at a menu in which the caller pressed nothing before its timeout",
	"invalid":        "keys pressed at a menu that matched none of its options (and spoken answers heard unsure)",
	"spoken":         "visits of a menu left by a choice said rather than keyed (speech recognition)",
	"unsure":         "spoken answers at a menu heard too unsure to take: the menu asked again",
	"hangups":        "visits in which the caller hung up (the call's last step)",
	"hung_up":        "the same as hangups (its earlier name)",
	"median_seconds": "the median time a visit spent in the step (to the next step, or the hang-up)",
	"p90_seconds":    "the 90th percentile of that time",
	"funnel":         "calls by where their flow ended: queue, voicemail, transferred (to an extension), hangup (the flow hung up), hung_up (the caller, in the IVR), failed",
}

// IVRStep is one step's figures.
type IVRStep struct {
	Step    string `json:"step"`
	Type    string `json:"type"`
	Entered int    `json:"entered"`
	// Options counts the callers who chose each key; Choices is each
	// key's share of those who entered.
	Options  map[string]int     `json:"options"`
	Choices  map[string]float64 `json:"choices,omitempty"`
	Timeouts int                `json:"timeouts"`
	Invalid  int                `json:"invalid"`
	// Spoken counts the visits left by a choice said (speech
	// recognition), Unsure the spoken answers heard too unsure to take.
	Spoken int `json:"spoken"`
	Unsure int `json:"unsure"`
	// Hangups counts the callers who hung up at this step (HungUp is the
	// same figure, by its earlier name).
	Hangups       int      `json:"hangups"`
	HungUp        int      `json:"hung_up"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
}

// IVRFlow is one flow's steps, by name, and its funnel.
type IVRFlow struct {
	Flow   string         `json:"flow"`
	Calls  int            `json:"calls"`
	Steps  []IVRStep      `json:"steps"`
	Funnel map[string]int `json:"funnel"`
}

// IVRVisit is one ivr_step event: its detail and when the call entered.
type IVRVisit struct {
	At time.Time
	IVRStepDetail
}

// IVR sums the visits into each flow's figures, flows and steps by name.
func IVR(visits []IVRVisit) []IVRFlow {
	type acc struct {
		step    IVRStep
		chosen  map[string]int
		seconds []float64
	}
	flows := map[string]map[string]*acc{}
	funnels := map[string]map[string]int{}
	for _, v := range visits {
		steps := flows[v.Flow]
		if steps == nil {
			steps = map[string]*acc{}
			flows[v.Flow], funnels[v.Flow] = steps, map[string]int{}
		}
		a := steps[v.Step]
		if a == nil {
			a = &acc{step: IVRStep{Step: v.Step, Type: v.Type}, chosen: map[string]int{}}
			steps[v.Step] = a
		}
		a.step.Entered++
		a.step.Timeouts += v.Timeouts
		a.step.Invalid += v.Invalid
		a.step.Unsure += v.Unsure
		if v.Spoken {
			a.step.Spoken++
		}
		if v.Choice != "" {
			a.chosen[v.Choice]++
		}
		a.seconds = append(a.seconds, v.Seconds)
		if v.End != "" {
			funnels[v.Flow][v.End]++
			if v.End == IVREndHungUp {
				a.step.HungUp++
			}
		}
	}
	names := make([]string, 0, len(flows))
	for f := range flows {
		names = append(names, f)
	}
	slices.Sort(names)
	out := make([]IVRFlow, 0, len(names))
	for _, name := range names {
		f := IVRFlow{Flow: name, Funnel: funnels[name], Steps: []IVRStep{}}
		for _, n := range f.Funnel {
			f.Calls += n
		}
		ids := make([]string, 0, len(flows[name]))
		for id := range flows[name] {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			a := flows[name][id]
			a.step.Options = map[string]int{}
			if len(a.chosen) > 0 {
				a.step.Choices = map[string]float64{}
				for k, n := range a.chosen {
					a.step.Choices[k] = float64(n) / float64(a.step.Entered)
					a.step.Options[k] = n
				}
			}
			a.step.Hangups = a.step.HungUp
			slices.Sort(a.seconds)
			med, p90 := percentile(a.seconds, 0.5), percentile(a.seconds, 0.9)
			a.step.MedianSeconds, a.step.P90Seconds = &med, &p90
			f.Steps = append(f.Steps, a.step)
		}
		out = append(out, f)
	}
	return out
}

// percentile is the nearest-rank percentile p (0..1] of sorted values.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
