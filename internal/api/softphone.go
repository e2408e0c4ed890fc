package api

import (
	"context"
	"net/http"
	"time"
)

// Softphones are the agents' browser phones, as the API drives them.
type Softphones interface {
	// Connect answers a desktop's SDP offer for user.
	Connect(ctx context.Context, user, offer string) (answer string, err error)
	// Respond answers (true) or rejects (false) the call ringing on user's desktop.
	Respond(user string, answer bool) error
	// Disconnect closes user's softphone.
	Disconnect(user string)
	// Status reports user's softphone.
	Status(user string) SoftphoneStatus
}

// SoftphoneStatus is a desktop's softphone, as its live stream shows it.
type SoftphoneStatus struct {
	Connected bool   `json:"connected"`
	Ringing   bool   `json:"ringing"`
	OnCall    bool   `json:"on_call"`
	Caller    string `json:"caller,omitempty"`
}

// softphoneOffer connects the agent's browser softphone: POST
// /api/v1/webrtc/offer {"sdp": "<offer>"} → {"sdp": "<answer>"}.
func (s *Server) softphoneOffer(w http.ResponseWriter, r *http.Request) {
	if s.Phones == nil {
		writeError(w, 404, "the softphone is not enabled")
		return
	}
	var body struct {
		SDP string `json:"sdp"`
	}
	if err := decodeBody(w, r, &body, 64<<10); err != nil || body.SDP == "" {
		badBody(w, `body: want {"sdp": "<offer>"}`, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	answer, err := s.Phones.Connect(ctx, who(r).name, body.SDP)
	if err != nil {
		s.log.Info("softphone refused", "agent", who(r).name, "err", err)
		writeError(w, 400, err.Error())
		return
	}
	writeJSON(w, 200, map[string]string{"sdp": answer})
}

// softphoneRespond answers or rejects the call ringing on the desktop.
func (s *Server) softphoneRespond(answer bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Phones == nil {
			writeError(w, 404, "the softphone is not enabled")
			return
		}
		if err := s.Phones.Respond(who(r).name, answer); err != nil {
			writeError(w, 409, err.Error())
			return
		}
		writeJSON(w, 200, map[string]bool{"answered": answer})
	}
}

// softphoneClose disconnects the desktop's softphone.
func (s *Server) softphoneClose(w http.ResponseWriter, r *http.Request) {
	if s.Phones != nil {
		s.Phones.Disconnect(who(r).name)
	}
	writeJSON(w, 200, map[string]string{"status": "disconnected"})
}

// softphoneStatus is the desktop's softphone for the live stream.
func (s *Server) softphoneStatus(user string) *SoftphoneStatus {
	if s.Phones == nil {
		return nil
	}
	st := s.Phones.Status(user)
	return &st
}
