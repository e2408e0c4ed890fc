package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/security"
)

// WebCalls are the "call us" page's calls (the webcall gateway).
type WebCalls interface {
	// Start calls number for the browser's offer, with at most maxCalls
	// web calls up.
	Start(ctx context.Context, number, source, offer string, maxCalls int) (id, answer string, err error)
	DTMF(ctx context.Context, id, digits string) error
	State(id string) (state, reason string, ok bool)
	Hangup(id string)
}

// Errors a WebCalls gives that the API answers as such: full (503), no
// such call (404), refused digits (400).
var (
	ErrWebCallsFull = errors.New("the web caller is busy: try again in a minute")
	ErrNoWebCall    = errors.New("no such web call")
	ErrWebDigit     = errors.New("digits are 0-9, *, # and A-D")
	ErrWebNotUp     = errors.New("the call is not connected yet")
	ErrWebOffer     = errors.New("the browser's offer was refused")
)

// ServeWebCalls serves, without a login, the "call us" page's calls:
// POST /api/v1/webcall {"sdp": offer} calls the setup's web_caller.number
// for the browser; its id (unguessable) then reads the call's state,
// sends keys and hangs up. Each address may start web_caller.per_minute
// calls a minute.
func (s *Server) ServeWebCalls(wc WebCalls) {
	lim := &webLimits{}
	public := func(pattern string, h http.HandlerFunc) {
		s.routes = append(s.routes, route{pattern: pattern, roles: []string{}})
		s.mux.HandleFunc(pattern, h)
	}
	public("POST /api/v1/webcall",
		func(w http.ResponseWriter, r *http.Request) {
			cfg := s.config().WebCaller
			if cfg.Number == "" {
				writeError(w, 404, "the web caller is off (web_caller.number)")
				return
			}
			// JSON only: a cross-site form or text/plain POST (which a
			// browser sends without asking) is refused; a page of another
			// site is refused by the server's cross-origin protection (the
			// page is embedded as an iframe of this server's /call).
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				writeError(w, 415, "the body must be application/json")
				return
			}

			addr, err := netip.ParseAddr(sourceIP(r))
			if err != nil || !lim.allow(addr.Unmap(), cfg.PerMinute) {
				w.Header().Set("Retry-After", "60")
				writeError(w, 429, "too many calls from your address: try again in a minute")
				return
			}
			var body struct {
				SDP string `json:"sdp"`
			}
			if err := decodeBody(w, r, &body, 64<<10); err != nil {
				writeError(w, 400, err.Error())
				return
			}
			if body.SDP == "" {
				writeError(w, 400, "sdp: required")
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			id, answer, err := wc.Start(ctx, cfg.Number, sourceIP(r), body.SDP, cfg.MaxCalls)
			switch {
			case errors.Is(err, ErrWebCallsFull):
				w.Header().Set("Retry-After", "60")
				writeError(w, 503, err.Error())
			case errors.Is(err, ErrWebOffer):
				writeError(w, 400, err.Error())
			case err != nil:
				s.log.Error("api: web call", "err", err)
				writeError(w, 500, "the call could not be started")
			default:
				writeJSON(w, 200, map[string]string{"id": id, "sdp": answer})
			}
		})
	public("GET /api/v1/webcall/{id}", func(w http.ResponseWriter, r *http.Request) {
		state, reason, ok := wc.State(r.PathValue("id"))
		if !ok {
			writeError(w, 404, ErrNoWebCall.Error())
			return
		}
		writeJSON(w, 200, map[string]string{"state": state, "reason": reason})
	})
	public("POST /api/v1/webcall/{id}/dtmf", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Digits string `json:"digits"`
		}
		if err := decodeBody(w, r, &body, 4<<10); err != nil {
			writeError(w, 400, err.Error())
			return
		}
		if len(body.Digits) == 0 || len(body.Digits) > 32 {
			writeError(w, 400, "digits: 1 to 32 keys")
			return
		}
		err := wc.DTMF(r.Context(), r.PathValue("id"), body.Digits)
		switch {
		case errors.Is(err, ErrNoWebCall):
			writeError(w, 404, err.Error())
		case errors.Is(err, ErrWebDigit):
			writeError(w, 400, err.Error())
		case errors.Is(err, ErrWebNotUp):
			writeError(w, 409, err.Error())
		case err != nil:
			s.log.Warn("api: web call keys", "err", err)
			writeError(w, 502, "the keys could not be sent: the call is not connected")
		default:
			writeJSON(w, 200, map[string]string{"sent": body.Digits})
		}
	})
	public("DELETE /api/v1/webcall/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := wc.State(r.PathValue("id")); !ok {
			writeError(w, 404, ErrNoWebCall.Error())
			return
		}
		wc.Hangup(r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
}

// webLimits rate-limits web calls per address at web_caller.per_minute
// (default 3), the limiter made again when the setup changes it.
type webLimits struct {
	mu        sync.Mutex
	perMinute int
	l         *security.RateLimiter
}

func (w *webLimits) allow(a netip.Addr, perMinute int) bool {
	if perMinute <= 0 {
		perMinute = 3
	}
	w.mu.Lock()
	if w.l == nil || w.perMinute != perMinute {
		w.l = security.NewRateLimiter([]security.Rate{{PerSecond: float64(perMinute) / 60, Burst: perMinute}}, 10000, security.SystemClock{})
		w.perMinute = perMinute
	}
	l := w.l
	w.mu.Unlock()
	return l.Allow(a, 0)
}
