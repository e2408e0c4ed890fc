// Package flow runs IVR flows: play prompts, collect digits, branch on
// business hours, and end in a routing decision (a queue, an extension, or
// hang up). It knows nothing of SIP or RTP: it drives a Session, which the
// call layer implements over a real leg and tests implement with a fake.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// Session is what a flow needs of a call.
type Session interface {
	// Play sends prompts in order. When interruptible, the first digit the
	// caller presses stops playback and is returned; otherwise 0.
	Play(ctx context.Context, prompts []string, interruptible bool) (byte, error)
	// WaitDigit waits up to timeout for a digit; ok is false on timeout.
	WaitDigit(ctx context.Context, timeout time.Duration) (digit byte, ok bool, err error)
	// Now is the current time (business hours).
	Now() time.Time
	// Caller is the calling number (caller steps).
	Caller() string
}

// MenuListener is a Session that can hear a menu's choices said.
type MenuListener interface {
	// ListenFor hears the caller while a menu waits: a phrase heard sure
	// enough comes as its key (phrases maps phrase to key) on the
	// session's keys, one heard unsure as Unsure; stop ends it.
	ListenFor(phrases map[string]string) (stop func())
	// Spoken reports whether the key just delivered was said, not pressed.
	Spoken() bool
}

// Unsure is the key of a spoken answer not heard well enough: the menu
// takes it for an invalid key and asks again.
const Unsure = '?'

// SpokenChoices are what a caller may say at a menu: the step's Say, else
// for each option the name of the step it leads to (a queue step's queue),
// when that is words ("sales", "billing-help" as "billing help").
func SpokenChoices(f config.Flow, step config.Step) map[string]string {
	if step.Spoken != nil && !*step.Spoken {
		return nil
	}
	out := map[string]string{}
	for key, next := range step.Options {
		name, ok := step.Say[key]
		if !ok {
			name = next
			if st, found := f.Steps[next]; found && st.Type == config.StepQueue && st.Queue != "" {
				name = st.Queue
			}
		}
		name = strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(name))
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz' ") != "" {
			continue // not words
		}
		out[strings.Join(strings.Fields(name), " ")] = key
	}
	return out
}

// Action is how a flow ends.
type Action string

// Actions.
const (
	ActionQueue     Action = "queue"
	ActionExtension Action = "extension"
	ActionHangup    Action = "hangup"
	ActionVoicemail Action = "voicemail"
)

// Result is a flow's routing decision and what the caller did on the way.
type Result struct {
	Action    Action
	Queue     string
	Priority  int
	Extension string
	Mailbox   string
	// Digits are the digits the caller pressed, in order.
	Digits string
	// Path lists the steps visited.
	Path []string
	// Visits are the steps visited in order, each with its times and, for
	// a menu, what the caller did there (the IVR's figures).
	Visits []Visit
}

// Visit is one step visited: when the flow entered and left it (Left is
// zero when the flow stopped there: the caller hung up, or an error),
// and for a menu the key that chose the way on ("" for none: the menu's
// no-input or invalid way, or a hang-up), the attempts without a key
// (Timeouts) and the keys that matched no option (Invalid).
type Visit struct {
	Step     string
	Type     string
	Entered  time.Time
	Left     time.Time
	Choice   string
	Timeouts int
	Invalid  int
	// Spoken says the choice was said, not keyed; Unsure counts spoken
	// answers not heard well enough (each asked again, among Invalid).
	Spoken bool
	Unsure int
}

// ErrTooManySteps stops a flow that loops without end.
var ErrTooManySteps = errors.New("flow: too many steps")

const maxSteps = 200

