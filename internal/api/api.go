// Package api serves Switchboard's REST API (JSON over HTTP) with HTTP Basic
// and Bearer-token authentication and role checks. It reads live state from
// the ACD and history from the store; it never touches SIP or RTP.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webhook"
)

// Store is what the API reads.
type Store interface {
	ListCalls(ctx context.Context, limit int, since time.Time) ([]store.CallRecord, error)
	GetCall(ctx context.Context, id string) (store.CallRecord, []store.Event, error)
	TokenUser(ctx context.Context, token string) (string, error)
	GetRecording(ctx context.Context, callID string) (store.Recording, error)
	AppendEvent(e store.Event)
	SaveDisposition(ctx context.Context, d store.Disposition) error
	GetDisposition(ctx context.Context, callID string) (store.Disposition, error)
	CallsByCaller(ctx context.Context, caller string, limit int) ([]store.PastCall, error)
}

// Server is the HTTP API.
type Server struct {
	// setup is the setup in force and the users derived from it (Apply).
	setup atomic.Pointer[apiSetup]
	// tagKey keys the setup items' ETags (SetTagKey).
	tagKey []byte
	acd    ACD
	store  Store
	log    *slog.Logger
	mux    *http.ServeMux
	// Stats reports process-wide counters (active calls, RTP); nil hides the route.
	Stats func() any
	// Cluster is the cluster's status (GET /api/v1/cluster).
	Cluster func(ctx context.Context) (any, error)
	// Calendar is the business hours and their overrides; nil hides the routes.
	Calendar *flow.Calendar
	// Voicemails lists stored messages; nil hides the routes.
	Voicemails VoicemailStore
	// Calls acts on live calls (transfers); nil hides the routes.
	Calls Calls
	// Trunks reports the outbound trunks' registrations.
	Trunks func() []TrunkStatus
	// Reports sums call records for reports; nil hides the routes.
	Reports ReportStore
	// Webhooks is the webhook delivery log.
	Webhooks func() []webhook.Delivery
	// Phones are the browser softphones; nil hides the routes.
	Phones Softphones
	// CampaignReports reads the outbound campaigns' figures; nil: 404.
	CampaignReports CampaignReports
	// QA keeps quality-review scores; nil hides the routes.
	QA QAStore
	// Security is the SIP edge's bans and security events; nil hides the routes.
	Security SecurityGuard
	// Speech keeps transcripts; nil hides speech analytics' routes.
	Speech SpeechStore
	// Heard lists the live calls being heard and the speech engine's state
	// (the wallboard); nil hides the route.
	Heard func() any

	routes   []route // every authenticated route, for the OpenAPI document
	sessions *sessions
	throttle *throttle // failed logins, per user and per address
	// origins refuses state-changing requests a browser sends from
	// another site (CSRF): a session cookie or cached Basic credentials
	// must not act for a page the user did not open from Switchboard.
	origins *http.CrossOriginProtection
	// audit keeps who did what (audit.go); nil when the store keeps none.
	audit Auditor
	hub   *Hub
	// forward, in a cluster, sends requests about other nodes' calls there;
	// monitoring is where each user's forwarded monitor runs (its stop
	// goes there too).
	forward    Forwarder
	forwardVia http.RoundTripper
	mu         sync.Mutex
	monitoring map[string]string
}

// SetHub makes live streams react to hub's notifications.
func (s *Server) SetHub(h *Hub) { s.hub = h }

type route struct {
	pattern string
	roles   []string
}

// ReportStore sums call records.
type ReportStore interface {
	QueueBuckets(ctx context.Context, from, to time.Time, interval time.Duration, threshold map[string]float64, def, shortAbandon float64) ([]store.QueueBucket, error)
	AgentStateChanges(ctx context.Context, from, to time.Time, lookback time.Duration) ([]store.StateChange, error)
	AgentCalls(ctx context.Context, from, to time.Time) (map[string][2]float64, error)
	EventsOfKind(ctx context.Context, kind event.Kind, from, to time.Time) ([]store.Event, error)
}

