package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
)

// Calls acts on live calls.
type Calls interface {
	Transfer(callID, target, by string) error
	CallAgent(callID string) (agent string, live bool)
	Recording(callID, action, by string) error
	ClickToCall(agentID, number, by string) (callID string, err error)
	HangupCall(callID, by string) error
	Hold(callID string, on bool, by string) error
	Requeue(callID, queue string, priority *int, by string) error
	SendDigits(callID, digits, by string) error
	MonitorFromDesktop(callID, user, mode string) error
	StopMonitor(user string)
	Consult(callID, target, by string) error
	CompleteConsult(callID, by string) error
	CancelConsult(callID, by string) error
	AddToConference(callID, target, by string) error
	LeaveConference(callID, by string) error
	RemoveParty(callID, party, by string) error
	Parties(callID string) ([]call.Party, bool)
	CallState(callID string) (call.State, bool)
	LiveView(callID string) (call.Live, bool)
}

// monitor starts (or switches the mode of) the caller's monitoring of a
// live call from their softphone: POST /api/v1/calls/{id}/monitor {"mode"}.
func (s *Server) monitor(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "monitoring is not enabled")
		return
	}
	var body struct {
		Mode string `json:"mode"`
	}
	if err := decodeBody(w, r, &body, 1024); err != nil {
		badBody(w, `body: want {"mode": "listen"|"whisper"|"barge"}`, err)
		return
	}
	err := s.Calls.MonitorFromDesktop(r.PathValue("id"), who(r).name, body.Mode)
	writeCallResult(w, err, 202, map[string]string{"status": "monitoring", "mode": body.Mode})
}

func (s *Server) stopMonitor(w http.ResponseWriter, r *http.Request) {
	if s.Calls != nil {
		s.Calls.StopMonitor(who(r).name)
	}
	writeJSON(w, 200, map[string]string{"status": "stopped"})
}

// requeue moves a waiting call or changes its priority (supervisors):
// POST /api/v1/calls/{id}/queue {"queue": "sales", "priority": 5}.
func (s *Server) requeue(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "call control is not enabled")
		return
	}
	var body struct {
		Queue    string `json:"queue"`
		Priority *int   `json:"priority"`
	}
	if err := decodeBody(w, r, &body, 4096); err != nil || (body.Queue == "" && body.Priority == nil) {
		badBody(w, `body: want {"queue": "<queue>"}, {"priority": N} or both`, err)
		return
	}
	err := s.Calls.Requeue(r.PathValue("id"), body.Queue, body.Priority, who(r).name)
	writeCallResult(w, err, 200, map[string]string{"status": "requeued"})
}

