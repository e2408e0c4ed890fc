package api

import (
	"net/http"
	"time"
)

// TrunkStatus is an outbound trunk's registration with its carrier.
type TrunkStatus struct {
	Name       string    `json:"name"`
	Host       string    `json:"host"`
	Registered bool      `json:"registered"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	Attempts   int       `json:"attempts"`
}

// listTrunks: GET /api/v1/trunks, every trunk's registration ([] with none).
func (s *Server) listTrunks(w http.ResponseWriter, _ *http.Request) {
	out := []TrunkStatus{}
	if s.Trunks != nil {
		out = append(out, s.Trunks()...)
	}
	writeJSON(w, 200, out)
}