type principal struct {
	name     string
	password string
	hash     []byte // bcrypt, when the setup gives password_hash
	ha1      string // an agent's SIP digest HA1, when the setup gives password_ha1
	role     string
	// via is where the user connected from, when another node of the
	// cluster forwarded their request (its source is that node).
	via string
}

// ACD is what the API reads and asks of the distributor (call.Distributor
// on a node, *acd.ACD in tests).
type ACD interface {
	Agent(id string) (acd.AgentView, bool)
	Agents() []acd.AgentView
	Queue(name string) (acd.QueueView, bool)
	Queues() []acd.QueueView
	Login(agentID string) error
	SetAvailable(agentID string) error
	RequestAway(agentID, reason string) (pending bool, err error)
	RequestLogout(agentID string) (pending bool, err error)
	ExtendWrapUp(agentID string, d time.Duration) error
}

// New builds the API handler.
func New(cfg *config.Config, a ACD, st Store, log *slog.Logger) *Server {
	s := &Server{acd: a, store: st, log: log, mux: http.NewServeMux(), sessions: newSessions(), throttle: newThrottle(nil),
		origins: http.NewCrossOriginProtection(), hub: &Hub{}, monitoring: map[string]string{}}
	s.Apply(cfg)
	if k, ok := st.(SessionKeeper); ok {
		s.sessions.restore(k, log)
	}
	if a, ok := st.(Auditor); ok {
		s.audit = a
		s.handle("GET /api/v1/audit", s.auditLog, adminsOnly())
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.handle("GET /api/v1/calls", s.listCalls, anyone())
	s.handle("GET /api/v1/calls/{id}", s.getCall, anyone())
	s.handle("GET /api/v1/agents", s.listAgents, staff())
	s.handle("GET /api/v1/agents/{id}", s.getAgent, anyone())
	s.handle("POST /api/v1/agents/{id}/login", s.agentAction("login"), anyone())
	s.handle("POST /api/v1/agents/{id}/logout", s.agentAction("logout"), anyone())
	s.handle("POST /api/v1/agents/{id}/state", s.agentAction("state"), anyone())
	s.handle("GET /api/v1/queues", s.listQueues, anyone())
	s.handle("GET /api/v1/queues/{name}", s.getQueue, anyone())
	s.handle("GET /api/v1/me", s.me, anyone())
	s.handle("GET /api/v1/stats", func(w http.ResponseWriter, _ *http.Request) {
		if s.Stats == nil {
			writeError(w, 404, "no stats")
			return
		}
		writeJSON(w, 200, s.Stats())
	}, staff())
	s.handle("GET /api/v1/hours", s.listHours, anyone())
	s.handle("PUT /api/v1/hours/{name}/override", s.setOverride, staff())
	s.handle("DELETE /api/v1/hours/{name}/override", s.setOverride, staff())
	s.handle("GET /api/v1/reports/queues", s.queueReport, staff())
	s.handle("GET /api/v1/reports/agents", s.agentReport, staff())
	s.handle("GET /api/v1/reports/wait-estimates", s.waitEstimateReport, staff())
	s.handle("GET /api/v1/reports/ivr", s.ivrReport, staff())
	s.handle("GET /api/v1/reports/campaigns", s.campaignReport, staff())
	s.handle("GET /api/v1/reports/compliance", s.complianceReport, staff())
	s.handle("GET /api/v1/qa/scorecards", s.scorecards, anyone())
	s.handle("GET /api/v1/qa/scores", s.listScores, anyone())
	s.handle("GET /api/v1/qa/review", s.reviewQueue, staff())
	s.handle("POST /api/v1/calls/{id}/score", s.scoreCall, staff())
	s.handle("GET /api/v1/webhooks/deliveries", func(w http.ResponseWriter, _ *http.Request) {
		out := []webhook.Delivery{}
		if s.Webhooks != nil {
			out = append(out, s.Webhooks()...)
		}
		writeJSON(w, 200, out)
	}, adminsOnly())
	s.handle("GET /api/v1/trunks", s.listTrunks, staff())
	s.handle("GET /api/v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		if s.Cluster == nil {
			writeError(w, http.StatusNotFound, "no cluster status on this server")
			return
		}
		st, err := s.Cluster(r.Context())
		if err != nil {
			s.log.Error("cluster status", "err", err)
			writeError(w, http.StatusServiceUnavailable, "cluster status unavailable")
			return
		}
		writeJSON(w, 200, st)
	}, adminsOnly())
	s.handle("GET /api/v1/security/bans", s.securityBans, adminsOnly())
	s.handle("DELETE /api/v1/security/bans/{source}", s.liftBan, adminsOnly())
	s.handle("GET /api/v1/security/events", s.securityEvents, adminsOnly())
	s.handle("GET /api/v1/calls/{id}/recording", s.getRecording, anyone())
	s.handle("POST /api/v1/calls/{id}/recording/{action}", s.recordingAction, anyone())
	s.speechRoutes()
	s.handle("POST /api/v1/calls/{id}/hangup", s.control("hangup"), anyone())
	s.handle("POST /api/v1/calls/{id}/hold", s.control("hold"), anyone())
	s.handle("POST /api/v1/calls/{id}/dtmf", s.control("dtmf"), anyone())
	s.handle("POST /api/v1/calls/{id}/consult", s.control("consult"), anyone())
	s.handle("POST /api/v1/calls/{id}/consult/complete", s.control("consult/complete"), anyone())
	s.handle("POST /api/v1/calls/{id}/consult/cancel", s.control("consult/cancel"), anyone())
	s.handle("GET /api/v1/stream", s.stream, anyone())
	s.handle("POST /api/v1/webrtc/offer", s.softphoneOffer, anyone())
	s.handle("POST /api/v1/webrtc/answer", s.softphoneRespond(true), anyone())
	s.handle("POST /api/v1/webrtc/reject", s.softphoneRespond(false), anyone())
	s.handle("DELETE /api/v1/webrtc", s.softphoneClose, anyone())
	s.handle("POST /api/v1/calls/{id}/monitor", s.monitor, staff())
	s.handle("DELETE /api/v1/monitor", s.stopMonitor, staff())
	s.handle("POST /api/v1/calls/{id}/queue", s.requeue, staff())
	s.handle("POST /api/v1/calls/{id}/disposition", s.saveDisposition, anyone())
	s.handle("GET /api/v1/callers/{number}/calls", s.callerHistory, anyone())
	s.handle("GET /api/v1/callers/{number}/crm", s.crmLookup, anyone())
	s.handle("POST /api/v1/calls/click-to-call", s.clickToCall, anyone())
	s.handle("POST /api/v1/calls/{id}/conference", s.conference, anyone())
	s.handle("POST /api/v1/calls/{id}/conference/leave", s.leaveConference, anyone())
	s.handle("DELETE /api/v1/calls/{id}/conference/{party}", s.removeParty, anyone())
	s.handle("POST /api/v1/calls/{id}/transfer", s.transfer, anyone())
	s.handle("GET /api/v1/voicemails", s.listVoicemails, anyone())
	s.handle("GET /api/v1/voicemails/{id}/audio", s.voicemailAudio, anyone())
	s.mux.HandleFunc("GET /api/openapi.json", s.openAPI)
	s.mux.HandleFunc("POST /api/v1/session", s.login)
	s.mux.HandleFunc("DELETE /api/v1/session", s.logout)
	s.routes = append(s.routes, route{pattern: "POST /api/v1/session", roles: []string{}}, route{pattern: "DELETE /api/v1/session", roles: []string{}})
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, 404, "no such API route") })
	// Go profiles for operators (admin only): heap, goroutines, 30 s CPU.
	s.handle("GET /debug/pprof/", pprof.Index, adminsOnly())
	s.handle("GET /debug/pprof/profile", pprof.Profile, adminsOnly())
	s.handle("GET /debug/pprof/trace", pprof.Trace, adminsOnly())
	return s
}

