package config

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A Collection is a list in the setup edited one item at a time (the
// admin API and console): queues, agents, numbers...
type Collection struct {
	// Name is the collection's name in the API: /api/v1/config/{Name}.
	Name string
	// Path is the YAML keys leading to the list: ["voicemail", "mailboxes"].
	Path []string
	// Key is the item's field that names it ("name", "extension"); empty
	// when items are named by their position (webhooks: 0, 1, ...).
	Key string
	// Item is a zero item, for its schema.
	Item any
}

// Collections are the lists of the setup the admin API edits.
func Collections() []Collection {
	return []Collection{
		{Name: "numbers", Path: []string{"numbers"}, Key: "number", Item: Number{}},
		{Name: "flows", Path: []string{"flows"}, Key: "name", Item: Flow{}},
		{Name: "queues", Path: []string{"queues"}, Key: "name", Item: Queue{}},
		{Name: "agents", Path: []string{"agents"}, Key: "extension", Item: Agent{}},
		{Name: "users", Path: []string{"users"}, Key: "username", Item: User{}},
		{Name: "hours", Path: []string{"hours"}, Key: "name", Item: Hours{}},
		{Name: "trunks", Path: []string{"trunks"}, Key: "name", Item: Trunk{}},
		{Name: "mailboxes", Path: []string{"voicemail", "mailboxes"}, Key: "name", Item: Mailbox{}},
		{Name: "webhooks", Path: []string{"webhooks"}, Item: Webhook{}},
		{Name: "scorecards", Path: []string{"qa", "scorecards"}, Key: "name", Item: Scorecard{}},
		{Name: "campaigns", Path: []string{"campaigns"}, Key: "name", Item: Campaign{}},
	}
}

// CollectionByName is the collection called name.
func CollectionByName(name string) (Collection, bool) {
	for _, c := range Collections() {
		if c.Name == name {
			return c, true
		}
	}
	return Collection{}, false
}

// IsSecret says whether key is a field the admin API never shows, at any
// depth of an item (a trunk's outbound password too); a put that leaves
// one out keeps the one the item had.
func IsSecret(key string) bool {
	switch key {
	case "password", "password_hash", "password_ha1", "secret":
		return true
	}
	return false
}

// isCredential says whether key is one of the ways to give a password: a
// put that gives one replaces them all.
func isCredential(key string) bool {
	switch key {
	case "password", "password_hash", "password_ha1", "password_file", "password_hash_file", "password_ha1_file", "secret", "secret_file":
		return true
	}
	return false
}

// redact is v without its secrets, at any depth.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if IsSecret(k) {
				delete(t, k)
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redact(x)
		}
	}
	return v
}

// keepSecrets adds to mapping item the secrets of old it leaves out, at
// any depth, unless item gives another credential in their place.
func keepSecrets(old, item *yaml.Node) {
	if old == nil || item == nil || old.Kind != yaml.MappingNode || item.Kind != yaml.MappingNode {
		return
	}
	credential := false
	for i := 0; i+1 < len(item.Content); i += 2 {
		credential = credential || isCredential(item.Content[i].Value)
	}
	for i := 0; i+1 < len(old.Content); i += 2 {
		k, v := old.Content[i].Value, old.Content[i+1]
		now, _ := lookup(item, k)
		switch {
		case IsSecret(k) && now == nil && !(credential && isCredential(k)):
			item.Content = append(item.Content, old.Content[i], v)
		case now != nil && v.Kind == yaml.MappingNode:
			keepSecrets(v, now)
		}
	}
}

// ErrAnchors refuses an edit of a list that uses YAML anchors, aliases or
// merge keys: the file is edited whole instead.
var ErrAnchors = errors.New("the setup's list uses YAML anchors, aliases or merge keys: edit the whole setup (PUT /api/v1/config) instead")

