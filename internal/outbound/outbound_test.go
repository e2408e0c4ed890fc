package outbound

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPacerLines(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	warm := func(p *Pacer, live float64) {
		for i := range 100 {
			if float64(i%100) < live*100 {
				p.Attempted(Human, base, 10*time.Second)
			} else {
				p.Attempted(NoAnswer, base, 25*time.Second)
			}
		}
		for range 30 {
			p.Handled(2 * time.Minute)
		}
		for range 40 { // enough live answers to leave the warm-up
			p.Connected()
		}
	}
	for _, tc := range []struct {
		name     string
		cfg      PacerConfig
		live     float64 // the answer rate it learnt (-1: nothing learnt)
		drops    Counts  // the campaign's so far
		st       State
		min, max int
	}{
		{"preview never dials", PacerConfig{Mode: Preview}, -1, Counts{}, State{Free: 5}, 0, 0},
		{"progressive: one per free agent", PacerConfig{Mode: Progressive}, -1, Counts{}, State{Free: 5, Busy: 3}, 5, 5},
		{"progressive: less those in flight", PacerConfig{Mode: Progressive}, -1, Counts{}, State{Free: 5, InFlight: 2}, 3, 3},
		{"progressive: a waiting answer takes an agent", PacerConfig{Mode: Progressive}, -1, Counts{}, State{Free: 2, Waiting: 1}, 1, 1},
		{"power: ratio per free agent", PacerConfig{Mode: Power, Ratio: 3}, -1, Counts{}, State{Free: 4, Busy: 6, InFlight: 2}, 10, 10},
		{"power over the target falls back", PacerConfig{Mode: Power, Ratio: 3}, -1, Counts{Live: 100, Dropped: 4}, State{Free: 4, Busy: 6}, 4, 4},
		{"power unguarded keeps its ratio", PacerConfig{Mode: Power, Ratio: 3, Unguarded: true}, -1, Counts{Live: 100, Dropped: 4}, State{Free: 4, Busy: 6}, 12, 12},
		{"predictive warms up as progressive", PacerConfig{Mode: Predictive}, -1, Counts{}, State{Free: 4, Busy: 6}, 4, 4},
		{"predictive: low answer rate, many lines", PacerConfig{Mode: Predictive}, 0.1, Counts{}, State{Free: 4, Busy: 6}, 12, 100},
		{"predictive: high answer rate, few lines", PacerConfig{Mode: Predictive}, 0.8, Counts{}, State{Free: 4, Busy: 6}, 4, 6},
		{"predictive: the cap on lines", PacerConfig{Mode: Predictive, MaxLines: 8}, 0.1, Counts{}, State{Free: 4, Busy: 6}, 8, 8},
		{"predictive: over the target, progressive", PacerConfig{Mode: Predictive}, 0.1, Counts{Live: 60, Dropped: 3}, State{Free: 4, Busy: 6}, 4, 4},
		{"predictive: the rolling 30 days over", PacerConfig{Mode: Predictive}, 0.1, Counts{}, State{Free: 4, Busy: 6, Rolling: Counts{Live: 1000, Dropped: 40}}, 4, 4},
		{"predictive: no free agent, none soon", PacerConfig{Mode: Predictive}, 0.3, Counts{}, State{Busy: 10}, 0, 0},
		{"predictive: agents ending wrap-up count", PacerConfig{Mode: Predictive}, 0.3, Counts{}, State{Busy: 10, FreeIn: []time.Duration{time.Second, 2 * time.Second, time.Hour}}, 2, 10},
		{"predictive: answers waiting use the free", PacerConfig{Mode: Predictive}, 0.3, Counts{}, State{Free: 2, Waiting: 2, Busy: 8}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPacer(tc.cfg)
			if tc.live >= 0 {
				warm(p, tc.live)
			}
			for range tc.drops.Live - tc.drops.Dropped {
				p.Connected()
			}
			for range tc.drops.Dropped {
				p.Dropped()
			}
			tc.st.Now = base.Add(time.Hour) // every attempt's cohort counted
			if n := p.Lines(tc.st); n < tc.min || n > tc.max {
				t.Fatalf("Lines = %d, want %d..%d", n, tc.min, tc.max)
			}
		})
	}
}

// The answer rate is measured on whole cohorts of dials: the quick
// outcomes of a burst of dials (answers, busies) do not count before its
// slow ones (no answer, after the full ring time) have ended.
func TestPacerCountsWholeCohorts(t *testing.T) {
	p := NewPacer(PacerConfig{Mode: Predictive, Longest: 30 * time.Second})
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 100 { // 100 dials at t0: 30 people, 10 busies, 60 ring out
		switch {
		case i < 30:
			p.Attempted(Human, t0, 8*time.Second)
		case i < 40:
			p.Attempted(Busy, t0, time.Second)
		}
	}
	p.Lines(State{Now: t0.Add(10 * time.Second), Free: 10})
	if p.LiveRate() != 0 {
		t.Fatalf("the cohort counted before its slow outcomes: live rate %v", p.LiveRate())
	}
	for range 60 {
		p.Attempted(NoAnswer, t0, 25*time.Second)
	}
	p.Lines(State{Now: t0.Add(30 * time.Second), Free: 10})
	if r := p.LiveRate(); math.Abs(r-0.3) > 1e-9 {
		t.Fatalf("live rate %v, want 0.3", r)
	}
}