// Mount adds an unauthenticated route (health, metrics).
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // a forwarded answer cut short: the connection goes
				panic(v)
			}
			s.log.Error("api: panic", "path", r.URL.Path, "panic", v)
			writeError(w, 500, "internal error")
		}
	}()
	if err := s.origins.Check(r); err != nil {
		s.log.Info("api: refused a cross-origin request", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "source", r.RemoteAddr)
		writeError(w, 403, "cross-origin request refused: "+r.Method+" from another site")
		return
	}
	s.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

// Who may use a route. Each is a fresh slice, so no route's roles can
// change another's.
func anyone() []string     { return []string{config.RoleAdmin, config.RoleSupervisor, config.RoleAgent} }
func staff() []string      { return []string{config.RoleAdmin, config.RoleSupervisor} }
func adminsOnly() []string { return []string{config.RoleAdmin} }

// handle adds an authenticated route that the given roles may use.
func (s *Server) handle(pattern string, h http.HandlerFunc, roles []string) {
	s.routes = append(s.routes, route{pattern: pattern, roles: roles})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			var throttled *throttledError
			if errors.As(err, &throttled) {
				writeThrottled(w, throttled)
				return
			}
			w.Header().Set("WWW-Authenticate", challenge(r))
			writeError(w, 401, err.Error())
			return
		}
		if !slices.Contains(roles, p.role) {
			writeError(w, 403, "role "+p.role+" may not do this")
			return
		}
		if s.forwardCall(w, r, pattern, p) { // another node holds the call: it serves and audits this
			return
		}
		s.serveAudited(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)), p, h)
	})
}