// hasAnchors says whether n or what it holds has an anchor, an alias or a
// merge key.
func hasAnchors(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Anchor != "" || n.Kind == yaml.AliasNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!merge") {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

// Item is one item of a collection as the setup has it.
type Item struct {
	// ID names it in the API: its key field's value, or its position.
	ID string
	// Value is the item as JSON would carry it: maps, lists, strings,
	// numbers and booleans exactly as written (durations stay "30s"),
	// without secrets.
	Value map[string]any
	raw   []byte // the item as JSON, secrets included
	node  *yaml.Node
}

// Tag changes whenever the item does, secrets included: an HMAC of it
// with key (the ETag; keyed, so it tells nothing of the secrets).
func (it Item) Tag(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(it.raw)
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// Node is a copy of the item's YAML, secrets included, to edit and Put.
func (it Item) Node() *yaml.Node { return deepCopy(it.node) }

// ErrNotFound is an edit's error for an item the collection does not have.
var ErrNotFound = errors.New("no such item")

// ErrExists is Create's error for an item the collection has already.
var ErrExists = errors.New("an item of that name exists already")

// editable is a setup's text and its YAML tree.
type editable struct {
	text  []byte
	lines []string
	root  *yaml.Node // the document's mapping
}

func parseEditable(data []byte) (*editable, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the setup is not YAML: %w", err)
	}
	e := &editable{text: data, lines: strings.SplitAfter(string(data), "\n")}
	switch {
	case doc.Kind == 0:
		e.root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	case doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode:
		e.root = doc.Content[0]
	default:
		return nil, errors.New("the setup is not a YAML mapping")
	}
	return e, nil
}

// lookup finds the value of key in mapping m (nil when absent) and the
// index of its key node.
func lookup(m *yaml.Node, key string) (*yaml.Node, int) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1], i
		}
	}
	return nil, -1
}

// list is the collection's sequence in e (nil when absent or null).
func (e *editable) list(c Collection) (*yaml.Node, error) {
	n := e.root
	for _, k := range c.Path {
		v, _ := lookup(n, k)
		if v == nil || v.Tag == "!!null" {
			return nil, nil
		}
		n = v
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: not a list", strings.Join(c.Path, "."))
	}
	return n, nil
}

func (e *editable) items(c Collection) ([]Item, error) {
	seq, err := e.list(c)
	if err != nil || seq == nil {
		return []Item{}, err
	}
	out := make([]Item, 0, len(seq.Content))
	for i, n := range seq.Content {
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s[%d]: not a mapping", strings.Join(c.Path, "."), i)
		}
		id := strconv.Itoa(i)
		if c.Key != "" {
			k, _ := lookup(n, c.Key)
			if k == nil {
				id = ""
			} else {
				id = k.Value
			}
		}
		v, _ := redact(nodeValue(n)).(map[string]any)
		raw, _ := json.Marshal(nodeValue(n))
		out = append(out, Item{ID: id, Value: v, raw: raw, node: n})
	}
	return out, nil
}

// Items lists a collection of the setup data.
func Items(data []byte, c Collection) ([]Item, error) {
	e, err := parseEditable(data)
	if err != nil {
		return nil, err
	}
	return e.items(c)
}

// FindItem is the item id of a collection of data.
func FindItem(data []byte, c Collection, id string) (Item, error) {
	items, err := Items(data, c)
	if err != nil {
		return Item{}, err
	}
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return Item{}, fmt.Errorf("%s %q: %w", c.Name, id, ErrNotFound)
}

// nodeValue is n as plain values: a scalar is a string unless YAML's core
// tags make it a number, a boolean or null (dates stay strings).
func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return nodeValue(n.Content[0])
		}
		return nil
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = nodeValue(c)
		}
		return l
	}
	switch n.ShortTag() {
	case "!!int":
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return v
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!null":
		return nil
	}
	return n.Value
}

// ItemNode turns an item sent as JSON into YAML, block style, keeping its
// fields' order.
func ItemNode(body []byte) (*yaml.Node, error) {
	var probe any
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w", err)
	}
	if _, ok := probe.(map[string]any); !ok {
		return nil, errors.New("the body must be a JSON object")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the body: %w", err)
	}
	n := doc.Content[0]
	blockStyle(n)
	return n, nil
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// Put makes item the one named id in collection c of data: it replaces
// the item of that name, or adds it at the end (with create, only adds:
// ErrExists when there is one; items named by their position are only
// added, with create). Secrets the item leaves out are the old item's. It returns the new setup's text: only the item's lines
// change where the list is written in block style.
func Put(data []byte, c Collection, id string, item *yaml.Node, create bool) ([]byte, error) {
	e, err := parseEditable(data)
	if err != nil {
		return nil, err
	}
	if item.Kind != yaml.MappingNode {
		return nil, errors.New("an item must be a mapping")
	}
	if c.Key != "" {
		k, _ := lookup(item, c.Key)
		switch {
		case k == nil:
			item.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.Key}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: id}}, item.Content...)
		case k.Value != id:
			return nil, fmt.Errorf("%s: %q is not %q, the name in the path (a rename is a new item and the old one removed)", c.Key, k.Value, id)
		}
	}
	if hasAnchors(item) {
		return nil, ErrAnchors
	}
	items, at, err := e.find(c, id)
	if err != nil {
		return nil, err
	}
	switch {
	case at >= 0 && create:
		return nil, fmt.Errorf("%s %q: %w", c.Name, id, ErrExists)
	case at < 0 && c.Key == "" && !create:
		return nil, fmt.Errorf("%s %q: %w", c.Name, id, ErrNotFound) // items named by position are added, not put
	}
	if at >= 0 {
		keepSecrets(items[at].node, item)
	}
	return e.edit(c, at, item)
}

