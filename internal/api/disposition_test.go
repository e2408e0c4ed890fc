package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// historyStore is an in-memory Store holding one caller's history.
type historyStore struct{ calls []store.PastCall }

func (h *historyStore) ListCalls(context.Context, int, time.Time) ([]store.CallRecord, error) {
	return nil, nil
}
func (h *historyStore) GetCall(context.Context, string) (store.CallRecord, []store.Event, error) {
	return store.CallRecord{}, nil, store.ErrNotFound
}
func (h *historyStore) TokenUser(context.Context, string) (string, error) {
	return "", store.ErrNotFound
}
func (h *historyStore) GetRecording(context.Context, string) (store.Recording, error) {
	return store.Recording{}, store.ErrNotFound
}
func (h *historyStore) AppendEvent(store.Event)                                  {}
func (h *historyStore) SaveDisposition(context.Context, store.Disposition) error { return nil }
func (h *historyStore) GetDisposition(context.Context, string) (store.Disposition, error) {
	return store.Disposition{}, store.ErrNotFound
}
func (h *historyStore) CallsByCaller(context.Context, string, int) ([]store.PastCall, error) {
	return append([]store.PastCall(nil), h.calls...), nil
}

// An agent reads every earlier call and its code, but only their own notes.
func TestCallerHistoryNotes(t *testing.T) {
	past := func(id, agent, by, notes string) store.PastCall {
		return store.PastCall{CallRecord: store.CallRecord{ID: id, Caller: "5551234", Agent: agent, Outcome: "answered"},
			Disposition: "sale", Notes: notes, DispositionAgent: by}
	}
	st := &historyStore{calls: []store.PastCall{
		past("c1", "1001", "1001", "mine"),
		past("c2", "1002", "1002", "colleague's"),
		past("c3", "", "1001", "closed by me, no agent on the record"),
	}}
	cfg := &config.Config{
		Users:  []config.User{{Username: "sup", Password: "s", Role: config.RoleSupervisor}, {Username: "admin", Password: "a", Role: config.RoleAdmin}},
		Agents: []config.Agent{{Extension: "1001", Password: "x"}, {Extension: "1002", Password: "y"}},
	}
	srv := New(cfg, nil, st, slog.Default())
	tests := []struct {
		name, user, pass string
		notes            map[string]string // call id → notes served
	}{
		{"agent sees own notes only", "1001", "x", map[string]string{"c1": "mine", "c2": "", "c3": "closed by me, no agent on the record"}},
		{"other agent", "1002", "y", map[string]string{"c1": "", "c2": "colleague's", "c3": ""}},
		{"supervisor sees all", "sup", "s", map[string]string{"c1": "mine", "c2": "colleague's", "c3": "closed by me, no agent on the record"}},
		{"admin sees all", "admin", "a", map[string]string{"c1": "mine", "c2": "colleague's", "c3": "closed by me, no agent on the record"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/v1/callers/5551234/calls", nil)
			req.SetBasicAuth(tc.user, tc.pass)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got []struct {
				ID          string `json:"id"`
				Disposition string `json:"disposition"`
				Notes       string `json:"notes"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%d calls, want every one of 3: %s", len(got), rec.Body)
			}
			for _, c := range got {
				if c.Disposition != "sale" {
					t.Errorf("call %s: disposition %q, want the code shown to everyone", c.ID, c.Disposition)
				}
				if c.Notes != tc.notes[c.ID] {
					t.Errorf("call %s: notes %q, want %q", c.ID, c.Notes, tc.notes[c.ID])
				}
			}
		})
	}
}
