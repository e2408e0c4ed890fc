package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Auditor keeps the audit log (the store is one); without it nothing is
// audited and GET /api/v1/audit is not served.
type Auditor interface {
	Audit(ctx context.Context, e store.AuditEntry) error
	AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}

// auditBody is how much of a request body an audit entry keeps, and
// auditActor of a user name.
const (
	auditBody  = 1024
	auditActor = 64
)

// audited reports whether a request by p is an audit item: every change
// an admin or supervisor makes, any change made for another agent, every
// download of a recording or a voicemail, and every pause or resume of a
// recording, by anyone.
func audited(r *http.Request, p principal) bool {
	switch {
	case strings.Contains(r.Pattern, "/recording"), strings.HasSuffix(r.Pattern, "/audio"):
		return r.Method != http.MethodHead
	case r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions:
		return false
	case p.role == config.RoleAdmin || p.role == config.RoleSupervisor:
		return true
	}
	id := r.PathValue("id")
	return strings.HasPrefix(r.Pattern, "POST /api/v1/agents/") && id != "" && id != p.name
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets the event stream flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the original writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveAudited runs h and, when the request is an audit item, records who
// did what from where with the result, the request's (redacted) body, and
// for an agent's state the state before and after.
func (s *Server) serveAudited(w http.ResponseWriter, r *http.Request, p principal, h http.HandlerFunc) {
	if s.audit == nil || !audited(r, p) {
		h(w, r)
		return
	}
	detail := ""
	if r.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body} // the handler reads all of it, past what the audit keeps
		detail = redact(b)
	}
	target := auditTarget(r)
	before := s.agentStateOf(r, target)
	sw := &statusWriter{ResponseWriter: w}
	h(sw, r)
	e := store.AuditEntry{Actor: p.name, Role: p.role, Source: sourceIP(r), Action: r.Pattern, Target: target,
		Result: sw.code, Detail: detail, Before: before, After: s.agentStateOf(r, target)}
	s.record(e)
}

// record writes an audit entry, logging (never failing the request) if
// the store refuses it.
func (s *Server) record(e store.AuditEntry) {
	if s.audit == nil {
		return
	}
	if len(e.Actor) > auditActor { // a login's user name is the client's to choose
		e.Actor = strings.ToValidUTF8(e.Actor[:auditActor], "") + "…"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.audit.Audit(ctx, e); err != nil {
		s.log.Error("api: audit entry not written", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// auditTarget is what the request acts on: the path's id, source, party,
// name or number.
func auditTarget(r *http.Request) string {
	for _, k := range []string{"id", "source", "name", "number"} {
		if v := r.PathValue(k); v != "" {
			for _, sub := range []string{"party", "action"} {
				if x := r.PathValue(sub); x != "" {
					return v + "/" + x
				}
			}
			return v
		}
	}
	return ""
}

// agentStateOf is an agent's state ("away: lunch") when the request acts
// on an agent, else "".
func (s *Server) agentStateOf(r *http.Request, id string) string {
	if s.acd == nil || !strings.Contains(r.Pattern, "/api/v1/agents/{id}") {
		return ""
	}
	v, ok := s.acd.Agent(id)
	if !ok {
		return ""
	}
	if v.Reason != "" {
		return string(v.State) + ": " + v.Reason
	}
	return string(v.State)
}

// redact keeps a request body for the audit log without its secrets: in
// a JSON object, values of keys naming a password, secret or token are
// replaced; a body that is not JSON is kept as its length.
func redact(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "(" + strconv.Itoa(len(b)) + " bytes, not JSON)"
	}
	out, _ := json.Marshal(redactValue(v))
	if len(out) > auditBody {
		out = append(out[:auditBody], "…"...)
	}
	return string(out)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") {
				t[k] = "***"
				continue
			}
			if str, ok := x.(string); ok && lk == "sdp" { // a softphone's offer: ICE credentials, nothing to audit
				t[k] = "(" + strconv.Itoa(len(str)) + " bytes of SDP)"
				continue
			}
			t[k] = redactValue(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redactValue(x)
		}
	}
	return v
}

func sourceIP(r *http.Request) string {
	if p := who(r); p.via != "" {
		return p.via
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auditLog answers GET /api/v1/audit?actor=&action=&since=&until=&limit=
// (admin), newest first.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: 100}
	for _, tc := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(tc.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, 400, tc.name+": must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z")
				return
			}
			*tc.to = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, 400, "limit: must be a whole number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	entries, err := s.audit.AuditLog(r.Context(), f)
	if err != nil {
		s.log.Error("api: audit log", "err", err)
		writeError(w, 500, "audit log unavailable")
		return
	}
	writeJSON(w, 200, entries)
}
