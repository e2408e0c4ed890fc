// Package cluster keeps a node's place among the nodes sharing one
// PostgreSQL database: its heartbeat, the leader lease and its epoch, and
// the closing of a lost node's calls by the leader. The database is the
// only channel between nodes here; the store does the SQL.
package cluster

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Store is what the member needs of the store.
type Store interface {
	Beat(ctx context.Context, b store.NodeBeat) error
	NodeStopped(ctx context.Context, node string, at time.Time) error
	Nodes(ctx context.Context) ([]store.NodeRow, error)
	CloseLostNode(ctx context.Context, node string, silentFor time.Duration, deliveries func(store.Event) []store.OutboxEntry) (lost bool, closed int64, err error)
	Now(ctx context.Context) (time.Time, error)
	TryLead(ctx context.Context, node string, term time.Duration, at time.Time) (*store.Lease, error)
	CurrentLeader(ctx context.Context) (store.Leader, error)
}

// Config is one member's setup.
type Config struct {
	Node           string
	SIP, HTTP, RTP string
	// Beat is how often the member writes its heartbeat, checks its lease
	// or tries to take it (default 500 ms); Term is the lease's term: a
	// leader frozen that long loses it (default 3 s); LostAfter is how long
	// a node may be silent before the leader closes its calls (default 5 s).
	Beat, Term, LostAfter time.Duration
	// Calls counts the node's calls in progress, for its heartbeat.
	Calls func() int
	// Deliveries are the webhook deliveries of a lost call's ended event.
	Deliveries func(store.Event) []store.OutboxEntry
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// OnLead is told when this node takes the lease (its epoch), OnLose
	// when it loses or gives it up; OnLeader, on a follower, the leader
	// the store names whenever it changes (name, HTTP address, epoch);
	// OnLost, on the leader, each node it found lost and closed. They are
	// called from Run's goroutine and must not block. Any may be nil.
	OnLead   func(epoch int64)
	OnLose   func()
	OnLeader func(name, http string, epoch int64)
	OnLost   func(node string)
}

// Member is the node's membership; its state is owned by Run's goroutine
// and published through the database.
type Member struct {
	cfg     Config
	st      Store
	started time.Time
	// leader and epoch are the leader a follower last told OnLeader of.
	leader string
	epoch  int64
}

