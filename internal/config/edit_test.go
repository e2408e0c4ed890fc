package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const editBase = `# the setup
server:
  realm: test

queues:
  # sales first
  - name: sales
    ring_timeout: 20s
    script: |
      # Greeting
      Say hello.

  - name: support
    wrap_up: 5s

# the agents
agents:
  - extension: "1001"
    name: Alice
    password: secret1
    queues: [sales]
voicemail:
  mailboxes:
    - name: main
webhooks:
  - url: http://127.0.0.1:9/a
`

func TestEdit(t *testing.T) {
	queues, _ := CollectionByName("queues")
	agents, _ := CollectionByName("agents")
	boxes, _ := CollectionByName("mailboxes")
	hooks, _ := CollectionByName("webhooks")
	numbers, _ := CollectionByName("numbers")
	tests := []struct {
		name   string
		edit   func() ([]byte, error)
		want   string // the text wanted, exactly
		errIs  error
		errHas string
	}{
		{name: "replace an item, only its lines change",
			edit: func() ([]byte, error) { return put(queues, "sales", `{"name":"sales","ring_timeout":"30s"}`, false) },
			want: strings.Replace(editBase, "  - name: sales\n    ring_timeout: 20s\n    script: |\n      # Greeting\n      Say hello.\n", "  - name: sales\n    ring_timeout: 30s\n", 1)},
		{name: "replace the last item of a list",
			edit: func() ([]byte, error) { return put(queues, "support", `{"wrap_up":"9s","music":"hold-music"}`, false) },
			want: strings.Replace(editBase, "  - name: support\n    wrap_up: 5s\n", "  - name: support\n    wrap_up: 9s\n    music: hold-music\n", 1)},
		{name: "add an item after the last",
			edit: func() ([]byte, error) { return put(queues, "billing", `{"name":"billing"}`, true) },
			want: strings.Replace(editBase, "    wrap_up: 5s\n", "    wrap_up: 5s\n  - name: billing\n", 1)},
		{name: "a secret left out is kept",
			edit: func() ([]byte, error) {
				return put(agents, "1001", `{"name":"Alice B","queues":["sales","support"]}`, false)
			},
			want: strings.Replace(editBase, "  - extension: \"1001\"\n    name: Alice\n    password: secret1\n    queues: [sales]\n", "  - extension: \"1001\"\n    name: Alice B\n    queues:\n      - sales\n      - support\n    password: secret1\n", 1)},
		{name: "remove an item",
			edit: func() ([]byte, error) { return Delete([]byte(editBase), queues, "support") },
			want: strings.Replace(editBase, "  - name: support\n    wrap_up: 5s\n", "", 1)},
		{name: "a nested list",
			edit: func() ([]byte, error) { return put(boxes, "main", `{"email":"a@example.com"}`, false) },
			want: strings.Replace(editBase, "    - name: main\n", "    - name: main\n      email: a@example.com\n", 1)},
		{name: "a list the setup lacks",
			edit: func() ([]byte, error) { return put(numbers, "100", `{"flow":"main"}`, false) },
			want: editBase + "\nnumbers:\n  - number: \"100\"\n    flow: main\n"},
		{name: "items by position are added",
			edit: func() ([]byte, error) { return put(hooks, "", `{"url":"http://127.0.0.1:9/b"}`, true) },
			want: editBase + "  - url: http://127.0.0.1:9/b\n"},
		{name: "a create of an existing name", errIs: ErrExists,
			edit: func() ([]byte, error) { return put(queues, "sales", `{}`, true) }},
		{name: "a put at a position that is not there", errIs: ErrNotFound,
			edit: func() ([]byte, error) { return put(hooks, "7", `{"url":"x"}`, false) }},
		{name: "a rename through put", errHas: "is not \"sales\"",
			edit: func() ([]byte, error) { return put(queues, "sales", `{"name":"other"}`, false) }},
		{name: "a remove of what is not there", errIs: ErrNotFound,
			edit: func() ([]byte, error) { return Delete([]byte(editBase), queues, "nope") }},
		{name: "a body that is not an object", errHas: "JSON object",
			edit: func() ([]byte, error) { return put(queues, "sales", `[1]`, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.edit()
			switch {
			case tc.errIs != nil || tc.errHas != "":
				if err == nil || (tc.errIs != nil && !errors.Is(err, tc.errIs)) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %v %q", err, tc.errIs, tc.errHas)
				}
			case err != nil:
				t.Fatal(err)
			case string(got) != tc.want:
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func put(c Collection, id, body string, create bool) ([]byte, error) {
	n, err := ItemNode([]byte(body))
	if err != nil {
		return nil, err
	}
	return Put([]byte(editBase), c, id, n, create)
}

func TestItemsHideSecrets(t *testing.T) {
	agents, _ := CollectionByName("agents")
	items, err := Items([]byte(editBase), agents)
	if err != nil || len(items) != 1 || items[0].ID != "1001" || items[0].Value["name"] != "Alice" || items[0].Tag([]byte("k")) == "" {
		t.Fatalf("items %+v %v", items, err)
	}
	if _, ok := items[0].Value["password"]; ok {
		t.Fatal("the password is shown")
	}
	changed, _ := put(agents, "1001", `{"name":"Alice","queues":["sales"],"password":"other"}`, false)
	again, _ := Items(changed, agents)
	if again[0].Tag([]byte("k")) == items[0].Tag([]byte("k")) {
		t.Fatal("the tag did not change with the password")
	}
}

// A trunk's outbound password is hidden and kept like a top-level one; a
// put giving another kind of credential replaces the old one; a list with
// anchors is not edited item by item.
func TestEditSecretsAndAnchors(t *testing.T) {
	base := "trunks:\n  - name: carrier\n    outbound:\n      host: 127.0.0.1:5080\n      username: sb\n      password: s3cret\nusers:\n  - username: ann\n    password: one\n    role: admin\n"
	trunks, _ := CollectionByName("trunks")
	users, _ := CollectionByName("users")
	items, err := Items([]byte(base), trunks)
	if err != nil || strings.Contains(fmt.Sprint(items[0].Value), "s3cret") {
		t.Fatalf("the trunk's password is shown: %v %v", items, err)
	}
	n, _ := ItemNode([]byte(`{"outbound": {"host": "127.0.0.1:5081", "username": "sb"}}`))
	out, err := Put([]byte(base), trunks, "carrier", n, false)
	if err != nil || !strings.Contains(string(out), "password: s3cret") || !strings.Contains(string(out), "5081") {
		t.Fatalf("the trunk's password was not kept:\n%s %v", out, err)
	}
	n, _ = ItemNode([]byte(`{"password_hash": "$2a$10$abc", "role": "admin"}`))
	out, err = Put([]byte(base), users, "ann", n, false)
	if err != nil || strings.Contains(string(out), "password: one") {
		t.Fatalf("another credential kept the old password:\n%s %v", out, err)
	}
	anchored := "queues:\n  - &q {name: a}\n  - *q\n"
	queues, _ := CollectionByName("queues")
	n, _ = ItemNode([]byte(`{"name": "b"}`))
	if _, err := Put([]byte(anchored), queues, "b", n, true); !errors.Is(err, ErrAnchors) {
		t.Fatalf("an edit of a list with anchors: %v", err)
	}
}

func TestPathAt(t *testing.T) {
	for line, want := range map[int]string{3: "server.realm", 8: "queues[sales].ring_timeout", 18: "agents[1001].extension", 21: "agents[1001].queues", 4: ""} {
		if got := PathAt([]byte(editBase), line); got != want {
			t.Errorf("line %d: %q, want %q", line, got, want)
		}
	}
}