// challenge is the WWW-Authenticate of a 401. A browser (it sends
// Sec-Fetch-Mode, or the UI's own header) is never challenged for Basic,
// which would pop up the browser's password dialog over the pages' login
// form and cache credentials a cross-site form could reuse; other clients
// are told they may use Basic.
func challenge(r *http.Request) string {
	if r.Header.Get("X-Switchboard-UI") != "" || r.Header.Get("Sec-Fetch-Mode") != "" {
		return `Bearer realm="switchboard"`
	}
	return `Basic realm="switchboard", charset="UTF-8"`
}

func who(r *http.Request) principal {
	p, _ := r.Context().Value(ctxKey{}).(principal)
	return p
}

func (s *Server) authenticate(r *http.Request) (principal, error) {
	if p, ok, err := s.forwardedPrincipal(r); ok {
		return p, err
	}
	h := r.Header.Get("Authorization")
	if c, err := r.Cookie(sessionCookie); err == nil && h == "" {
		user, ok := s.sessions.user(c.Value)
		if !ok {
			return principal{}, errors.New("session expired: log in again")
		}
		if p, ok := s.user(user); ok {
			return p, nil
		}
	}
	switch {
	case h == "":
		return principal{}, errors.New("authentication required (HTTP Basic, Bearer token or a session)")
	case strings.HasPrefix(h, "Bearer "):
		if d := s.throttle.wait(addrKey(r)); d > 0 {
			return principal{}, &throttledError{Retry: d}
		}
		user, err := s.store.TokenUser(r.Context(), strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
		if err != nil {
			s.throttle.fail(addrKey(r))
			s.log.Info("api: authentication refused", "scheme", "bearer", "source", r.RemoteAddr)
			return principal{}, errors.New("invalid token")
		}
		p, ok := s.user(user)
		if !ok {
			return principal{}, errors.New("token of an unknown user")
		}
		return p, nil
	default:
		user, pass, ok := r.BasicAuth()
		if !ok {
			return principal{}, errors.New("unsupported Authorization scheme")
		}
		keys := []string{userKey(user, r), addrKey(r)}
		if d := s.throttle.wait(keys...); d > 0 {
			return principal{}, &throttledError{Retry: d}
		}
		p, known := s.user(user)
		if !known || !s.checkPassword(p, user, pass) {
			s.throttle.fail(keys...)
			s.log.Info("api: authentication refused", "scheme", "basic", "user", user, "source", r.RemoteAddr)
			s.record(store.AuditEntry{Actor: user, Source: sourceIP(r), Action: "login_failed", Result: 401, Detail: "HTTP Basic"})
			return principal{}, errLogin
		}
		s.throttle.ok(keys...)
		return p, nil
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	writeJSON(w, 200, map[string]string{"username": p.name, "role": p.role})
}

// queryInt reads the query parameter name as a whole number from min to
// max, def when absent.
func queryInt(r *http.Request, name string, def, min, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s: must be a whole number from %d to %d", name, min, max)
	}
	return n, nil
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 50, 1, 1000)
	if err != nil {
		writeError(w, 400, err.Error())
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, 400, "since: must be an RFC 3339 time, e.g. 2026-11-24T09:00:00Z")
			return
		}
		since = t
	}
	calls, err := s.store.ListCalls(r.Context(), limit, since)
	if err != nil {
		s.log.Error("api: list calls", "err", err)
		writeError(w, 500, "could not read calls")
		return
	}
	if p := who(r); p.role == config.RoleAgent {
		own := calls[:0]
		for _, c := range calls {
			if c.Agent == p.name {
				own = append(own, c)
			}
		}
		calls = own
	}
	writeJSON(w, 200, map[string]any{"calls": calls})
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	c, evs, err := s.store.GetCall(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "no such call")
		return
	}
	if err != nil {
		s.log.Error("api: get call", "err", err)
		writeError(w, 500, "could not read the call")
		return
	}
	if p := who(r); p.role == config.RoleAgent && c.Agent != p.name {
		writeError(w, 403, "agents see only their own calls")
		return
	}
	var disp *store.Disposition
	if d, err := s.store.GetDisposition(r.Context(), c.ID); err == nil {
		disp = &d
	}
	out := struct {
		store.CallRecord
		Disposition *store.Disposition `json:"disposition,omitempty"`
		Events      []store.Event      `json:"events"`
		State       string             `json:"state,omitempty"`
		Parties     []call.Party       `json:"parties,omitempty"`
		// Commands and Recording: what the call's agent may do now, while
		// it is live (call.Live).
		Commands  []string `json:"commands,omitempty"`
		Recording string   `json:"recording,omitempty"`
		// Cues are the phrases heard so far, Sentiment the caller's so
		// far (speech analytics).
		Cues      []call.Cue `json:"cues,omitempty"`
		Sentiment *float64   `json:"sentiment,omitempty"`
	}{CallRecord: c, Disposition: disp, Events: evs}
	if s.Calls != nil {
		if live, ok := s.Calls.LiveView(c.ID); ok { // one read: another node's call is read from that node
			out.State, out.Parties, out.Commands, out.Recording = string(live.State), live.Parties, live.Commands, live.Recording
			out.Cues, out.Sentiment = live.Cues, live.Sentiment
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"agents": s.agentViews(s.acd.Agents())})
}

