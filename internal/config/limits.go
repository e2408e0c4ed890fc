package config

// Limits is the node's capacity. Above it new calls are refused with 503
// and Retry-After while the calls already up go on untouched. Zero is no
// limit.
type Limits struct {
	// MaxCalls bounds the calls in progress at once.
	MaxCalls int `yaml:"max_calls"`
	// MaxCallsPerSecond bounds how fast new calls are taken (a token
	// bucket holding one second's worth).
	MaxCallsPerSecond float64 `yaml:"max_calls_per_second"`
}

func (c *Config) validateLimits(v *validator) {
	if c.Limits.MaxCalls < 0 {
		v.add("limits", "max_calls: must be >= 0", "limits", "max_calls")
	}
	if c.Limits.MaxCallsPerSecond < 0 {
		v.add("limits", "max_calls_per_second: must be >= 0", "limits", "max_calls_per_second")
	}
}