// callStatus is the HTTP status of a call-control error: 404 for a call
// or action that does not exist, 400 for a request that cannot be right,
// 409 for one the call's present state refuses, 500 for the rest.
func callStatus(err error) int {
	is := func(targets ...error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
	switch {
	case is(call.ErrShuttingDown, call.ErrBusy, call.ErrRecordingFailed):
		return 503
	case is(call.ErrUnknownCall, call.ErrBadRecAction, call.ErrUnknownParty):
		return 404
	case is(call.ErrUnknownTarget, call.ErrBadMode, call.ErrUnknownAgent, call.ErrBadNumber):
		return 400
	case is(call.ErrNotConnected, call.ErrConsulting, call.ErrNoConsulting, call.ErrTransferBusy, call.ErrNotWaiting,
		call.ErrNoRecording, call.ErrNotRecorded, call.ErrNoTrunk, acd.ErrAgentBusy, call.ErrState, call.ErrConferenceFull):
		return 409
	}
	return 500
}

// writeCallResult answers a call-control request: the error's status and
// message, or okCode with body.
func writeCallResult(w http.ResponseWriter, err error, okCode int, body any) {
	if err != nil {
		writeError(w, callStatus(err), err.Error())
		return
	}
	writeJSON(w, okCode, body)
}

// liveCall checks that the request's {id} is a live call the caller may
// act on (admins and supervisors any, agents only the one they are on);
// it writes the error and returns ok false otherwise.
func (s *Server) liveCall(w http.ResponseWriter, r *http.Request) (id string, p principal, ok bool) {
	id, p = r.PathValue("id"), who(r)
	agent, live := s.Calls.CallAgent(id)
	if !live {
		writeError(w, 404, "no live call "+id)
		return id, p, false
	}
	if p.role == config.RoleAgent && p.name != agent {
		writeError(w, 403, "agents act only on the call they are on")
		return id, p, false
	}
	return id, p, true
}

// control hangs up or holds a live call: POST /api/v1/calls/{id}/hangup,
// POST /api/v1/calls/{id}/hold {"on": true|false}; admins, supervisors
// and the agent on the call.
func (s *Server) control(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Calls == nil {
			writeError(w, 404, "call control is not enabled")
			return
		}
		id, p, ok := s.liveCall(w, r)
		if !ok {
			return
		}
		var err error
		switch action {
		case "consult":
			var body struct {
				To string `json:"to"`
			}
			if derr := decodeBody(w, r, &body, 1024); derr != nil || body.To == "" {
				badBody(w, `body: want {"to": "<extension or number>"}`, derr)
				return
			}
			err = s.Calls.Consult(id, body.To, p.name)
		case "consult/complete":
			err = s.Calls.CompleteConsult(id, p.name)
		case "consult/cancel":
			err = s.Calls.CancelConsult(id, p.name)
		case "dtmf":
			var body struct {
				Digits string `json:"digits"`
			}
			if derr := decodeBody(w, r, &body, 1024); derr != nil || body.Digits == "" ||
				len(body.Digits) > 32 || strings.Trim(body.Digits, "0123456789*#ABCD") != "" {
				badBody(w, `body: want {"digits": "0-9, *, #, A-D (up to 32)"}`, derr)
				return
			}
			err = s.Calls.SendDigits(id, body.Digits, p.name)
		case "hangup":
			err = s.Calls.HangupCall(id, p.name)
		case "hold":
			var body struct {
				On *bool `json:"on"`
			}
			if derr := decodeBody(w, r, &body, 1024); derr != nil || body.On == nil {
				badBody(w, `body: want {"on": true} or {"on": false}`, derr)
				return
			}
			err = s.Calls.Hold(id, *body.On, p.name)
		}
		writeCallResult(w, err, 200, map[string]string{"status": action})
	}
}

// clickToCall rings an agent, then dials a number for them:
// POST /api/v1/calls/click-to-call {"agent": "1003", "number": "5551234"}.
// An agent may only call for themselves.
func (s *Server) clickToCall(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "click-to-call is not enabled")
		return
	}
	var body struct {
		Agent  string `json:"agent"`
		Number string `json:"number"`
	}
	if err := decodeBody(w, r, &body, 4096); err != nil || body.Agent == "" || body.Number == "" {
		badBody(w, `body: want {"agent": "<extension>", "number": "<number>"}`, err)
		return
	}
	p := who(r)
	if p.role == config.RoleAgent && p.name != body.Agent {
		writeError(w, 403, "agents place calls only for themselves")
		return
	}
	id, err := s.Calls.ClickToCall(body.Agent, body.Number, "api "+p.name)
	writeCallResult(w, err, 202, map[string]string{"call_id": id, "status": "ringing the agent"})
}

// transfer moves a live call's caller: POST /api/v1/calls/{id}/transfer
// {"to": "1004" | "support" | "5551234"}. An agent may transfer only the
// call they are on.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "transfers are not enabled")
		return
	}
	var body struct {
		To string `json:"to"`
	}
	if err := decodeBody(w, r, &body, 4096); err != nil || body.To == "" {
		badBody(w, `body: want {"to": "<extension, queue or number>"}`, err)
		return
	}
	id, p, ok := s.liveCall(w, r)
	if !ok {
		return
	}
	err := s.Calls.Transfer(id, body.To, "api "+p.name)
	writeCallResult(w, err, 202, map[string]string{"status": "transferring", "to": body.To})
}
