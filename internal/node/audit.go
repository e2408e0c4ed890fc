package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// auditOf is the audit entry of a call event that is an audit item
// whatever started it — a phone's feature code as much as the API (whose
// requests have their own entries): a supervisor listening, whispering or
// barging, and a recording paused or resumed.
func auditOf(e store.Event) (store.AuditEntry, bool) {
	a := store.AuditEntry{At: e.At, Action: string(e.Kind), Target: e.CallID, Detail: e.Detail, Source: "call"}
	switch e.Kind {
	case event.MonitorStarted, event.MonitorMode, event.MonitorEnded:
		for _, f := range strings.Fields(e.Detail) {
			if v, ok := strings.CutPrefix(f, "supervisor="); ok {
				a.Actor = strings.TrimSuffix(v, ":")
			}
		}
		if e.Agent != "" {
			a.Detail = "agent=" + e.Agent + " " + e.Detail
		}
	case event.RecordingPaused, event.RecordingResumed:
		a.Actor = strings.TrimPrefix(e.Detail, "by ")
		if f := strings.Fields(a.Actor); len(f) >= 2 && f[0] == "agent" { // "agent 1001 (*1)": a phone's feature code
			a.Actor = f[1]
		}
	default:
		return store.AuditEntry{}, false
	}
	if a.Actor == "" {
		a.Actor = "unknown"
	}
	return a, true
}

// writeAudit writes an entry to the audit log, logging (never failing what
// it records) if the store refuses it.
func writeAudit(st *store.Store, log *slog.Logger, e store.AuditEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Audit(ctx, e); err != nil {
		log.Error("audit entry not written", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// ReloadBy reloads the setup (Reload) on behalf of actor from outside the
// API — "SIGHUP" — and puts the attempt in the audit log.
func (n *Node) ReloadBy(ctx context.Context, actor string) (Applied, error) {
	res, err := n.Reload(ctx, actor)
	e := store.AuditEntry{Actor: actor, Source: "local", Action: "config_reload", Target: n.opts.setup.Path, Result: 200}
	if err != nil {
		e.Result, e.Detail = 422, err.Error()
	} else if b, jerr := json.Marshal(res); jerr == nil {
		e.Detail = string(b)
	}
	writeAudit(n.st, n.log, e)
	return res, err
}
