package flow

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// script is a fake caller: each entry answers one Play or WaitDigit in turn;
// 0 means "pressed nothing".
type script struct {
	keys   []byte
	played [][]string
	now    time.Time
	caller string
}

func (s *script) next() byte {
	if len(s.keys) == 0 {
		return 0
	}
	k := s.keys[0]
	s.keys = s.keys[1:]
	return k
}

func (s *script) Play(_ context.Context, prompts []string, interruptible bool) (byte, error) {
	s.played = append(s.played, prompts)
	if !interruptible {
		return 0, nil
	}
	return s.next(), nil
}

func (s *script) WaitDigit(context.Context, time.Duration) (byte, bool, error) {
	k := s.next()
	return k, k != 0, nil
}

func (s *script) Now() time.Time { return s.now }

func (s *script) Caller() string { return s.caller }

// A caller step routes by the calling number: VIPs to the queue with a
// higher priority, a prefix to another branch, everyone else on.
func TestCallerStepSetsPriority(t *testing.T) {
	f := config.Flow{Name: "f", Start: "who", Steps: map[string]config.Step{
		"who":    {Type: config.StepCaller, Callers: map[string]string{"5551234": "vip", "555*": "local", "55*": "x"}, Next: "normal"},
		"vip":    {Type: config.StepQueue, Queue: "support", Priority: 10},
		"local":  {Type: config.StepQueue, Queue: "support", Priority: 5},
		"x":      {Type: config.StepHangup},
		"normal": {Type: config.StepQueue, Queue: "support"},
	}}
	for caller, want := range map[string]int{"5551234": 10, "5559999": 5, "4441234": 0} {
		r, err := Run(context.Background(), f, Weekly{}, &script{caller: caller}, slog.Default())
		if err != nil || r.Action != ActionQueue || r.Priority != want {
			t.Errorf("caller %s: %+v %v, want priority %d", caller, r, err, want)
		}
	}
}

func demoFlow(t *testing.T) (config.Flow, map[string]config.Hours) {
	t.Helper()
	cfg, err := config.Parse("demo.yaml", mustRead(t))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := cfg.FlowByName("main")
	hours := map[string]config.Hours{}
	for _, h := range cfg.Hours {
		hours[h.Name] = h
	}
	return f, hours
}

func TestDemoMenu(t *testing.T) {
	f, hours := demoFlow(t)
	tests := []struct {
		name      string
		keys      []byte
		wantQueue string
		wantDig   string
		plays     int
	}{
		{"1 during the greeting", []byte{'1'}, "sales", "1", 1},
		{"2 after the greeting", []byte{0, '2'}, "support", "2", 1},
		{"no input twice", []byte{0, 0, 0, 0}, "support", "", 2},
		{"invalid then 1", []byte{'7', '1'}, "sales", "71", 3},
		{"invalid twice", []byte{'7', '8'}, "support", "78", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{keys: tc.keys, now: time.Now()}
			r, err := Run(context.Background(), f, Weekly(hours), s, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			if r.Action != ActionQueue || r.Queue != tc.wantQueue || r.Digits != tc.wantDig {
				t.Fatalf("result %+v, want queue %s digits %q", r, tc.wantQueue, tc.wantDig)
			}
			if len(s.played) != tc.plays {
				t.Fatalf("played %v, want %d plays", s.played, tc.plays)
			}
		})
	}
}

