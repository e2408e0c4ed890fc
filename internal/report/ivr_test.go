package report

import (
	"testing"
	"time"
)

func TestIVR(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	v := func(step, typ string, secs float64, choice string, timeouts, invalid int, end string) IVRVisit {
		return IVRVisit{At: at, IVRStepDetail: IVRStepDetail{Flow: "main", Step: step, Type: typ, Seconds: secs, Choice: choice,
			Timeouts: timeouts, Invalid: invalid, End: end}}
	}
	visits := []IVRVisit{
		v("menu", "menu", 4, "1", 0, 0, ""), v("sales", "queue", 0, "", 0, 0, "queue"),
		v("menu", "menu", 9, "2", 1, 0, ""), v("support", "queue", 0, "", 0, 0, "queue"),
		v("menu", "menu", 6, "1", 0, 2, ""), v("sales", "queue", 0, "", 0, 0, "queue"),
		v("menu", "menu", 20, "", 2, 0, IVREndHungUp),
	}
	got := IVR(visits)
	if len(got) != 1 || got[0].Calls != 4 || got[0].Funnel["queue"] != 3 || got[0].Funnel[IVREndHungUp] != 1 {
		t.Fatalf("%+v", got)
	}
	var menu IVRStep
	for _, s := range got[0].Steps {
		if s.Step == "menu" {
			menu = s
		}
	}
	if menu.Entered != 4 || menu.Choices["1"] != 0.5 || menu.Choices["2"] != 0.25 || menu.Options["1"] != 2 || menu.Hangups != 1 || menu.Timeouts != 3 || menu.Invalid != 2 ||
		menu.HungUp != 1 || *menu.MedianSeconds != 6 || *menu.P90Seconds != 20 {
		t.Fatalf("menu %+v median %v p90 %v", menu, *menu.MedianSeconds, *menu.P90Seconds)
	}
	if _, ok := ParseIVRStep(`{"flow":"main"}`); ok {
		t.Error("a step without its name parsed")
	}
	if d, ok := ParseIVRStep(`{"flow":"main","step":"menu","type":"menu","seconds":1.5,"choice":"1"}`); !ok || d.Choice != "1" || d.Seconds != 1.5 {
		t.Errorf("parse: %+v %v", d, ok)
	}
}
