package call

import (
	"slices"
	"testing"
	"time"
)

func TestNumberPrompts(t *testing.T) {
	tests := []struct {
		n    int
		want []string
	}{
		{-1, nil},
		{0, []string{"num-0"}},
		{3, []string{"num-3"}},
		{20, []string{"num-20"}},
		{21, []string{"num-20", "num-1"}},
		{40, []string{"num-40"}},
		{99, []string{"num-90", "num-9"}},
		{105, []string{"num-1", "num-0", "num-5"}},
	}
	for _, tt := range tests {
		if got := NumberPrompts(tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("NumberPrompts(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestWaitPrompts(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want []string
	}{
		{0, []string{"estimated-wait-under-minute"}},
		{29 * time.Second, []string{"estimated-wait-under-minute"}},
		{31 * time.Second, []string{"estimated-wait-about", "num-1", "minute"}},
		{4*time.Minute + 10*time.Second, []string{"estimated-wait-about", "num-4", "minutes"}},
		{25 * time.Minute, []string{"estimated-wait-about", "num-20", "num-5", "minutes"}},
		{60 * time.Minute, []string{"estimated-wait-about", "num-60", "minutes"}},
		{61 * time.Minute, []string{"estimated-wait-over-hour"}},
	}
	for _, tt := range tests {
		if got := WaitPrompts(tt.d); !slices.Equal(got, tt.want) {
			t.Errorf("WaitPrompts(%s) = %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestDigitPromptsAndDialable(t *testing.T) {
	if got := DigitPrompts("5*0#x"); !slices.Equal(got, []string{"num-5", "num-star", "num-0", "num-pound"}) {
		t.Errorf("DigitPrompts = %v", got)
	}
	for s, want := range map[string]bool{"5551234": true, "+15550100": true, "12": false, "": false, "anonymous": false,
		"555-1234": false, "123456789012345678901": false, "+": false} {
		if got := dialable(s); got != want {
			t.Errorf("dialable(%q) = %t, want %t", s, got, want)
		}
	}
}
