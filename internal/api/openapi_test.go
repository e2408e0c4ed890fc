package api

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

// Every route is in the OpenAPI document with a summary.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := New(&config.Config{}, nil, nil, slog.Default())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI == "" || len(s.routes) < 20 {
		t.Fatalf("doc %q with %d routes", doc.OpenAPI, len(s.routes))
	}
	for _, rt := range s.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok || op["summary"] == "" {
			t.Errorf("%s: missing or without a summary in the OpenAPI document", rt.pattern)
		}
	}
}

// The agent state route documents the deferred change (202, pending_state)
// and every state it accepts.
func TestOpenAPIAgentState(t *testing.T) {
	s := New(&config.Config{}, nil, nil, slog.Default())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			Summary   string         `json:"summary"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths["/api/v1/agents/{id}/state"]["post"]
	for _, want := range []string{"202", "pending_state", `"logged_out"`, `"away"`, `"available"`, `"wrap_up"`} {
		if !strings.Contains(op.Summary, want) {
			t.Errorf("POST /api/v1/agents/{id}/state summary %q does not mention %s", op.Summary, want)
		}
	}
	if _, ok := op.Responses["202"]; !ok {
		t.Errorf("POST /api/v1/agents/{id}/state: no 202 response in %v", op.Responses)
	}
}
