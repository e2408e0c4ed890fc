package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// maxItemBytes bounds one item sent to the setup's collections.
const maxItemBytes = 1 << 20

// editAttempts bounds how often an edit is made again on top of a version
// someone else published meanwhile (only when the request did not pin
// one with If-Match).
const editAttempts = 3

// adminOnly says whether collection name is one only admins read or edit.
func adminOnly(name string) bool { return name == "users" || name == "trunks" || name == "webhooks" }

// pin is what a request's If-Match holds the edit to: a version of the
// setup, or an item's tag (its ETag); zero when it has none.
type pin struct {
	version int64
	item    string
}

// itemETag is an item's ETag.
func (s *Server) itemETag(it config.Item) string { return `"item-` + it.Tag(s.tagKey) + `"` }

// SetTagKey sets the key of the setup items' ETags (the cluster's, so
// that any node accepts an ETag any node gave). Call it before serving.
func (s *Server) SetTagKey(key []byte) { s.tagKey = key }

// readPin reads If-Match: "12" (a version) or "item-…" (an item's ETag).
func readPin(w http.ResponseWriter, r *http.Request) (pin, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if t, ok := strings.CutPrefix(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), "item-"); ok && h != "" {
		return pin{item: t}, true
	}
	v, ok := ifMatch(w, r)
	return pin{version: v}, ok
}

// errStaleItem refuses an edit pinned to an item's tag that is no longer
// the item's.
var errStaleItem = errors.New("the item has changed since it was read: read it again and redo the change")