// Run executes a flow until it reaches a routing decision. The partial
// result (digits and path so far) is returned with any error.
func Run(ctx context.Context, f config.Flow, hours Schedules, s Session, log *slog.Logger) (Result, error) {
	var r Result
	id := f.Start
	for n := 0; n < maxSteps; n++ {
		step, ok := f.Steps[id]
		if !ok {
			return r, fmt.Errorf("flow %q: no step %q", f.Name, id)
		}
		if len(r.Visits) > 0 {
			r.Visits[len(r.Visits)-1].Left = s.Now()
		}
		r.Visits = append(r.Visits, Visit{Step: id, Type: step.Type, Entered: s.Now()})
		r.Path = append(r.Path, id)
		log.Debug("flow step", "flow", f.Name, "step", id, "type", step.Type)
		switch step.Type {
		case config.StepPlay:
			if _, err := s.Play(ctx, step.Prompts, false); err != nil {
				return r, err
			}
			id = step.Next
		case config.StepMenu:
			next, err := runMenu(ctx, f, step, s, &r, &r.Visits[len(r.Visits)-1])
			if err != nil {
				return r, err
			}
			if next == "" {
				r.Action = ActionHangup
				r.Visits[len(r.Visits)-1].Left = s.Now()
				return r, nil
			}
			id = next
		case config.StepHours:
			open, ok := hours.Open(step.Hours, s.Now())
			if !ok {
				return r, fmt.Errorf("flow %q step %q: unknown hours %q", f.Name, id, step.Hours)
			}
			if open {
				id = step.Open
			} else {
				id = step.Closed
			}
		case config.StepCaller:
			id = step.Next
			if next, ok := MatchCaller(step.Callers, s.Caller()); ok {
				id = next
			}
		case config.StepQueue:
			r.Action, r.Queue, r.Priority = ActionQueue, step.Queue, step.Priority
			r.Visits[len(r.Visits)-1].Left = s.Now()
			return r, nil
		case config.StepExtension:
			r.Action, r.Extension = ActionExtension, step.Extension
			r.Visits[len(r.Visits)-1].Left = s.Now()
			return r, nil
		case config.StepVoicemail:
			r.Action, r.Mailbox = ActionVoicemail, step.Mailbox
			r.Visits[len(r.Visits)-1].Left = s.Now()
			return r, nil
		case config.StepHangup:
			r.Action = ActionHangup
			r.Visits[len(r.Visits)-1].Left = s.Now()
			return r, nil
		default:
			return r, fmt.Errorf("flow %q step %q: unknown type %q", f.Name, id, step.Type)
		}
	}
	return r, ErrTooManySteps
}

// runMenu offers a menu up to its attempts and returns the next step ("" hangs up).
func runMenu(ctx context.Context, f config.Flow, step config.Step, s Session, r *Result, v *Visit) (string, error) {
	lastInvalid := false
	ml, listens := s.(MenuListener)
	if listens {
		if choices := SpokenChoices(f, step); len(choices) > 0 {
			defer ml.ListenFor(choices)()
		} else {
			listens = false
		}
	}
	for attempt := 0; attempt < step.Attempts; attempt++ {
		digit, err := s.Play(ctx, step.Prompts, true)
		if err != nil {
			return "", err
		}
		if digit == 0 {
			var ok bool
			digit, ok, err = s.WaitDigit(ctx, step.Timeout)
			if err != nil {
				return "", err
			}
			if !ok {
				lastInvalid = false
				v.Timeouts++
				continue
			}
		}
		spoken := listens && ml.Spoken()
		if digit == Unsure {
			v.Unsure++
		} else {
			r.Digits += string(digit)
		}
		if next, ok := step.Options[string(digit)]; ok {
			v.Choice, v.Spoken = string(digit), spoken
			return next, nil
		}
		lastInvalid = true
		v.Invalid++
		if step.InvalidPrompt != "" && attempt+1 < step.Attempts {
			if _, err := s.Play(ctx, []string{step.InvalidPrompt}, false); err != nil {
				return "", err
			}
		}
	}
	if lastInvalid && step.Invalid != "" {
		return step.Invalid, nil
	}
	if !lastInvalid && step.NoInput != "" {
		return step.NoInput, nil
	}
	if step.Invalid != "" {
		return step.Invalid, nil
	}
	return step.NoInput, nil
}

// MatchCaller finds the branch for a calling number: an exact pattern
// wins, then the longest prefix pattern ending in "*".
func MatchCaller(patterns map[string]string, caller string) (string, bool) {
	if next, ok := patterns[caller]; ok {
		return next, true
	}
	best, next := -1, ""
	for p, n := range patterns {
		prefix, ok := strings.CutSuffix(p, "*")
		if ok && strings.HasPrefix(caller, prefix) && len(prefix) > best {
			best, next = len(prefix), n
		}
	}
	return next, best >= 0
}

var dayKeys = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// IsOpen reports whether a weekly schedule is open at t, in the schedule's
// time zone (so daylight-saving changes follow the local clock).
func IsOpen(h config.Hours, t time.Time) bool {
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		return false
	}
	lt := t.In(loc)
	if Holiday(h, lt) {
		return false
	}
	minute := lt.Hour()*60 + lt.Minute()
	for _, r := range h.Weekly[dayKeys[lt.Weekday()]] {
		from, to, err := config.ParseRange(r)
		if err == nil && minute >= from && minute < to {
			return true
		}
	}
	return false
}

