package loadgen

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

func TestIsRefusal(t *testing.T) {
	response := func(code int, headers ...gosip.Header) *gosip.Response {
		req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1"})
		res := gosip.NewResponseFromRequest(req, code, "", nil)
		for _, h := range headers {
			res.AppendHeader(h)
		}
		return res
	}
	tests := []struct {
		name                 string
		err                  error
		refused, retryHeader bool
	}{
		{"503 with Retry-After", &sipgo.ErrDialogResponse{Res: response(503, gosip.NewHeader("Retry-After", "5"))}, true, true},
		{"503 without Retry-After", &sipgo.ErrDialogResponse{Res: response(503)}, true, false},
		{"wrapped 503", fmt.Errorf("invite: %w", &sipgo.ErrDialogResponse{Res: response(503, gosip.NewHeader("Retry-After", "5"))}), true, true},
		{"503 as a value", sipgo.ErrDialogResponse{Res: response(503)}, true, false},
		{"486 is no refusal", &sipgo.ErrDialogResponse{Res: response(486)}, false, false},
		{"a timeout is no refusal", context.DeadlineExceeded, false, false},
		{"another error", errors.New("connection refused"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refused, retry := isRefusal(tc.err)
			if refused != tc.refused || retry != tc.retryHeader {
				t.Fatalf("isRefusal: refused %v, Retry-After %v; want %v, %v", refused, retry, tc.refused, tc.retryHeader)
			}
		})
	}
}

func TestPhaseLossPercent(t *testing.T) {
	tests := []struct {
		name           string
		received, lost uint64
		want           float64
	}{
		{"nothing received", 0, 0, 0},
		{"none lost", 1000, 0, 0},
		{"one in a thousand", 999, 1, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := PhaseReport{RTPReceived: tc.received, RTPLost: tc.lost}
			p.finish()
			if p.RTPLossPct != tc.want {
				t.Fatalf("loss %v%%, want %v%%", p.RTPLossPct, tc.want)
			}
		})
	}
}
