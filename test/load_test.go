package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// TestLoadGenerator runs `switchboard load` against the demo server: the
// generator's agents register as 1001 and 1002 (sales), its callers press 1.
func TestLoadGenerator(t *testing.T) {
	s := startServer(t)
	sipPort, _ := s.ports.phone(5)
	cmd := exec.Command(serverBin, "load", "--target", s.sipAddr, "--sip-port", itoa(sipPort),
		"--rtp-ports", itoa(s.ports.base+60-2000)+"-"+itoa(s.ports.base+99-2000),
		"--agents", "2", "--first-ext", "1001", "--calls", "6", "--rate", "3", "--aht", "1500ms", "--handle-dist", "constant",
		"--greeting", "1s", "--json", "--timeout", "90s")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	var rep struct {
		Placed, Answered, Abandoned, Failed int
		Registered                          int                   `json:"agents_registered"`
		RTPReceived                         int                   `json:"rtp_packets_received"`
		RTPLost                             int                   `json:"rtp_packets_lost"`
		Setup                               struct{ P50 float64 } `json:"setup_latency_ms"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Placed != 6 || rep.Answered != 6 || rep.Failed != 0 || rep.Registered != 2 || rep.RTPLost != 0 || rep.RTPReceived < 1000 || rep.Setup.P50 <= 0 {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	// The server saw the same calls: six answered records in sales by 1001 and 1002.
	var list struct{ Calls []callRecord }
	waitFor(t, 10*time.Second, "six answered records", func() bool {
		s.api("GET", "/api/v1/calls?limit=20", nil, &list)
		n := 0
		for _, c := range list.Calls {
			if c.Outcome == "answered" && c.Queue == "sales" && (c.Agent == "1001" || c.Agent == "1002") && c.Digits == "1" {
				n++
			}
		}
		return n == 6
	})
}
