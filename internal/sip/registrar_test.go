package sip

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// memBindings is a BindingStore in memory that, like the store, ignores
// writes older than what it holds.
type memBindings struct {
	mu   sync.Mutex
	rows map[string]StoredBinding // Contact "" is a deletion
}

func (m *memBindings) SaveBinding(_ context.Context, b StoredBinding) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.rows[b.User]; !ok || b.Version > old.Version {
		m.rows[b.User] = b
	}
	return nil
}

func (m *memBindings) DeleteBinding(_ context.Context, user string, version int64) error {
	return m.SaveBinding(context.Background(), StoredBinding{User: user, Version: version})
}

func (m *memBindings) LookupBinding(_ context.Context, user string, now time.Time) (StoredBinding, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.rows[user]
	if !ok || b.Contact == "" || !b.Expires.After(now) {
		return StoredBinding{}, false, nil
	}
	return b, true, nil
}

func (m *memBindings) LoadBindings(_ context.Context, now time.Time) ([]StoredBinding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []StoredBinding
	for _, b := range m.rows {
		if b.Contact != "" && b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out, nil
}

// registrations records what the handler was told.
type registrations struct {
	Handler
	mu   sync.Mutex
	told map[string]bool
}

func (h *registrations) Registration(user string, registered bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.told[user] = registered
}

func newRegistrarServer(clock *time.Time) (*Server, *registrations) {
	h := &registrations{told: map[string]bool{}}
	s := &Server{reg: newRegistrar(time.Minute, time.Hour), log: slog.Default(), handler: h}
	s.reg.now = func() time.Time { return *clock }
	return s, h
}

// Bindings written by one server are restored by the next on the same
// store until they expire: the handler is told each phone registered (the
// agent is reachable), and lookups find them; removals and expiries are
// written too.
func TestRegistrationsSurviveARestart(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	contact := func(user string) gosip.Uri {
		return gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5070}
	}
	bind := func(user string, expires time.Duration) *Binding {
		return &Binding{User: user, Contact: contact(user), Source: "127.0.0.1:5070", Transport: "udp", Expires: now.Add(expires)}
	}
	tests := []struct {
		name string
		run  func(s *Server, clock *time.Time) // the first server's life, until it dies
		want []string                          // registered at the second server
	}{
		{"registered", func(s *Server, clock *time.Time) {
			_, ch := s.reg.set("1001", bind("1001", 3*time.Hour))
			s.persist(ch)
		}, []string{"1001"}},
		{"refreshed past the first expiry", func(s *Server, clock *time.Time) {
			_, ch := s.reg.set("1001", bind("1001", time.Minute))
			s.persist(ch)
			_, ch = s.reg.set("1001", bind("1001", 3*time.Hour))
			s.persist(ch)
		}, []string{"1001"}},
		{"unregistered", func(s *Server, clock *time.Time) {
			_, ch := s.reg.set("1001", bind("1001", time.Hour))
			s.persist(ch)
			s.unregister("1001")
		}, nil},
		{"expired while up", func(s *Server, clock *time.Time) {
			_, ch := s.reg.set("1001", bind("1001", time.Second))
			s.persist(ch)
			*clock = now.Add(2 * time.Second)
			s.reg.expire()
		}, nil},
		{"expired while down", func(s *Server, clock *time.Time) {
			_, ch := s.reg.set("1001", bind("1001", 90*time.Minute))
			s.persist(ch)
			_, ch = s.reg.set("1002", bind("1002", 3*time.Hour))
			s.persist(ch)
		}, []string{"1002"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keep := &memBindings{rows: map[string]StoredBinding{}}
			clock := now
			first, _ := newRegistrarServer(&clock)
			if n, err := first.RestoreRegistrations(context.Background(), keep); n != 0 || err != nil {
				t.Fatalf("first start restored %d, %v", n, err)
			}
			tc.run(first, &clock)

			clock = now.Add(2 * time.Hour) // the restart
			second, h := newRegistrarServer(&clock)
			n, err := second.RestoreRegistrations(context.Background(), keep)
			if err != nil || n != len(tc.want) {
				t.Fatalf("restored %d, %v; want %v", n, err, tc.want)
			}
			for _, u := range tc.want {
				b, want := second.Registered(u)
				c := contact(u)
				if !want || b.Contact.String() != c.String() || b.Source != "127.0.0.1:5070" || b.Transport != "udp" || !h.told[u] {
					t.Fatalf("%s: binding %+v (%v), handler told %v", u, b, want, h.told[u])
				}
			}
			if len(h.told) != len(tc.want) {
				t.Fatalf("handler told %v, want %v", h.told, tc.want)
			}
			// The second server's own changes are written after what it loaded.
			for _, u := range tc.want {
				second.unregister(u)
			}
			if left, _ := keep.LoadBindings(context.Background(), clock); len(left) != 0 {
				t.Fatalf("after unregistering at the second server: %+v", left)
			}
		})
	}
}
