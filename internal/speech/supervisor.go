package speech

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Supervisor runs the speech worker (cmd/switchboard-speech) as a child
// process at a lower CPU priority (nice 10: calls' RTP comes first),
// listening on a Unix socket, and starts it again whenever it ends.
type Supervisor struct {
	Path   string   // the worker's binary
	Socket string   // its Unix socket
	Args   []string // more flags for it
	Log    *slog.Logger

	mu       sync.Mutex
	pid      int
	ready    bool // the running worker has taken a connection
	starts   int
	upSince  time.Time
	lastExit string
}

// Engine is the worker's address for streams.
func (s *Supervisor) Engine() Engine { return Engine{URL: "unix:" + s.Socket} }

// Status is what the supervisor knows of its worker.
type Status struct {
	PID      int    `json:"pid"` // 0 while it is down
	Ready    bool   `json:"ready"`
	Starts   int    `json:"starts"`
	LastExit string `json:"last_exit,omitempty"`
	UpSince  string `json:"up_since,omitempty"`
}

// Status reports the worker's state.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{PID: s.pid, Ready: s.ready, Starts: s.starts, LastExit: s.lastExit}
	if s.pid != 0 {
		st.UpSince = s.upSince.UTC().Format(time.RFC3339)
	}
	return st
}

// Run keeps the worker running until done closes: a worker that ends is
// started again after a pause (1 s, doubling to 30 s while it keeps
// failing within a minute of its start).
func (s *Supervisor) Run(done <-chan struct{}) {
	wait := time.Second
	for {
		started := time.Now()
		s.runOnce(done)
		select {
		case <-done:
			return
		default:
		}
		if time.Since(started) > time.Minute {
			wait = time.Second
		}
		select {
		case <-done:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// runOnce starts the worker and waits for it to end (or done: then it is
// stopped).
func (s *Supervisor) runOnce(done <-chan struct{}) {
	args := append([]string{"-n", "10", s.Path, "--listen", "unix:" + s.Socket}, s.Args...)
	cmd := exec.Command("nice", args...)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &limited{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		s.Log.Error("speech worker not started", "path", s.Path, "err", err)
		s.exited(err.Error())
		return
	}
	s.mu.Lock()
	s.pid, s.upSince = cmd.Process.Pid, time.Now()
	s.starts++
	s.mu.Unlock()
	s.Log.Info("speech worker started", "pid", cmd.Process.Pid, "socket", s.Socket)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	readyCtx, cancelReady := context.WithCancel(context.Background())
	defer cancelReady()
	go func() {
		if s.Ready(readyCtx) {
			s.mu.Lock()
			if s.pid == cmd.Process.Pid {
				s.ready = true
			}
			s.mu.Unlock()
		}
	}()
	select {
	case err := <-exited:
		msg := "exited"
		if err != nil {
			msg = err.Error()
		}
		s.Log.Warn("speech worker ended; starting it again", "status", msg, "stderr", tail(stderr.String(), 400))
		s.exited(msg)
	case <-done:
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		s.exited("stopped")
	}
}

func (s *Supervisor) exited(why string) {
	s.mu.Lock()
	s.pid, s.ready, s.lastExit = 0, false, why
	s.mu.Unlock()
}

// Ready waits (until ctx is done) for the worker to take connections.
func (s *Supervisor) Ready(ctx context.Context) bool {
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "unix", s.Socket); err == nil {
			c.Close()
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// limited keeps the last n bytes or so written to it.
type limited struct {
	w *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	l.w.Write(p)
	if over := l.w.Len() - l.n; over > 0 {
		l.w.Next(over)
	}
	return len(p), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