// Holiday reports whether the local date of lt is one of the schedule's
// holidays (a date, or an inclusive range of dates).
func Holiday(h config.Hours, lt time.Time) bool {
	day := lt.Format(time.DateOnly)
	for _, hol := range h.Holidays {
		from, to, err := config.ParseDateRange(hol)
		if err == nil && day >= from && day <= to {
			return true
		}
	}
	return false
}

// Schedules answers whether a named schedule is open at a time.
type Schedules interface {
	Open(name string, t time.Time) (open, known bool)
}

// Weekly is schedules as configured, without overrides.
type Weekly map[string]config.Hours

// Open implements Schedules.
func (w Weekly) Open(name string, t time.Time) (bool, bool) {
	h, ok := w[name]
	if !ok {
		return false, false
	}
	return IsOpen(h, t), true
}

// Calendar is a setup's schedules with manual overrides ("closed now"),
// safe for concurrent use.
type Calendar struct {
	mu       sync.Mutex
	hours    map[string]config.Hours
	override map[string]bool // name → forced open (true) or closed (false)
	// changed hears of every override set or cleared (OnOverride);
	// notify keeps the order it hears them in that of the changes.
	changed func(name string, open *bool)
	notify  sync.Mutex
}

// OnOverride has f told of every override SetOverride sets (open) or
// clears (nil) from now on, after it is in force and outside the
// Calendar's lock (a store keeping them across restarts).
func (c *Calendar) OnOverride(f func(name string, open *bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changed = f
}

// NewCalendar holds the configured schedules.
func NewCalendar(hs []config.Hours) *Calendar {
	c := &Calendar{hours: map[string]config.Hours{}, override: map[string]bool{}}
	for _, h := range hs {
		c.hours[h.Name] = h
	}
	return c
}

// Replace puts a new setup's schedules in force. An override stays while
// its schedule is still in the setup, and goes with it otherwise (OnOverride
// is told it was cleared).
func (c *Calendar) Replace(hs []config.Hours) {
	c.mu.Lock()
	c.hours = make(map[string]config.Hours, len(hs))
	for _, h := range hs {
		c.hours[h.Name] = h
	}
	var dropped []string
	for name := range c.override {
		if _, ok := c.hours[name]; !ok {
			delete(c.override, name)
			dropped = append(dropped, name)
		}
	}
	changed := c.changed
	c.notify.Lock()
	c.mu.Unlock()
	defer c.notify.Unlock()
	for _, name := range dropped {
		if changed != nil {
			changed(name, nil)
		}
	}
}

// Open implements Schedules: an override wins over the weekly hours and holidays.
func (c *Calendar) Open(name string, t time.Time) (bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hours[name]
	if !ok {
		return false, false
	}
	if o, set := c.override[name]; set {
		return o, true
	}
	return IsOpen(h, t), true
}

// ErrUnknownSchedule names a schedule the setup does not have.
var ErrUnknownSchedule = errors.New("flow: unknown hours")

// SetOverride forces a schedule open or closed; nil returns it to its hours.
func (c *Calendar) SetOverride(name string, open *bool) error {
	c.mu.Lock()
	if _, ok := c.hours[name]; !ok {
		c.mu.Unlock()
		return fmt.Errorf("%w %q", ErrUnknownSchedule, name)
	}
	if open == nil {
		delete(c.override, name)
	} else {
		c.override[name] = *open
	}
	changed := c.changed
	c.notify.Lock() // before the change is visible to the next one: told in order
	c.mu.Unlock()
	defer c.notify.Unlock()
	if changed != nil {
		changed(name, open)
	}
	return nil
}

// ScheduleStatus is a schedule's state at a moment.
type ScheduleStatus struct {
	Name     string   `json:"name"`
	Timezone string   `json:"timezone"`
	Open     bool     `json:"open"`
	Holiday  bool     `json:"holiday"`
	Override string   `json:"override,omitempty"` // "open" or "closed" when forced
	Holidays []string `json:"holidays,omitempty"`
}

// Status lists every schedule at t, by name.
func (c *Calendar) Status(t time.Time) []ScheduleStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := slices.Sorted(maps.Keys(c.hours))
	out := make([]ScheduleStatus, 0, len(names))
	for _, n := range names {
		h := c.hours[n]
		st := ScheduleStatus{Name: n, Timezone: h.Timezone, Open: IsOpen(h, t), Holidays: h.Holidays}
		if loc, err := time.LoadLocation(h.Timezone); err == nil {
			st.Holiday = Holiday(h, t.In(loc))
		}
		if o, set := c.override[n]; set {
			st.Open, st.Override = o, map[bool]string{true: "open", false: "closed"}[o]
		}
		out = append(out, st)
	}
	return out
}