// serveCollections serves the setup's lists item by item under
// /api/v1/config/{collection}: list, read, create (POST), replace or add
// (PUT), remove (DELETE). Every change is checked as the whole setup is
// (422 names the field), published as a new version and applied to the
// next call; If-Match (the item's ETag or a version) refuses a stale
// change with 409. ?dry_run=true checks a change without making it.
func (s *Server) serveCollections(x Setups, vs VersionStore) {
	for _, c := range config.Collections() {
		base := "/api/v1/config/" + c.Name
		s.handle("GET "+base, func(w http.ResponseWriter, r *http.Request) {
			if !s.mayRead(w, r, c.Name) {
				return
			}
			v, ok := s.latestSetup(w, r, vs)
			if !ok {
				return
			}
			items, err := config.Items([]byte(v.YAML), c)
			if err != nil {
				writeError(w, 500, err.Error())
				return
			}
			values := make([]map[string]any, len(items))
			for i, it := range items {
				values[i] = it.Value
			}
			w.Header().Set("ETag", versionTag(v.Version))
			writeJSON(w, 200, map[string]any{"version": v.Version, "items": values})
		}, staff())
		s.handle("GET "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			if !s.mayRead(w, r, c.Name) {
				return
			}
			v, ok := s.latestSetup(w, r, vs)
			if !ok {
				return
			}
			it, err := config.FindItem([]byte(v.YAML), c, r.PathValue("id"))
			if err != nil {
				s.editRefused(w, r, err, nil)
				return
			}
			w.Header().Set("ETag", s.itemETag(it))
			w.Header().Set("X-Switchboard-Version", strconv.FormatInt(v.Version, 10))
			writeJSON(w, 200, it.Value)
		}, staff())
		put := func(create bool) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if !s.mayEdit(w, r, c.Name) {
					return
				}
				body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxItemBytes))
				if err != nil {
					writeError(w, 413, fmt.Sprintf("an item must be at most %d bytes", maxItemBytes))
					return
				}
				id := r.PathValue("id")
				if create && c.Key != "" {
					id = keyOf(body, c.Key)
					if id == "" {
						writeJSON(w, 422, map[string]any{"errors": []string{c.Key + ": required"}})
						return
					}
				}
				s.editItem(w, r, x, vs, c, id, func(data []byte) ([]byte, error) {
					item, err := config.ItemNode(body)
					if err != nil {
						return nil, err
					}
					return config.Put(data, c, id, item, create)
				}, create)
			}
		}
		s.handle("POST "+base, put(true), staff())
		if c.Name == "campaigns" {
			s.handle("POST /api/v1/campaigns", put(true), staff()) // the outbound API's name for it
		}
		s.handle("PUT "+base+"/{id}", put(false), staff())
		s.handle("DELETE "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			if !s.mayEdit(w, r, c.Name) {
				return
			}
			id := r.PathValue("id")
			s.editItem(w, r, x, vs, c, id, func(data []byte) ([]byte, error) { return config.Delete(data, c, id) }, false)
		}, staff())
	}
	s.handle("POST /api/v1/config/changes", s.publishChanges(x, vs), staff())
	queues, _ := config.CollectionByName("queues")
	// A queue's dispositions and script, on their own: what supervisors
	// may edit by default.
	for _, part := range []struct{ path, field, right string }{{"dispositions", "dispositions", "dispositions"}, {"script", "script", "scripts"}} {
		s.handle("GET /api/v1/config/queues/{id}/"+part.path, func(w http.ResponseWriter, r *http.Request) {
			v, ok := s.latestSetup(w, r, vs)
			if !ok {
				return
			}
			it, err := config.FindItem([]byte(v.YAML), queues, r.PathValue("id"))
			if err != nil {
				s.editRefused(w, r, err, nil)
				return
			}
			val := it.Value[part.field]
			if val == nil && part.field == "dispositions" {
				val = []any{}
			} else if val == nil {
				val = ""
			}
			w.Header().Set("ETag", s.itemETag(it))
			writeJSON(w, 200, map[string]any{part.field: val})
		}, staff())
		s.handle("PUT /api/v1/config/queues/{id}/"+part.path, func(w http.ResponseWriter, r *http.Request) {
			if !s.mayEdit(w, r, part.right) {
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxItemBytes))
			if err != nil {
				writeError(w, 413, fmt.Sprintf("the body must be at most %d bytes", maxItemBytes))
				return
			}
			id := r.PathValue("id")
			s.editItem(w, r, x, vs, queues, id, func(data []byte) ([]byte, error) {
				sent, err := config.ItemNode(body)
				if err != nil {
					return nil, err
				}
				val := fieldNode(sent, part.field)
				if val == nil || len(sent.Content) != 2 {
					return nil, fmt.Errorf(`the body must be {"%s": ...} and nothing else`, part.field)
				}
				it, err := config.FindItem(data, queues, id)
				if err != nil {
					return nil, err
				}
				item := it.Node()
				setField(item, part.field, val)
				return config.Put(data, queues, id, item, false)
			}, false)
		}, staff())
	}
	s.handle("PUT /api/v1/config/roles", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			SupervisorsEdit []string `json:"supervisors_edit"`
		}
		if err := decodeBody(w, r, &body, 16<<10); err != nil {
			writeError(w, 400, `body: {"supervisors_edit": ["agents", "dispositions", ...]}: `+err.Error())
			return
		}
		if body.SupervisorsEdit == nil {
			body.SupervisorsEdit = []string{}
		}
		p, ok := readPin(w, r)
		if !ok {
			return
		}
		if _, _, ok := s.publishEdit(w, r, x, vs, pin{version: p.version}, func([]byte) error { return nil }, func(data []byte) ([]byte, error) {
			return config.SetSupervisorsEdit(data, body.SupervisorsEdit)
		}); !ok {
			return
		}
		w.Header().Set("X-Switchboard-Version", strconv.FormatInt(x.Running(), 10))
		writeJSON(w, 200, s.roles())
	}, []string{config.RoleAdmin})
	s.handle("GET /api/v1/config/roles", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.roles())
	}, staff())
}

// roles is what each role may read and edit in the admin API and console.
func (s *Server) roles() map[string]any {
	cfg := s.config()
	var sup []string
	for _, what := range config.SupervisorEditable() {
		if cfg.Console.SupervisorMayEdit(what) {
			sup = append(sup, what)
		}
	}
	all := []string{"hours_overrides"}
	for _, c := range config.Collections() {
		all = append(all, c.Name)
	}
	all = append(all, "dispositions", "scripts", "prompts")
	return map[string]any{"roles": []map[string]any{
		{"role": config.RoleAdmin, "edits": all, "reads": all},
		{"role": config.RoleSupervisor, "edits": append([]string{"hours_overrides"}, sup...), "reads": readableBySupervisors()},
		{"role": config.RoleAgent, "edits": []string{}, "reads": []string{}},
	}, "supervisor_editable": config.SupervisorEditable()}
}