func TestDropRate(t *testing.T) {
	for _, tc := range []struct {
		n, a     int
		q        float64
		min, max float64
	}{
		{5, 5, 0.5, 0, 0},             // never more answers than agents
		{10, 0, 1, 1, 1},              // every answer dropped
		{10, 5, 1, 0.5, 0.5},          // half
		{2, 1, 0.5, 0.25, 0.25},       // E[(X-1)+] = 0.25, E[X] = 1
		{1000, 100, 0.1, 0.035, 0.04}, // σφ(0)/μ = 9.49 × 0.399 / 100
	} {
		if r := dropRate(tc.n, tc.a, tc.q); r < tc.min-1e-9 || r > tc.max+1e-9 {
			t.Errorf("dropRate(%d, %d, %v) = %v, want %v..%v", tc.n, tc.a, tc.q, r, tc.min, tc.max)
		}
	}
}

func TestWindow(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	w := Window{Start: 8 * 60, End: 21 * 60, Holidays: []string{"2026-12-25"}}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, tc := range []struct {
		name string
		t    string
		loc  *time.Location
		open bool
		next string // "" when open; "-" when never
	}{
		{"morning in New York", "2026-12-01T14:00:00Z", ny, true, ""},
		{"before 8 in New York", "2026-12-01T12:59:00Z", ny, false, "2026-12-01T13:00:00Z"},
		{"9 pm in New York is closed", "2026-12-02T02:00:00Z", ny, false, "2026-12-02T13:00:00Z"},
		{"the same instant in London", "2026-12-02T02:00:00Z", london, false, "2026-12-02T08:00:00Z"},
		{"a holiday", "2026-12-25T15:00:00Z", ny, false, "2026-12-26T13:00:00Z"},
		{"summer time", "2026-07-01T12:00:00Z", ny, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.Open(at(tc.t), tc.loc); got != tc.open {
				t.Fatalf("Open = %v", got)
			}
			next, ok := w.NextOpen(at(tc.t), tc.loc)
			if tc.next == "" {
				if !ok || !next.Equal(at(tc.t)) {
					t.Fatalf("NextOpen = %v %v, want now", next, ok)
				}
				return
			}
			if !ok || !next.Equal(at(tc.next)) {
				t.Fatalf("NextOpen = %v %v, want %s", next.UTC(), ok, tc.next)
			}
		})
	}
	// A start inside the spring-forward gap (02:30 does not exist that
	// day) opens the same day, past the gap (03:30 EDT).
	gap := Window{Start: 2*60 + 30, End: 21 * 60}
	if next, ok := gap.NextOpen(at("2026-03-08T06:00:00Z"), ny); !ok || !next.Equal(at("2026-03-08T07:30:00Z")) {
		t.Fatalf("the DST gap: %v %v", next.UTC(), ok)
	}
	weekdays := Window{Start: 9 * 60, End: 17 * 60, Days: []time.Weekday{time.Monday}}
	if next, ok := weekdays.NextOpen(at("2026-12-01T10:00:00Z"), time.UTC); !ok || !next.Equal(at("2026-12-07T09:00:00Z")) {
		t.Fatalf("next Monday: %v %v", next, ok)
	}
	if _, ok := (Window{Start: 0, End: 60, Days: []time.Weekday{time.Monday}, Holidays: []string{"2026-12-07", "2026-12-14"}}).NextOpen(at("2026-12-01T10:00:00Z"), time.UTC); ok {
		t.Fatal("a window whose days are all holidays opened")
	}
	for _, s := range []string{"8:00", "25:00", "08:60", "0800", "24:01"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) took it", s)
		}
	}
	if m, err := ParseClock("21:30"); err != nil || m != 21*60+30 {
		t.Fatalf("ParseClock: %d %v", m, err)
	}
}