type agentOut struct {
	acd.AgentView
	Name           string  `json:"name"`
	SecondsInState float64 `json:"seconds_in_state"`
}

func (s *Server) agentViews(vs []acd.AgentView) []agentOut {
	out := make([]agentOut, 0, len(vs))
	for _, v := range vs {
		name := ""
		for _, a := range s.config().Agents {
			if a.Extension == v.ID {
				name = a.Name
			}
		}
		out = append(out, agentOut{AgentView: v, Name: name, SecondsInState: v.InState.Seconds()})
	}
	return out
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if p := who(r); p.role == config.RoleAgent && p.name != id {
		writeError(w, 403, "agents see only themselves")
		return
	}
	v, ok := s.acd.Agent(id)
	if !ok {
		writeError(w, 404, "no such agent")
		return
	}
	writeJSON(w, 200, s.agentViews([]acd.AgentView{v})[0])
}

// agentAction changes an agent's state. It answers 200 with the agent when
// the change is made, and 202 with the agent when it is deferred: away or
// logged_out asked for during a call, hold or wrap-up applies when the call
// and its wrap-up end (the agent shows pending_state until then).
func (s *Server) agentAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if p := who(r); p.role == config.RoleAgent && p.name != id {
			writeError(w, 403, "agents change only themselves")
			return
		}
		var err error
		pending := false
		switch action {
		case "login":
			err = s.acd.Login(id)
		case "logout":
			pending, err = s.acd.RequestLogout(id)
		case "state":
			var body struct {
				State  string `json:"state"`
				Reason string `json:"reason"`
				// ExtendSeconds with state wrap_up: more after-call time.
				ExtendSeconds int `json:"extend_seconds"`
			}
			if derr := decodeBody(w, r, &body, 4096); derr != nil {
				badBody(w, `body: want {"state": "available"|"away"|"logged_out"|"wrap_up", "reason": "...", "extend_seconds": N}`, derr)
				return
			}
			switch acd.AgentState(body.State) {
			case acd.Available:
				err = s.acd.SetAvailable(id)
			case acd.Away:
				if body.Reason == "" {
					body.Reason = "away"
				}
				pending, err = s.acd.RequestAway(id, body.Reason)
			case acd.LoggedOut:
				pending, err = s.acd.RequestLogout(id)
			case acd.WrapUp:
				if body.ExtendSeconds < 1 || body.ExtendSeconds > 3600 {
					writeError(w, 400, "extend_seconds: must be 1 to 3600 with state wrap_up")
					return
				}
				err = s.acd.ExtendWrapUp(id, time.Duration(body.ExtendSeconds)*time.Second)
			default:
				writeError(w, 400, "state: must be \"available\", \"away\", \"logged_out\" or \"wrap_up\" (with extend_seconds)")
				return
			}
		}
		if errors.Is(err, acd.ErrUnknownAgent) {
			writeError(w, 404, "no such agent")
			return
		}
		if err != nil {
			writeError(w, 409, err.Error())
			return
		}
		status := 200
		if pending {
			status = 202
		}
		v, _ := s.acd.Agent(id)
		writeJSON(w, status, s.agentViews([]acd.AgentView{v})[0])
	}
}

