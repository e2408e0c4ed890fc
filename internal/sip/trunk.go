package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// TrunkRegistration is an outbound trunk Switchboard keeps registered with
// its carrier, so the carrier knows where to send the trunk's calls.
// Transport is udp, tcp or tls; over tls the carrier's certificate is
// verified (TLSConfig.PinnedCAs, or the system roots).
type TrunkRegistration struct {
	Name, Host, Transport string
	Username, Password    string
	Expires               time.Duration
}

// TrunkStatus is a registration's state.
type TrunkStatus struct {
	Name       string    `json:"name"`
	Host       string    `json:"host"`
	Registered bool      `json:"registered"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	Attempts   int       `json:"attempts"`
}

// trunkRegs holds every registration's status.
type trunkRegs struct {
	mu     sync.Mutex
	status map[string]*TrunkStatus
}

// TrunkStatus lists the trunk registrations, by name.
func (s *Server) TrunkStatus() []TrunkStatus {
	s.trunks.mu.Lock()
	defer s.trunks.mu.Unlock()
	out := make([]TrunkStatus, 0, len(s.trunks.status))
	for _, t := range s.cfg.Trunks {
		if st, ok := s.trunks.status[t.Name]; ok {
			out = append(out, *st)
		}
	}
	return out
}

func (s *Server) setTrunkStatus(name string, f func(st *TrunkStatus)) {
	s.trunks.mu.Lock()
	defer s.trunks.mu.Unlock()
	if s.trunks.status == nil {
		s.trunks.status = map[string]*TrunkStatus{}
	}
	st, ok := s.trunks.status[name]
	if !ok {
		st = &TrunkStatus{Name: name}
		s.trunks.status[name] = st
	}
	f(st)
}

// keepRegistered registers a trunk and refreshes it at half its lifetime;
// failures are retried with a backoff from 5 s to 5 minutes. The
// registration is removed when ctx ends.
func (s *Server) keepRegistered(ctx context.Context, t TrunkRegistration) {
	r := &trunkRegistrar{s: s, t: t, callID: fmt.Sprintf("sb-reg-%016x@%s", rand.Uint64(), s.host)}
	s.setTrunkStatus(t.Name, func(st *TrunkStatus) { st.Host = t.Host })
	backoff := 5 * time.Second
	for {
		expires, err := r.register(ctx, t.Expires)
		s.setTrunkStatus(t.Name, func(st *TrunkStatus) {
			st.Attempts++
			if err != nil {
				st.Registered, st.LastError = false, err.Error()
				return
			}
			st.Registered, st.LastError, st.ExpiresAt = true, "", time.Now().Add(expires)
		})
		wait := backoff
		if err != nil {
			s.log.Warn("sip: trunk registration failed", "trunk", t.Name, "host", t.Host, "err", err, "retry_in", backoff)
			backoff = min(2*backoff, 5*time.Minute)
		} else {
			s.log.Info("sip: trunk registered", "trunk", t.Name, "host", t.Host, "expires", expires)
			backoff = 5 * time.Second
			wait = max(expires/2, time.Second)
		}
		select {
		case <-ctx.Done():
			if err == nil {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, _ = r.register(uctx, 0)
				cancel()
			}
			return
		case <-time.After(wait):
		}
	}
}

type trunkRegistrar struct {
	s      *Server
	t      TrunkRegistration
	callID string
	cseq   uint32
}

// register sends one REGISTER (answering a digest challenge) and returns
// the lifetime the carrier granted; expires 0 unregisters.
func (r *trunkRegistrar) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	host, portStr, err := net.SplitHostPort(r.t.Host)
	if err != nil {
		return 0, fmt.Errorf("trunk host %q: %w", r.t.Host, err)
	}
	port, _ := strconv.Atoi(portStr)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(strings.ToUpper(r.t.Transport))
	aor := gosip.Uri{Scheme: "sip", User: r.t.Username, Host: host, Port: port}
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	cid := gosip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.cseq++
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: r.cseq, MethodName: gosip.REGISTER})
	// Over TLS the Contact says transport=tls at the TLS listener, and the
	// client is the one that reuses the carrier's connection.
	dua := r.s.dialogUAFor(r.t.Transport)
	contact := dua.ContactHDR.Address.Clone()
	contact.User = r.t.Username
	req.AppendHeader(&gosip.ContactHeader{Address: *contact})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(expires.Seconds()))))
	client := dua.Client
	r.s.metrics.request("REGISTER-out")
	res, err := client.Do(ctx, req)
	if err == nil && res == nil { // sipgo: the transaction ended (the transport closing) with no error
		err = errors.New("the transaction ended without a response")
	}
	if err != nil {
		return 0, fmt.Errorf("REGISTER %s: %w", r.t.Host, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		r.cseq++
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.t.Username, Password: r.t.Password})
		if err == nil && res == nil {
			err = errors.New("the transaction ended without a response")
		}
		if err != nil {
			return 0, fmt.Errorf("REGISTER %s with credentials: %w", r.t.Host, err)
		}
	}
	r.s.metrics.response(res.StatusCode)
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("REGISTER %s: %d %s", r.t.Host, res.StatusCode, res.Reason)
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	return granted, nil
}
