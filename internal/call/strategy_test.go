package call

import (
	"testing"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
)

// Every strategy the setup accepts is one the ACD routes with.
func TestConfigStrategiesAreACDStrategies(t *testing.T) {
	if len(config.Strategies) != len(acd.Strategies) {
		t.Fatalf("config knows %v, acd %v", config.Strategies, acd.Strategies)
	}
	for _, s := range config.Strategies {
		if _, err := queueConfig(config.Queue{Name: "q", Strategy: s}); err != nil {
			t.Error(err)
		}
	}
}
