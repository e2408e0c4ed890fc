package api

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

func TestDecodeBody(t *testing.T) {
	type body struct {
		State  string `json:"state"`
		Extend int    `json:"extend_seconds"`
		On     *bool  `json:"on"`
	}
	tests := []struct {
		name, in string
		wantErr  string // "" for success
		want     body
	}{
		{"ok", `{"state": "away", "extend_seconds": 30}`, "", body{State: "away", Extend: 30}},
		{"ok with trailing whitespace", "{\"state\": \"away\"}\n\t ", "", body{State: "away"}},
		{"unknown field", `{"stat": "away"}`, `unknown field "stat"`, body{}},
		{"too large", `{"state": "` + strings.Repeat("a", 100) + `"}`, "larger than 64 bytes", body{}},
		{"too large after the value", `{"state": "away"}` + strings.Repeat(" ", 100) + "x", "larger than 64 bytes", body{}},
		{"trailing garbage", `{"state": "away"} x`, "data after the JSON value", body{}},
		{"second value", `{"state": "away"}{"state": "available"}`, "data after the JSON value", body{}},
		{"wrong type", `{"state": 5}`, "state: want a string, not a JSON number", body{}},
		{"wrong type in a pointer", `{"on": "yes"}`, "on: want true or false, not a JSON string", body{}},
		{"fraction for a whole number", `{"extend_seconds": 2.5}`, "extend_seconds: want a whole number", body{}},
		{"not an object", `["away"]`, "want an object, not a JSON array", body{}},
		{"empty", ``, "empty, want a JSON object", body{}},
		{"cut short", `{"state": "aw`, "the JSON ends too early", body{}},
		{"not JSON", `state=away`, "not JSON at byte 1", body{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got body
			err := decodeBody(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(tc.in)), &got, 64)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("decodeBody(%q): %v", tc.in, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("decodeBody(%q): error %v, want one saying %q", tc.in, err, tc.wantErr)
			case tc.wantErr == "" && (got.State != tc.want.State || got.Extend != tc.want.Extend || got.On != nil):
				t.Fatalf("decodeBody(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// A handler's 400 keeps its own description of the body it wants and adds
// the decoder's reason.
func TestBadBodyAnswer(t *testing.T) {
	s := New(&config.Config{}, nil, nil, slog.Default())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"username": "a", "password": "b", "remember": true}`)))
	want := `body: want {\"username\": ..., \"password\": ...}: unknown field \"remember\"`
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("POST /api/v1/session with an unknown field: %d %s, want 400 with %s", rec.Code, rec.Body.String(), want)
	}
}