func TestIsOpen(t *testing.T) {
	h := config.Hours{Name: "office", Timezone: "America/New_York", Weekly: map[string][]string{
		"mon": {"09:00-12:00", "13:00-17:00"}, "sat": {"10:00-14:00"},
	}}
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"monday morning", time.Date(2026, 11, 23, 9, 30, 0, 0, ny), true},
		{"monday lunch", time.Date(2026, 11, 23, 12, 30, 0, 0, ny), false},
		{"monday 17:00 closes", time.Date(2026, 11, 23, 17, 0, 0, 0, ny), false},
		{"sunday", time.Date(2026, 11, 22, 11, 0, 0, 0, ny), false},
		// 14:30 UTC is 09:30 in New York in winter (EST) but 10:30 in summer (EDT).
		{"winter utc", time.Date(2026, 11, 23, 14, 30, 0, 0, time.UTC), true},
		{"summer utc before open", time.Date(2026, 7, 6, 12, 30, 0, 0, time.UTC), false},
		{"summer utc open", time.Date(2026, 7, 6, 13, 30, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsOpen(h, tc.at); got != tc.want {
				t.Fatalf("IsOpen(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestClosedBranchHangsUp(t *testing.T) {
	f, hours := demoFlow(t)
	hours["always"] = config.Hours{Name: "always", Timezone: "UTC"} // never open
	s := &script{now: time.Now()}
	r, err := Run(context.Background(), f, Weekly(hours), s, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionHangup || !reflect.DeepEqual(s.played, [][]string{{"closed"}}) {
		t.Fatalf("result %+v played %v", r, s.played)
	}
}

func TestLoopingFlowIsBounded(t *testing.T) {
	f := config.Flow{Name: "loop", Start: "a", Steps: map[string]config.Step{
		"a": {Type: config.StepPlay, Prompts: []string{"x"}, Next: "a"},
	}}
	_, err := Run(context.Background(), f, nil, &script{}, slog.Default())
	if err != ErrTooManySteps {
		t.Fatalf("err %v", err)
	}
}

func TestHolidaysAndOverride(t *testing.T) {
	h := config.Hours{Name: "office", Timezone: "America/New_York",
		Weekly:   map[string][]string{"thu": {"00:00-24:00"}, "fri": {"00:00-24:00"}, "mon": {"09:00-17:00"}},
		Holidays: []string{"2026-11-26", "2026-12-24..2026-12-26"}}
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"thanksgiving", time.Date(2026, 11, 26, 12, 0, 0, 0, ny), false},
		{"the friday after", time.Date(2026, 11, 27, 12, 0, 0, 0, ny), true},
		{"in a range", time.Date(2026, 12, 25, 10, 0, 0, 0, ny), false},
		// 03:00 UTC on the 24th is still the 23rd (a Wednesday, closed) in New York;
		// 04:30 UTC on Friday the 27th is Thursday the 26th there: a holiday.
		{"holiday by local date", time.Date(2026, 11, 27, 4, 30, 0, 0, time.UTC), false},
		{"after the range", time.Date(2026, 12, 31, 12, 0, 0, 0, ny), true},
	}
	for _, tc := range tests {
		if got := IsOpen(h, tc.at); got != tc.want {
			t.Errorf("%s: IsOpen = %v, want %v", tc.name, got, tc.want)
		}
	}
	cal := NewCalendar([]config.Hours{h})
	open := time.Date(2026, 11, 27, 12, 0, 0, 0, ny)
	closed := false
	if err := cal.SetOverride("office", &closed); err != nil {
		t.Fatal(err)
	}
	if o, ok := cal.Open("office", open); o || !ok {
		t.Fatalf("override closed: Open = %v, %v", o, ok)
	}
	if st := cal.Status(open); len(st) != 1 || st[0].Override != "closed" || st[0].Open {
		t.Fatalf("status %+v", st)
	}
	_ = cal.SetOverride("office", nil)
	if o, _ := cal.Open("office", open); !o {
		t.Fatal("cleared override should follow the hours again")
	}
	if err := cal.SetOverride("nope", nil); !errors.Is(err, ErrUnknownSchedule) {
		t.Fatalf("unknown schedule: %v", err)
	}
	if _, ok := cal.Open("nope", open); ok {
		t.Fatal("unknown schedule reported known")
	}
}

func TestCalendarTellsOfOverrides(t *testing.T) {
	c := NewCalendar([]config.Hours{{Name: "always", Timezone: "UTC"}})
	type change struct {
		name string
		open *bool
	}
	var got []change
	c.OnOverride(func(name string, open *bool) { got = append(got, change{name, open}) })
	closed := false
	if err := c.SetOverride("always", &closed); err != nil {
		t.Fatal(err)
	}
	if err := c.SetOverride("nope", &closed); err == nil {
		t.Fatal("an override of an unknown schedule was set")
	}
	if err := c.SetOverride("always", nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "always" || got[0].open == nil || *got[0].open || got[1].open != nil {
		t.Fatalf("changes %+v, want always closed then cleared", got)
	}
}

// Each step visited is in the result with what the caller did in a menu:
// a timeout, an invalid key, then the option chosen; the last step left.
func TestVisitsRecordWhatTheCallerDid(t *testing.T) {
	f := config.Flow{Name: "f", Start: "menu", Steps: map[string]config.Step{
		"menu":  {Type: config.StepMenu, Prompts: []string{"p"}, Attempts: 3, Timeout: time.Second, Options: map[string]string{"1": "sales"}},
		"sales": {Type: config.StepQueue, Queue: "sales"},
	}}
	// Play: nothing, wait: nothing (timeout); Play: 9 (invalid); Play: 1.
	r, err := Run(context.Background(), f, Weekly{}, &script{keys: []byte{0, 0, '9', '1'}, now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Visits) != 2 {
		t.Fatalf("visits %+v", r.Visits)
	}
	m, q := r.Visits[0], r.Visits[1]
	if m.Step != "menu" || m.Type != config.StepMenu || m.Choice != "1" || m.Timeouts != 1 || m.Invalid != 1 || m.Left.IsZero() {
		t.Errorf("menu visit %+v", m)
	}
	if q.Step != "sales" || q.Left.IsZero() {
		t.Errorf("queue visit %+v", q)
	}
}