func TestDNC(t *testing.T) {
	d := NewDNC()
	for _, e := range []string{"555-1234", "+44 20 7946*", "1800*", "18005551000"} {
		if !d.Add(e, "internal") {
			t.Fatalf("Add(%q) refused", e)
		}
	}
	if d.Add("call me", "internal") || d.Add("*", "internal") {
		t.Fatal("Add took a non-number")
	}
	for _, tc := range []struct {
		number  string
		blocked bool
	}{
		{"5551234", true}, {"(555) 1234", true}, {"5551235", false},
		{"+44 20 7946 0000", true}, {"442079470000", false},
		{"18001234567", true}, {"1800", true}, {"180", false},
		{"garbage", true}, // cannot be shown not to be on a list
	} {
		if got, _ := d.Blocked(tc.number); got != tc.blocked {
			t.Errorf("Blocked(%q) = %v", tc.number, got)
		}
	}
	d.Remove("1800*")
	if got, list := d.Blocked("18005551000"); !got || list != "internal" {
		t.Fatal("removing the prefix removed the number")
	}
	if got, _ := d.Blocked("18001234567"); got {
		t.Fatal("the removed prefix still blocks")
	}
	d.Remove("555 1234")
	if got, _ := d.Blocked("5551234"); got {
		t.Fatal("the removed number still blocks")
	}
}

func TestParseContacts(t *testing.T) {
	list := "\ufeffName,Phone,timezone,Plan\n" +
		"Ann,+44 20 7946 0001,,gold\n" +
		"Bob,(555) 010-0002,America/Chicago,silver\n" +
		"Cy,not a number,,x\n" +
		"Di,555 010 0002,,dup\n" +
		"Ed,5550100003,Mars/Olympus,x\n" +
		"Fay,5550100004\n" +
		"Gil,5550100005,,\"bronze\"\n" +
		"Hal,5550100006,,a \"stray quote\n" +
		"Ivy,5550100007,,ok\n"
	cs, bad, err := ParseContacts(strings.NewReader(list), map[string]string{"Phone": "number"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 || cs[3].Number != "5550100007" || cs[0].Number != "442079460001" || cs[0].Zone != "Europe/London" || cs[0].Fields["plan"] != "gold" ||
		cs[1].Zone != "America/Chicago" || cs[1].Fields["name"] != "Bob" || cs[2].Number != "5550100005" || cs[2].Zone != "" {
		t.Fatalf("contacts: %+v", cs)
	}
	want := []int{4, 5, 6, 7, 9} // the stray quote's row alone; the reader goes on
	if len(bad) != len(want) {
		t.Fatalf("row errors: %v", bad)
	}
	for i, b := range bad {
		if b.Line != want[i] || b.Reason == "" {
			t.Fatalf("row error %d: %v", i, b)
		}
	}
	if got := FieldNames(cs); strings.Join(got, ",") != "name,plan" {
		t.Fatalf("fields: %v", got)
	}
	for _, tc := range []struct{ name, csv string }{
		{"empty", ""},
		{"no number column", "name,phone\nAnn,555\n"},
		{"a column twice", "number,Number\n1,2\n"},
		{"a nameless column", "number,\n1,2\n"},
	} {
		if _, _, err := ParseContacts(strings.NewReader(tc.csv), nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, _, err := ParseContacts(strings.NewReader("phone\n1\n"), nil); !errors.Is(err, ErrNoNumberColumn) {
		t.Fatalf("no number column: %v", err)
	}
	// an unclosed quote: the rows before it are kept, the rest reported
	cs, bad, err = ParseContacts(strings.NewReader("number,note\n5550001,ok\n5550002,\"open\n5550003,x\n"), nil)
	if err != nil || len(cs) != 1 || len(bad) != 1 {
		t.Fatalf("unclosed quote: %v %v %v", cs, bad, err)
	}
}

func FuzzParseContacts(f *testing.F) {
	f.Add("number,name\n5551234,Ann\n")
	f.Add("\ufeffPhone,timezone\n+44 20 7946 0001,Europe/London\n\"x\n")
	f.Add("number\n\n,\n\"\"\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		cs, _, _ := ParseContacts(strings.NewReader(s), map[string]string{"Phone": "number"})
		for _, c := range cs {
			if c.Number == "" || Normalize(c.Number) != c.Number {
				t.Fatalf("contact with number %q", c.Number)
			}
		}
	})
}

func TestNext(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rules := map[string]Rule{"callback_tomorrow": {Retry: 24 * time.Hour}, string(Busy): {Retry: time.Minute}}
	for _, tc := range []struct {
		key      string
		attempts int
		ok       bool
		after    time.Duration
	}{
		{string(Busy), 1, true, time.Minute},           // the campaign's rule
		{string(NoAnswer), 1, true, 2 * time.Hour},     // the default
		{string(NoAnswer), 3, false, 0},                // attempts used up
		{string(Failed), 1, true, 30 * time.Minute},    // the network's trouble: later
		{string(Invalid), 1, false, 0},                 // final
		{"callback_tomorrow", 1, true, 24 * time.Hour}, // a disposition's rule
		{"sale", 1, false, 0},                          // a disposition with none: done
	} {
		at, ok := Next(rules, tc.key, tc.attempts, 3, now)
		if ok != tc.ok || (ok && at.Sub(now) != tc.after) {
			t.Errorf("Next(%s, %d) = %v %v", tc.key, tc.attempts, at, ok)
		}
	}
}