func (s *Server) listQueues(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"queues": s.acd.Queues()})
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request) {
	q, ok := s.acd.Queue(r.PathValue("name"))
	if !ok {
		writeError(w, 404, "no such queue")
		return
	}
	writeJSON(w, 200, q)
}

func (s *Server) listHours(w http.ResponseWriter, _ *http.Request) {
	if s.Calendar == nil {
		writeError(w, 404, "no hours")
		return
	}
	writeJSON(w, 200, s.Calendar.Status(time.Now()))
}

// setOverride forces a schedule open or closed now (PUT {"state": "closed"})
// or returns it to its hours (DELETE).
func (s *Server) setOverride(w http.ResponseWriter, r *http.Request) {
	if s.Calendar == nil {
		writeError(w, 404, "no hours")
		return
	}
	var open *bool
	if r.Method == http.MethodPut {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeBody(w, r, &body, 4096); err != nil || (body.State != "open" && body.State != "closed") {
			badBody(w, `body: want {"state": "open"|"closed"}`, err)
			return
		}
		o := body.State == "open"
		open = &o
	}
	name := r.PathValue("name")
	if err := s.Calendar.SetOverride(name, open); err != nil {
		writeError(w, 404, err.Error())
		return
	}
	s.log.Info("hours override", "hours", name, "state", map[bool]string{true: "open", false: "closed"}[open != nil && *open], "cleared", open == nil, "by", who(r).name)
	for _, st := range s.Calendar.Status(time.Now()) {
		if st.Name == name {
			writeJSON(w, 200, st)
			return
		}
	}
}
