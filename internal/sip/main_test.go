package sip

import (
	"os"
	"testing"
)

// TestMain runs the package's tests with the SIP timers switchboard serve
// sets.
func TestMain(m *testing.M) {
	ShortenAcceptedTimers()
	os.Exit(m.Run())
}