// New returns a member of cfg.Node on st.
func New(st Store, cfg Config) *Member {
	if cfg.Beat <= 0 {
		cfg.Beat = 500 * time.Millisecond
	}
	if cfg.Term <= 0 {
		cfg.Term = 3 * time.Second
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Calls == nil {
		cfg.Calls = func() int { return 0 }
	}
	if cfg.OnLead == nil {
		cfg.OnLead = func(int64) {}
	}
	if cfg.OnLose == nil {
		cfg.OnLose = func() {}
	}
	if cfg.OnLeader == nil {
		cfg.OnLeader = func(string, string, int64) {}
	}
	if cfg.OnLost == nil {
		cfg.OnLost = func(string) {}
	}
	return &Member{cfg: cfg, st: st, started: cfg.Now()}
}

// Run beats, leads when it can and, as leader, closes lost nodes' calls,
// until ctx ends; then it gives the lease up and notes the node stopped.
func (m *Member) Run(ctx context.Context) {
	var lease *store.Lease
	defer func() {
		if lease != nil {
			m.cfg.OnLose()
			lease.Release()
		}
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.st.NodeStopped(stop, m.cfg.Node, m.cfg.Now()); err != nil {
			m.cfg.Log.Warn("cluster: stop not noted", "err", err)
		}
	}()
	t := time.NewTicker(m.cfg.Beat)
	defer t.Stop()
	for {
		lease = m.tick(ctx, lease)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick is one beat: the heartbeat, the lease, and the leader's duties.
func (m *Member) tick(ctx context.Context, lease *store.Lease) *store.Lease {
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, m.cfg.Beat)
	defer cancel()
	now := m.cfg.Now()
	err := m.st.Beat(ctx, store.NodeBeat{Name: m.cfg.Node, SIP: m.cfg.SIP, HTTP: m.cfg.HTTP, RTP: m.cfg.RTP,
		StartedAt: m.started, At: now, Calls: m.cfg.Calls()})
	if err != nil {
		m.cfg.Log.Warn("cluster: heartbeat not written", "err", err)
	}
	if lease != nil {
		if err := lease.Check(ctx); err != nil {
			m.cfg.Log.Warn("cluster: leadership lost", "epoch", lease.Epoch, "err", err)
			m.cfg.OnLose()
			lease.Release()
			lease = nil
		}
	}
	if lease == nil {
		l, err := m.st.TryLead(ctx, m.cfg.Node, m.cfg.Term, now)
		if err != nil {
			m.cfg.Log.Warn("cluster: lease not tried", "err", err)
			return nil
		}
		if l == nil {
			m.follow(ctx)
			return nil
		}
		lease = l
		m.cfg.Log.Info("cluster: leading", "node", m.cfg.Node, "epoch", l.Epoch)
		m.leader, m.epoch = m.cfg.Node, l.Epoch
		m.cfg.OnLead(l.Epoch)
	}
	cancel()
	// Closing a lost node's calls may take longer than a beat: it has a
	// deadline of its own.
	lctx, lcancel := context.WithTimeout(parent, 10*time.Second)
	defer lcancel()
	m.closeLost(lctx)
	return lease
}

// follow tells OnLeader of the leader the store names when it changed.
func (m *Member) follow(ctx context.Context) {
	l, err := m.st.CurrentLeader(ctx)
	if err != nil || l.Node == "" || (l.Node == m.leader && l.Epoch == m.epoch) {
		return
	}
	nodes, err := m.st.Nodes(ctx)
	if err != nil {
		return
	}
	for _, n := range nodes {
		if n.Name == l.Node {
			m.leader, m.epoch = l.Node, l.Epoch
			m.cfg.OnLeader(l.Node, n.HTTP, l.Epoch)
			return
		}
	}
}

// closeLost closes the calls of every node silent for LostAfter (by the
// database's clock). A close that fails leaves the node unmarked, so the
// next beat tries again.
func (m *Member) closeLost(ctx context.Context) {
	nodes, err := m.st.Nodes(ctx)
	if err != nil {
		m.cfg.Log.Warn("cluster: nodes not read", "err", err)
		return
	}
	now, err := m.st.Now(ctx)
	if err != nil {
		m.cfg.Log.Warn("cluster: clock not read", "err", err)
		return
	}
	for _, n := range nodes {
		if n.Name == m.cfg.Node || n.StoppedAt != nil || n.LostAt != nil || now.Sub(n.At) <= m.cfg.LostAfter {
			continue
		}
		lost, closed, err := m.st.CloseLostNode(ctx, n.Name, m.cfg.LostAfter, m.cfg.Deliveries)
		if err != nil {
			m.cfg.Log.Error("cluster: lost node's calls not closed; trying again", "node", n.Name, "err", err)
			continue
		}
		if lost {
			m.cfg.Log.Warn("cluster: node lost; its calls closed", "node", n.Name, "last_heartbeat", n.At, "calls", closed)
			m.cfg.OnLost(n.Name)
		}
	}
}

// AliveWithin is how recent a node's heartbeat must be for Status to call
// it alive: a few missed beats.
const AliveWithin = 3 * time.Second

// NodeStatus is one node in Status.
type NodeStatus struct {
	Name        string     `json:"name"`
	Alive       bool       `json:"alive"`
	Calls       int        `json:"calls"`
	SIP         string     `json:"sip,omitempty"`
	HTTP        string     `json:"http,omitempty"`
	RTP         string     `json:"rtp,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	HeartbeatAt time.Time  `json:"heartbeat_at"`
	StoppedAt   *time.Time `json:"stopped_at,omitempty"`
	LostAt      *time.Time `json:"lost_at,omitempty"`
}

// Status is the cluster as the database shows it.
type Status struct {
	Leader      string       `json:"leader"`
	Epoch       int64        `json:"epoch"`
	LeaderSince *time.Time   `json:"leader_since,omitempty"`
	Nodes       []NodeStatus `json:"nodes"`
}

// Read returns the cluster's status: a node is alive when it beat within
// aliveWithin (by the database's clock) and has neither stopped nor been
// lost. The leader is the last one recorded if it is alive, else none (a
// new one is taking the lease).
func Read(ctx context.Context, st Store, aliveWithin time.Duration) (Status, error) {
	rows, err := st.Nodes(ctx)
	if err != nil {
		return Status{}, err
	}
	now, err := st.Now(ctx)
	if err != nil {
		return Status{}, err
	}
	l, err := st.CurrentLeader(ctx)
	if err != nil {
		return Status{}, err
	}
	out := Status{Epoch: l.Epoch, Nodes: []NodeStatus{}}
	for _, r := range rows {
		alive := r.StoppedAt == nil && r.LostAt == nil && now.Sub(r.At) <= aliveWithin
		calls := r.Calls
		if !alive {
			calls = 0
		}
		out.Nodes = append(out.Nodes, NodeStatus{Name: r.Name, Alive: alive, Calls: calls, SIP: r.SIP, HTTP: r.HTTP, RTP: r.RTP,
			StartedAt: r.StartedAt, HeartbeatAt: r.At, StoppedAt: r.StoppedAt, LostAt: r.LostAt})
		if alive && r.Name == l.Node {
			out.Leader = l.Node
			since := l.Since
			out.LeaderSince = &since
		}
	}
	return out, nil
}
