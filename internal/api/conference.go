package api

import "net/http"

// conference adds a party to a live call: POST /api/v1/calls/{id}/conference
// {"to": "<extension, queue or number>"} rings them and joins them when they
// answer; during a consultation, {"to": ""} (or no body) merges the
// consulted party. Admins, supervisors and the agent on the call.
func (s *Server) conference(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "conferences are not enabled")
		return
	}
	var body struct {
		To string `json:"to"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &body, 4096); err != nil {
			badBody(w, `body: want {"to": "<extension, queue or number>"} ({"to": ""} merges a consultation)`, err)
			return
		}
	}
	id, p, ok := s.liveCall(w, r)
	if !ok {
		return
	}
	err := s.Calls.AddToConference(id, body.To, p.name)
	status := "ringing"
	if body.To == "" {
		status = "merged"
	}
	writeCallResult(w, err, 202, map[string]string{"status": status, "to": body.To})
}

// leaveConference takes the agent out of a conference, leaving the others
// talking: POST /api/v1/calls/{id}/conference/leave.
func (s *Server) leaveConference(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "conferences are not enabled")
		return
	}
	id, p, ok := s.liveCall(w, r)
	if !ok {
		return
	}
	writeCallResult(w, s.Calls.LeaveConference(id, p.name), 200, map[string]string{"status": "left"})
}

// removeParty drops one party: DELETE /api/v1/calls/{id}/conference/{party}.
func (s *Server) removeParty(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "conferences are not enabled")
		return
	}
	id, p, ok := s.liveCall(w, r)
	if !ok {
		return
	}
	party := r.PathValue("party")
	writeCallResult(w, s.Calls.RemoveParty(id, party, p.name), 200, map[string]string{"status": "removed", "party": party})
}