// Delete removes the item named id from collection c of data.
func Delete(data []byte, c Collection, id string) ([]byte, error) {
	e, err := parseEditable(data)
	if err != nil {
		return nil, err
	}
	_, at, err := e.find(c, id)
	if err != nil {
		return nil, err
	}
	if at < 0 {
		return nil, fmt.Errorf("%s %q: %w", c.Name, id, ErrNotFound)
	}
	return e.edit(c, at, nil)
}

// find is c's items and the position of the one named id (-1: none),
// refusing a list with anchors, aliases or merge keys.
func (e *editable) find(c Collection, id string) ([]Item, int, error) {
	if seq, _ := e.list(c); hasAnchors(seq) {
		return nil, -1, ErrAnchors
	}
	items, err := e.items(c)
	if err != nil {
		return nil, -1, err
	}
	for i, it := range items {
		if it.ID == id {
			return items, i, nil
		}
	}
	return items, -1, nil
}

// edit is the setup's text with item at position at of c (added when at
// < 0, removed when item is nil): the item's lines spliced where that
// gives exactly the setup wanted, else the whole file written again.
func (e *editable) edit(c Collection, at int, item *yaml.Node) ([]byte, error) {
	want := e.withItem(c, at, item)
	if out, ok := e.splice(c, at, item); ok && sameValue(out, want) {
		return out, nil
	}
	return renderDoc(want)
}

// withItem is the whole setup as values with item at position at of c's
// list (appended when at < 0; removed when item is nil): what an edit
// must come to, whatever text it makes.
func (e *editable) withItem(c Collection, at int, item *yaml.Node) *yaml.Node {
	root := deepCopy(e.root)
	parent := root
	for i, k := range c.Path {
		v, ki := lookup(parent, k)
		last := i == len(c.Path)-1
		if v == nil || v.Tag == "!!null" {
			if item == nil {
				return root
			}
			nv := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if last {
				nv = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			}
			if ki >= 0 {
				parent.Content[ki+1] = nv
			} else {
				parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, nv)
			}
			v = nv
		}
		parent = v
	}
	seq := parent
	seq.Style = 0
	switch {
	case item == nil:
		seq.Content = append(seq.Content[:at], seq.Content[at+1:]...)
	case at < 0:
		seq.Content = append(seq.Content, deepCopy(item))
	default:
		seq.Content[at] = deepCopy(item)
	}
	return root
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopy(k)
	}
	return &c
}

// sameValue says whether text parses to the values of want.
func sameValue(text []byte, want *yaml.Node) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return false
	}
	return reflect.DeepEqual(nodeValue(&doc), nodeValue(want))
}

// SetSupervisorsEdit is the setup data with console.supervisors_edit set
// to edits (what supervisors may edit besides hours overrides), the file
// written again from its tree.
func SetSupervisorsEdit(data []byte, edits []string) ([]byte, error) {
	e, err := parseEditable(data)
	if err != nil {
		return nil, err
	}
	root := deepCopy(e.root)
	console, ki := lookup(root, "console")
	if console == nil || console.Kind != yaml.MappingNode {
		console = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if ki >= 0 {
			root.Content[ki+1] = console
		} else {
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "console"}, console)
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Content: []*yaml.Node{}}
	for _, w := range edits {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: w})
	}
	if v, i := lookup(console, "supervisors_edit"); v != nil {
		console.Content[i+1] = seq
	} else {
		console.Content = append(console.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "supervisors_edit"}, seq)
	}
	return renderDoc(root)
}

// renderDoc writes a whole setup again from its tree (comments kept where
// yaml.v3 can, two-space indents): the way an edit is made when the list
// is not in block style.
func renderDoc(root *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("write the setup: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write the setup: %w", err)
	}
	return buf.Bytes(), nil
}

