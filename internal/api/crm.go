package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// crmLookup asks the configured CRM about a caller: GET
// /api/v1/callers/{number}/crm → {"fields": [{"name", "value"}], "link"}.
// The CRM's JSON object is flattened to its scalar fields (nested objects
// as "a.b"); a slow or failing CRM gives an error, never a stuck desktop.
func (s *Server) crmLookup(w http.ResponseWriter, r *http.Request) {
	crm := s.config().CRM
	if crm.URL == "" {
		writeError(w, 404, "no CRM is configured")
		return
	}
	number := r.PathValue("number")
	esc := url.QueryEscape(number)
	timeout := crm.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.ReplaceAll(crm.URL, "{number}", esc), nil)
	if err != nil {
		writeError(w, 500, "crm: "+err.Error())
		return
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		writeError(w, 502, "crm: "+err.Error())
		return
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		writeJSON(w, 200, map[string]any{"found": false, "fields": []any{}, "link": strings.ReplaceAll(crm.Link, "{number}", esc)})
		return
	}
	if res.StatusCode != 200 {
		writeError(w, 502, fmt.Sprintf("crm: HTTP %d", res.StatusCode))
		return
	}
	var obj map[string]any
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&obj); err != nil {
		writeError(w, 502, "crm: not a JSON object")
		return
	}
	type field struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	var fields []field
	var flatten func(prefix string, v any)
	flatten = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				flatten(strings.TrimPrefix(prefix+"."+k, "."), vv)
			}
		case []any:
			b, _ := json.Marshal(x)
			fields = append(fields, field{prefix, string(b)})
		case nil:
		default:
			fields = append(fields, field{prefix, fmt.Sprint(x)})
		}
	}
	flatten("", obj)
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	writeJSON(w, 200, map[string]any{"found": true, "fields": fields, "link": strings.ReplaceAll(crm.Link, "{number}", esc)})
}
