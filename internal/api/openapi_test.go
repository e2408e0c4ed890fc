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