// splice rewrites only the lines of item at (at < 0: adds one after the
// last; item nil: removes it) in a list written in block style; ok is
// false when the list is not written so.
func (e *editable) splice(c Collection, at int, item *yaml.Node) (out []byte, ok bool) {
	seq, err := e.list(c)
	if err != nil {
		return nil, false
	}
	if seq == nil || len(seq.Content) == 0 || seq.Style&yaml.FlowStyle != 0 {
		if _, ki := lookup(e.root, c.Path[0]); item == nil || seq != nil || len(c.Path) != 1 || ki >= 0 {
			return nil, false
		}
		// A top-level list the setup does not have yet: added at the end.
		text := strings.TrimRight(string(e.text), "\n")
		if text != "" {
			text += "\n\n"
		}
		r, err := renderItem(item, 2)
		if err != nil {
			return nil, false
		}
		return []byte(text + c.Path[0] + ":\n" + r), true
	}
	dash := func(n *yaml.Node) int { // the column of an item's "-" (0-based), or -1
		if n.Line < 1 || n.Line > len(e.lines) {
			return -1
		}
		l := e.lines[n.Line-1]
		i := len(l) - len(strings.TrimLeft(l, " "))
		if i >= len(l) || l[i] != '-' || i >= n.Column-1 {
			return -1
		}
		return i
	}
	col := dash(seq.Content[0])
	if col < 0 {
		return nil, false
	}
	// end is the line (0-based) after item i: the next item's, or the next
	// key's after the list, less the blank and comment lines before it.
	end := func(i int) int {
		next := len(e.lines)
		if i+1 < len(seq.Content) {
			next = seq.Content[i+1].Line - 1
		} else if l := e.after(c); l > 0 {
			next = l - 1
		}
		for next > seq.Content[i].Line {
			t := strings.TrimSpace(e.lines[next-1])
			indent := len(e.lines[next-1]) - len(strings.TrimLeft(e.lines[next-1], " "))
			if t == "" || (strings.HasPrefix(t, "#") && indent <= col) {
				next--
				continue
			}
			break
		}
		return next
	}
	var from, to int
	switch {
	case at < 0:
		from = end(len(seq.Content) - 1)
		to = from
	default:
		if dash(seq.Content[at]) != col {
			return nil, false
		}
		from, to = seq.Content[at].Line-1, end(at)
	}
	r := ""
	if item != nil {
		if r, err = renderItem(item, col); err != nil {
			return nil, false
		}
	}
	var b strings.Builder
	for _, l := range e.lines[:from] {
		b.WriteString(l)
	}
	if from > 0 && !strings.HasSuffix(e.lines[from-1], "\n") {
		b.WriteString("\n")
	}
	b.WriteString(r)
	for _, l := range e.lines[to:] {
		b.WriteString(l)
	}
	return []byte(b.String()), true
}

// after is the line (1-based) of the key that follows c's list in its
// mapping, or 0 when the list is the mapping's last.
func (e *editable) after(c Collection) int {
	m := e.root
	for _, k := range c.Path[:len(c.Path)-1] {
		m, _ = lookup(m, k)
	}
	_, ki := lookup(m, c.Path[len(c.Path)-1])
	if ki < 0 {
		return 0
	}
	if ki+2 < len(m.Content) {
		return m.Content[ki+2].Line
	}
	// The last key of a nested mapping: what follows its parents.
	if len(c.Path) > 1 {
		return e.after(Collection{Path: c.Path[:len(c.Path)-1]})
	}
	return 0
}

// renderItem writes item as a list entry whose "-" is at column col.
func renderItem(item *yaml.Node, col int) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(item); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	lines := strings.SplitAfter(strings.TrimRight(buf.String(), "\n")+"\n", "\n")
	pad := strings.Repeat(" ", col)
	var b strings.Builder
	for i, l := range lines {
		if l == "" {
			continue
		}
		switch {
		case i == 0:
			b.WriteString(pad + "- " + l)
		case strings.TrimSpace(l) == "":
			b.WriteString("\n")
		default:
			b.WriteString(pad + "  " + l)
		}
	}
	return b.String(), nil
}

// PathAt names the setting on line of data as a path:
// queues[sales].ring_timeout (items by their name where they have one).
// It is "" when no setting is on that line.
func PathAt(data []byte, line int) string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	var best string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line {
					best = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				name := strconv.Itoa(i)
				if c.Kind == yaml.MappingNode {
					for _, key := range []string{"extension", "number", "username", "name", "id"} {
						if v, _ := lookup(c, key); v != nil && v.Kind == yaml.ScalarNode {
							name = v.Value
							break
						}
					}
				}
				p := path + "[" + name + "]"
				if c.Line == line && c.Kind == yaml.ScalarNode && best == "" {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(doc.Content[0], "")
	return best
}
