package outbound

import (
	"fmt"
	"time"
)

// Window is the hours of the contact's local day a campaign may call
// them: from Start to End (minutes after midnight), on the given weekdays
// (every day when none), never on a holiday.
type Window struct {
	Start, End int // minutes after local midnight; End after Start
	Days       []time.Weekday
	Holidays   []string // local dates, 2006-01-02
}

// DefaultWindow is 08:00 to 21:00 every day (the TSR's hours).
var DefaultWindow = Window{Start: 8 * 60, End: 21 * 60}

// ParseClock reads "HH:MM" as minutes after midnight (24:00 is the end of
// the day).
func ParseClock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return h*60 + m, nil
}

// Validate reports a window no call could ever be placed in.
func (w Window) Validate() error {
	if w.Start < 0 || w.End > 24*60 || w.End <= w.Start {
		return fmt.Errorf("window: the end must come after the start, within the day")
	}
	for _, d := range w.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("window: holiday %q is not a date (YYYY-MM-DD)", d)
		}
	}
	return nil
}

// Open reports whether a contact in loc may be called at t.
func (w Window) Open(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	if !w.day(lt) {
		return false
	}
	min := lt.Hour()*60 + lt.Minute()
	return min >= w.Start && min < w.End
}

func (w Window) day(lt time.Time) bool {
	date := lt.Format(time.DateOnly)
	for _, h := range w.Holidays {
		if h == date {
			return false
		}
	}
	if len(w.Days) == 0 {
		return true
	}
	for _, d := range w.Days {
		if lt.Weekday() == d {
			return true
		}
	}
	return false
}

// NextOpen is the first moment at or after t the window is open for a
// contact in loc; ok is false if it does not open within two weeks (every
// day a holiday, or no day allowed).
func (w Window) NextOpen(t time.Time, loc *time.Location) (time.Time, bool) {
	if w.Open(t, loc) {
		return t, true
	}
	lt := t.In(loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	for i := range 15 {
		d := day.AddDate(0, 0, i)
		// the start of the day's window, in local time; a start inside a
		// DST gap (02:30 on the spring-forward day) does not exist, and
		// time.Date may give the hour before it: the window opens at the
		// end of the gap then
		open := time.Date(d.Year(), d.Month(), d.Day(), w.Start/60, w.Start%60, 0, 0, loc)
		if lt := open.In(loc); lt.Day() == d.Day() && lt.Hour()*60+lt.Minute() < w.Start {
			open = open.Add(time.Hour)
		}
		if open.Before(t) {
			continue
		}
		if w.Open(open, loc) {
			return open, true
		}
	}
	return time.Time{}, false
}
