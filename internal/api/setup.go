package api

import "github.com/switchboard/switchboard/internal/config"

// apiSetup is one setup and the users derived from it, replaced together.
type apiSetup struct {
	cfg   *config.Config
	users map[string]principal
}

// Apply puts a new, validated setup in force for the API: users,
// passwords and roles, queues for the reports, dispositions, QA
// scorecards, CRM links. Sessions and tokens of users still in the setup
// keep working; those of users it removed are refused from now on.
func (s *Server) Apply(cfg *config.Config) {
	users := map[string]principal{}
	for _, u := range cfg.Users {
		p := principal{name: u.Username, password: u.Password, role: u.Role}
		if u.PasswordHash != "" {
			p.password, p.hash = "", []byte(u.PasswordHash)
		}
		users[u.Username] = p
	}
	for _, ag := range cfg.Agents {
		if _, taken := users[ag.Extension]; !taken {
			users[ag.Extension] = principal{name: ag.Extension, password: ag.Password, ha1: ag.PasswordHA1, role: config.RoleAgent}
		}
	}
	s.setup.Store(&apiSetup{cfg: cfg, users: users})
}

// config is the setup in force.
func (s *Server) config() *config.Config { return s.setup.Load().cfg }

// user is the user named name in the setup in force.
func (s *Server) user(name string) (principal, bool) {
	p, ok := s.setup.Load().users[name]
	return p, ok
}