// readableBySupervisors are the collections supervisors may read.
func readableBySupervisors() []string {
	var out []string
	for _, c := range config.Collections() {
		if !adminOnly(c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// keyOf is the string field key of a JSON object (numbers too), or "".
func keyOf(body []byte, key string) string {
	n, err := config.ItemNode(body)
	if err != nil {
		return ""
	}
	if v := fieldNode(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func fieldNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setField sets key of mapping m to v, adding it when absent.
func setField(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// mayRead answers 403 when the caller may not read collection name.
func (s *Server) mayRead(w http.ResponseWriter, r *http.Request, name string) bool {
	if who(r).role == config.RoleAdmin || !adminOnly(name) {
		return true
	}
	writeError(w, 403, name+" are for admins only")
	return false
}

// mayEdit answers 403 when the caller may not edit what.
func (s *Server) mayEdit(w http.ResponseWriter, r *http.Request, what string) bool {
	p := who(r)
	if p.role == config.RoleAdmin || (p.role == config.RoleSupervisor && s.config().Console.SupervisorMayEdit(what)) {
		return true
	}
	writeError(w, 403, fmt.Sprintf("your role may not edit %s (console.supervisors_edit says what supervisors may)", what))
	return false
}

// latestSetup is the setup's latest version.
func (s *Server) latestSetup(w http.ResponseWriter, r *http.Request, vs VersionStore) (store.ConfigVersion, bool) {
	v, ok, err := vs.LatestConfigVersion(r.Context())
	switch {
	case err != nil:
		s.log.Error("api: the setup's latest version", "err", err)
		writeError(w, 500, "could not read the setup")
		return store.ConfigVersion{}, false
	case !ok:
		writeError(w, 404, "no version of the setup is saved")
		return store.ConfigVersion{}, false
	}
	return v, true
}

// editItem makes change to the latest setup and publishes the result as a
// new version made by the caller (or only checks it, with ?dry_run=true),
// answering the item id of c as it then is (201 when created), 204 after
// a removal.
func (s *Server) editItem(w http.ResponseWriter, r *http.Request, x Setups, vs VersionStore, c config.Collection, id string,
	change func(data []byte) ([]byte, error), create bool) {
	p, ok := readPin(w, r)
	if !ok {
		return
	}
	pinned := func(latest []byte) error {
		if p.item == "" {
			return nil
		}
		it, err := config.FindItem(latest, c, id)
		if err != nil {
			return err
		}
		if it.Tag(s.tagKey) != p.item {
			w.Header().Set("ETag", s.itemETag(it))
			return errStaleItem
		}
		return nil
	}
	out, version, ok := s.publishEdit(w, r, x, vs, p, pinned, change)
	if !ok {
		return
	}
	w.Header().Set("X-Switchboard-Version", strconv.FormatInt(version, 10))
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if c.Key == "" && create {
		items, _ := config.Items(out, c)
		id = strconv.Itoa(len(items) - 1)
	}
	it, err := config.FindItem(out, c, id)
	if err != nil {
		writeJSON(w, 200, map[string]any{"version": version})
		return
	}
	w.Header().Set("ETag", s.itemETag(it))
	code := 200
	if create {
		code = 201
		w.Header().Set("Location", "/api/v1/config/"+c.Name+"/"+id)
	}
	writeJSON(w, code, it.Value)
}

// publishEdit makes change to the latest setup, once pinned (the request's
// own checks of the latest setup) passes, and publishes the result as a
// new version made by the caller; it is made again on a version someone
// published meanwhile unless the request pinned one (p). With ?dry_run=true
// it only checks the result and answers 200 itself. It answers every
// refusal itself and reports ok with the setup made and its version.
func (s *Server) publishEdit(w http.ResponseWriter, r *http.Request, x Setups, vs VersionStore, p pin,
	pinned func(latest []byte) error, change func(data []byte) ([]byte, error)) (out []byte, version int64, ok bool) {
	dry := r.URL.Query().Get("dry_run") == "true"
	for attempt := 1; ; attempt++ {
		latest, ok := s.latestSetup(w, r, vs)
		if !ok {
			return nil, 0, false
		}
		if p.version > 0 && p.version != latest.Version {
			s.editRefused(w, r, &StaleError{Base: p.version, Latest: latest.Version}, nil)
			return nil, 0, false
		}
		if err := pinned([]byte(latest.YAML)); err != nil {
			s.editRefused(w, r, err, nil)
			return nil, 0, false
		}
		out, err := change([]byte(latest.YAML))
		if err != nil {
			s.editRefused(w, r, err, nil)
			return nil, 0, false
		}
		if dry {
			if err := x.Check(out); err != nil {
				s.editRefused(w, r, err, out)
				return nil, 0, false
			}
			writeJSON(w, 200, map[string]any{"valid": true, "version": latest.Version})
			return nil, 0, false
		}
		_, _, err = x.ApplyFile(r.Context(), out, who(r).name, latest.Version)
		var stale *StaleError
		if errors.As(err, &stale) && attempt < editAttempts && p == (pin{}) {
			continue // someone published meanwhile: the change again, on theirs
		}
		if err != nil {
			s.editRefused(w, r, err, out)
			return nil, 0, false
		}
		return out, x.Running(), true
	}
}

// maxChanges bounds the changes published together as one version.
const maxChanges = 200

// A setupChange is one change of POST /api/v1/config/changes: an item of
// a collection created, replaced or removed.
type setupChange struct {
	// Collection is the collection's name (queues, agents, flows, ...).
	Collection string `json:"collection"`
	// Op is "create", "put" (replace or add) or "delete".
	Op string `json:"op"`
	// ID is the item's key (a keyless collection's index); for create it
	// is the item's own key.
	ID string `json:"id,omitempty"`
	// Item is the item (create and put), as the collection's routes take it.
	Item json.RawMessage `json:"item,omitempty"`
	// IfMatch is the item's ETag as it was read: the change is refused
	// with 409 if the item has changed or gone since. It is compared with
	// the item as the latest version has it, before the batch's changes.
	IfMatch string `json:"if_match,omitempty"`
}

// publishChanges serves POST /api/v1/config/changes: several items of the
// setup's collections changed together and published as one version (the
// console's draft), checked as the whole setup is; If-Match names the
// version they were made on, each change's if_match its item's ETag, and
// ?dry_run=true only checks them. Each change needs the caller's right to
// edit its collection.
func (s *Server) publishChanges(x Setups, vs VersionStore) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Changes []setupChange `json:"changes"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8*maxItemBytes))
		dec.DisallowUnknownFields() // a misspelt if_match must not pass as no pin
		if err := dec.Decode(&body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, 413, fmt.Sprintf("the changes must be at most %d bytes", 8*maxItemBytes))
				return
			}
			writeError(w, 400, "the body must be {\"changes\": [{\"collection\": ..., \"op\": \"create|put|delete\", \"id\": ..., \"item\": {...}}]}: "+err.Error())
			return
		}
		if len(body.Changes) == 0 || len(body.Changes) > maxChanges {
			writeJSON(w, 422, map[string]any{"errors": []string{fmt.Sprintf("changes: between 1 and %d changes", maxChanges)}})
			return
		}
		cols := make([]config.Collection, len(body.Changes))
		var problems []string
		keyless := map[string]int{} // changes per collection named by position
		for i := range body.Changes {
			ch := &body.Changes[i]
			c, ok := config.CollectionByName(ch.Collection)
			at := fmt.Sprintf("changes[%d]", i)
			switch {
			case !ok:
				problems = append(problems, at+".collection: no collection "+strconv.Quote(ch.Collection))
				continue
			case ch.Op != "create" && ch.Op != "put" && ch.Op != "delete":
				problems = append(problems, at+`.op: must be "create", "put" or "delete"`)
			case c.Key == "" && keyless[c.Name] > 0:
				// its items are named by position, which an earlier change moves
				problems = append(problems, at+": one change of "+c.Name+" at a time (they are named by their position)")
			case ch.Op == "create" && c.Key == "":
				ch.ID = ""
			case ch.Op == "create":
				ch.ID = keyOf(ch.Item, c.Key)
				if ch.ID == "" {
					problems = append(problems, at+".item."+c.Key+": required")
				}
			case ch.Op != "create" && ch.ID == "":
				problems = append(problems, at+".id: required")
			}
			if ch.Op != "delete" && len(ch.Item) == 0 {
				problems = append(problems, at+".item: required")
			}
			if c.Key == "" {
				keyless[c.Name]++
			}
			cols[i] = c
		}
		if len(problems) > 0 {
			writeJSON(w, 422, map[string]any{"errors": problems})
			return
		}
		for _, c := range cols {
			if !s.mayEdit(w, r, c.Name) {
				return
			}
		}
		v, ok := ifMatch(w, r)
		if !ok {
			return
		}
		pinned := func(latest []byte) error {
			for i, ch := range body.Changes {
				if ch.IfMatch == "" {
					continue
				}
				it, err := config.FindItem(latest, cols[i], ch.ID)
				if errors.Is(err, config.ErrNotFound) { // read, then removed since
					return fmt.Errorf("changes[%d] (%s %s): removed since it was read: %w", i, ch.Collection, ch.ID, errStaleItem)
				}
				if err != nil {
					return fmt.Errorf("changes[%d]: %w", i, err)
				}
				if tag := strings.TrimPrefix(strings.Trim(strings.TrimPrefix(ch.IfMatch, "W/"), `"`), "item-"); tag != it.Tag(s.tagKey) {
					return fmt.Errorf("changes[%d] (%s %s): %w", i, ch.Collection, ch.ID, errStaleItem)
				}
			}
			return nil
		}
		change := func(data []byte) ([]byte, error) {
			for i, ch := range body.Changes {
				var err error
				if ch.Op == "delete" {
					data, err = config.Delete(data, cols[i], ch.ID)
				} else {
					var item *yaml.Node
					if item, err = config.ItemNode(ch.Item); err == nil {
						data, err = config.Put(data, cols[i], ch.ID, item, ch.Op == "create")
					}
				}
				if err != nil {
					return nil, fmt.Errorf("changes[%d] (%s %s): %w", i, ch.Collection, ch.ID, err)
				}
			}
			return data, nil
		}
		_, version, ok := s.publishEdit(w, r, x, vs, pin{version: v}, pinned, change)
		if !ok {
			return
		}
		w.Header().Set("X-Switchboard-Version", strconv.FormatInt(version, 10))
		writeJSON(w, 200, map[string]any{"version": version, "changes": len(body.Changes)})
	}
}

// editRefused answers an edit that was not made: 404, 409, or 422 with
// every problem, each naming its field (data is the setup the edit made,
// to name the field of a problem the YAML decoder found on a line).
func (s *Server) editRefused(w http.ResponseWriter, r *http.Request, err error, data []byte) {
	var stale *StaleError
	var ve *config.ValidationError
	switch {
	case errors.Is(err, config.ErrNotFound):
		writeError(w, 404, err.Error())
	case errors.Is(err, config.ErrExists), errors.Is(err, errStaleItem):
		writeError(w, 409, err.Error())
	case errors.As(err, &stale):
		s.setupProblems(w, r, err, false)
	case errors.As(err, &ve):
		lines := make([]string, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			what := p.What
			if (what == "yaml" || what == "") && data != nil {
				if path := config.PathAt(data, p.Line); path != "" {
					what = path
				}
			}
			lines = append(lines, what+": "+p.Msg)
		}
		s.log.Info("setup edit refused", "by", who(r).name, "errors", lines)
		writeJSON(w, 422, map[string]any{"errors": lines})
	case errors.Is(err, context.Canceled):
		writeError(w, 503, err.Error())
	default:
		var ioErr *IOError
		if errors.As(err, &ioErr) {
			s.log.Error("api: setup edit", "err", err)
			writeJSON(w, 500, map[string]any{"errors": []string{err.Error()}})
			return
		}
		writeJSON(w, 422, map[string]any{"errors": []string{err.Error()}})
	}
}

// collectionSchemas adds the setup's items to the document's schemas and
// gives each collection's route its request and response bodies.
func collectionSchemas(defs map[string]any) map[string]map[string]any {
	bodies := map[string]map[string]any{}
	for _, c := range config.Collections() {
		item := schemaOf(reflect.TypeOf(c.Item), "yaml", defs)
		list := map[string]any{"type": "object", "properties": map[string]any{
			"version": map[string]any{"type": "integer"}, "items": map[string]any{"type": "array", "items": item}}}
		base := "/api/v1/config/" + c.Name
		bodies["GET "+base] = map[string]any{"response": list}
		bodies["GET "+base+"/{id}"] = map[string]any{"response": item}
		bodies["POST "+base] = map[string]any{"request": item, "response": item}
		bodies["PUT "+base+"/{id}"] = map[string]any{"request": item, "response": item}
	}
	disp := map[string]any{"type": "object", "properties": map[string]any{"dispositions": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
	script := map[string]any{"type": "object", "properties": map[string]any{"script": map[string]any{"type": "string"}}}
	bodies["GET /api/v1/config/queues/{id}/dispositions"] = map[string]any{"response": disp}
	bodies["PUT /api/v1/config/queues/{id}/dispositions"] = map[string]any{"request": disp, "response": schemaOf(reflect.TypeOf(config.Queue{}), "yaml", defs)}
	bodies["GET /api/v1/config/queues/{id}/script"] = map[string]any{"response": script}
	bodies["PUT /api/v1/config/queues/{id}/script"] = map[string]any{"request": script, "response": schemaOf(reflect.TypeOf(config.Queue{}), "yaml", defs)}
	return bodies
}

// collectionRoute says whether pattern is one of the collections' routes.
func collectionRoute(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	name, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/config/"), "/")
	return slices.ContainsFunc(config.Collections(), func(c config.Collection) bool { return c.Name == name })
}
