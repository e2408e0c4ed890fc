package node_test

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/sip"
)

// TestMain runs the node's tests with the SIP timers switchboard serve sets.
func TestMain(m *testing.M) {
	sip.ShortenAcceptedTimers()
	os.Exit(m.Run())
}
