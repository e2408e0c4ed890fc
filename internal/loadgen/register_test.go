package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

func TestRefreshReRegistersAtHalfTheGrant(t *testing.T) {
	tests := []struct {
		name    string
		granted time.Duration
		results []error         // of the re-registrations, in turn
		grants  []time.Duration // what each successful one grants
		want    []time.Duration // the waits before each re-registration
	}{
		{name: "steady", granted: 600 * time.Second, results: []error{nil, nil, nil},
			grants: []time.Duration{600 * time.Second, 600 * time.Second, 600 * time.Second},
			want:   []time.Duration{300 * time.Second, 300 * time.Second, 300 * time.Second}},
		{name: "server shortens the grant", granted: 600 * time.Second, results: []error{nil, nil},
			grants: []time.Duration{60 * time.Second, 60 * time.Second},
			want:   []time.Duration{300 * time.Second, 30 * time.Second}},
		{name: "failure retries before expiry", granted: 60 * time.Second, results: []error{errors.New("timeout"), errors.New("timeout"), nil},
			grants: []time.Duration{0, 0, 60 * time.Second},
			want:   []time.Duration{30 * time.Second, 15 * time.Second, 7500 * time.Millisecond}},
		{name: "tiny grant, at most every second", granted: time.Second, results: []error{nil},
			grants: []time.Duration{time.Second}, want: []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var waits []time.Duration
			after := func(d time.Duration) <-chan time.Time {
				waits = append(waits, d)
				ch := make(chan time.Time, 1)
				if len(waits) <= len(tc.want) {
					ch <- time.Time{}
				} else {
					cancel() // the run is over
				}
				return ch
			}
			n := 0
			register := func(context.Context) (time.Duration, error) {
				i := n
				n++
				return tc.grants[i], tc.results[i]
			}
			done := make(chan struct{})
			go func() { refresh(ctx, tc.granted, register, after); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("refresh did not stop when its context ended")
			}
			if n != len(tc.results) {
				t.Fatalf("%d re-registrations, want %d", n, len(tc.results))
			}
			for i, w := range tc.want {
				if waits[i] != w {
					t.Fatalf("waits %v, want %v first", waits, tc.want)
				}
			}
		})
	}
}

func TestGrantedExpiry(t *testing.T) {
	contact := func(user, expires string) *gosip.ContactHeader {
		c := &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: gosip.NewParams()}
		if expires != "" {
			c.Params.Add("expires", expires)
		}
		return c
	}
	tests := []struct {
		name    string
		headers []gosip.Header
		want    time.Duration
	}{
		{name: "contact param", headers: []gosip.Header{contact("1001", "120"), gosip.NewHeader("Expires", "600")}, want: 120 * time.Second},
		{name: "other contact ignored", headers: []gosip.Header{contact("1002", "30"), gosip.NewHeader("Expires", "300")}, want: 300 * time.Second},
		{name: "nothing said", want: 600 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "127.0.0.1"})
			res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
			for _, h := range tc.headers {
				res.AppendHeader(h)
			}
			if got := grantedExpiry(res, "1001", 600*time.Second); got != tc.want {
				t.Fatalf("granted %v, want %v", got, tc.want)
			}
		})
	}
}
