package config

import "time"

// Limits is the node's capacity. Above it new calls are refused with 503
// and Retry-After while the calls already up go on untouched. Zero is no
// limit.
type Limits struct {
	// MaxCalls bounds the calls in progress at once.
	MaxCalls int `yaml:"max_calls"`
	// MaxCallsPerSecond bounds how fast new calls are taken (a token
	// bucket holding one second's worth).
	MaxCallsPerSecond float64 `yaml:"max_calls_per_second"`
	// MaxLag refuses new calls while the node's own lag (how late a
	// goroutine sleeping 20 ms wakes up, averaged over about half a
	// second) is above it, and takes them again once the lag is under
	// half of it. Off (zero) unless set, like the other limits.
	MaxLag time.Duration `yaml:"max_lag"`
}

// MinMaxLag is the smallest max_lag: a busy but healthy node wakes a few
// milliseconds late, and a threshold in that noise would refuse calls it
// can carry.
const MinMaxLag = 10 * time.Millisecond

func (c *Config) validateLimits(v *validator) {
	if c.Limits.MaxCalls < 0 {
		v.add("limits", "max_calls: must be >= 0", "limits", "max_calls")
	}
	if c.Limits.MaxCallsPerSecond < 0 {
		v.add("limits", "max_calls_per_second: must be >= 0", "limits", "max_calls_per_second")
	}
	if l := c.Limits.MaxLag; l != 0 && l < MinMaxLag {
		v.add("limits", "max_lag: must be 0 (off) or at least "+MinMaxLag.String(), "limits", "max_lag")
	}
}
