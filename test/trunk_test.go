package e2e

import (
	"fmt"
	"testing"
	"time"
)

// An outbound trunk with register: true registers with its carrier (SIPp
// as the carrier's registrar), answering the digest challenge; the API
// shows it registered.
func TestTrunkRegistersWithDigest(t *testing.T) {
	var carrier *sipp
	s := startServerWith(t, func(p ports) []string {
		sp, _ := p.phone(3)
		carrier = runSIPp(t, "carrier", "-sf", scenario("carrier_register.xml"), "-p", fmt.Sprint(sp), "-m", "1", "-timeout", "30s")
		return []string{`outbound: {host: "127.0.0.1:5080", transport: udp}`,
			fmt.Sprintf(`outbound: {host: "127.0.0.1:%d", transport: udp, register: true, username: sbtrunk, password: secret, expires: 120s}`, sp)}
	})
	carrier.mustSucceed(t, 20*time.Second)
	var trunks []struct {
		Name       string `json:"name"`
		Registered bool   `json:"registered"`
		ExpiresAt  string `json:"expires_at"`
		LastError  string `json:"last_error"`
	}
	waitFor(t, 5*time.Second, "the trunk registered", func() bool {
		s.api("GET", "/api/v1/trunks", nil, &trunks)
		return len(trunks) == 1 && trunks[0].Registered
	})
	if trunks[0].Name != "local" || trunks[0].ExpiresAt == "" {
		t.Fatalf("trunks %+v", trunks)
	}
}
