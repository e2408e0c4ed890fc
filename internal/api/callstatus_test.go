package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
)

func TestCallStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: x", call.ErrUnknownCall), 404},
		{call.ErrBadRecAction, 404},
		{fmt.Errorf("%w: %q", call.ErrUnknownTarget, "x"), 400},
		{call.ErrBadMode, 400},
		{call.ErrBadNumber, 400},
		{call.ErrNotConnected, 409},
		{call.ErrConsulting, 409},
		{fmt.Errorf("agent 1004: %w", acd.ErrAgentBusy), 409},
		{call.ErrNotWaiting, 409},
		{errors.New("disk full"), 500},
	}
	for _, tt := range tests {
		if got := callStatus(tt.err); got != tt.want {
			t.Errorf("callStatus(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
