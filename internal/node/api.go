package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/cluster"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/metrics"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webhook"
	"github.com/switchboard/switchboard/internal/webrtc"
	"github.com/switchboard/switchboard/web"
)

// LoadSounds reads the setup's sounds directory, or the built-in demo
// sounds (embedded, so they are found from any working directory).
func LoadSounds(cfg *config.Config) (*media.Library, error) {
	if cfg.Server.SoundsDir == "" {
		return media.LoadLibrary(examples.FS, "sounds")
	}
	return media.LoadLibrary(os.DirFS(cfg.Server.SoundsDir), ".")
}

// buildAPI builds the HTTP API with everything it reads, the browser
// softphones, the metrics endpoint and the web pages.
func (n *Node) buildAPI() error {
	mgr, sipSrv, eng, st := n.mgr, n.sip, n.eng, n.st
	n.hooks.SetOutbox(st) // deliveries a killed server had not made go out after its restart; pruned as it runs
	n.api = api.New(n.cfg, mgr.ACD(), n.events(), n.log)
	n.api.SetHub(n.hub)
	phones, err := webrtc.NewPhones(n.log)
	if err != nil {
		return err
	}
	n.phones = phones
	n.softphones = &clusterPhones{local: phones, n: n, remote: map[string]context.CancelFunc{}}
	if n.acd != nil {
		// Other nodes' calls send their audio to the phones' shims: on
		// the node's media address, as its RTP endpoints.
		if ip := n.eng.IP(); ip.IsValid() && !ip.IsUnspecified() {
			phones.SetShimIP(ip)
		}
		ctx, cancel := context.WithTimeout(context.Background(), softphoneTimeout)
		err := n.st.ClearSoftphones(ctx, n.cfg.Node.Name) // an earlier run's desktops are gone
		cancel()
		if err != nil {
			return fmt.Errorf("node: clear this node's softphones: %w", err)
		}
	}
	phones.OnChange(n.softphones.changed)
	mgr.SetSoftphones(n.softphones)
	a := n.api
	a.Phones = softphones{Phones: phones}
	a.Calendar = mgr.Calendar()
	a.Voicemails = st
	a.Calls = mgr
	if n.acd != nil {
		a.Calls = clusterCalls{Manager: mgr, n: n}
		a.SetForwarder(callForwarder{n})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tagKey, err := n.st.SharedSecret(ctx, "config_etag_key", 32)
	cancel()
	if err != nil {
		return fmt.Errorf("node: the setup's ETag key: %w", err)
	}
	a.SetTagKey(tagKey)
	a.ServeSetups(setups{n})
	a.ServePrompts(prompts{n})
	a.ServeCampaigns(campaigns{n})
	if err := n.startWebCalls(); err != nil {
		return err
	}
	a.Trunks = func() []api.TrunkStatus {
		var out []api.TrunkStatus
		for _, t := range sipSrv.TrunkStatus() {
			out = append(out, api.TrunkStatus(t))
		}
		return out
	}
	a.Reports = st
	a.CampaignReports = st
	a.Cluster = func(ctx context.Context) (any, error) { return n.ClusterStatus(ctx) }
	a.Webhooks = n.hooks.Deliveries
	a.QA = st
	if sp := n.speech; sp != nil {
		a.Speech = st
		a.Heard = sp.status
	}
	a.Stats = func() any {
		req, res := sipSrv.Metrics().Snapshot()
		return map[string]any{
			"active_calls":      mgr.Active(),
			"media_endpoints":   eng.Active(),
			"rtp_packets_in":    eng.Stats.PacketsIn.Load(),
			"rtp_packets_out":   eng.Stats.PacketsOut.Load(),
			"rtp_packets_lost":  eng.Stats.Lost.Load(),
			"rtp_wrong_source":  eng.Stats.WrongSource.Load(),
			"rtp_malformed":     eng.Stats.Malformed.Load(),
			"pacer_late_ticks":  eng.Stats.Late.Load(),
			"sip_requests":      req,
			"sip_responses":     res,
			"registered_phones": len(sipSrv.Registrations()),
			"draining":          sipSrv.Draining(),
		}
	}
	if n.acd != nil {
		a.Mount(cluster.PathPrefix, n.acd.Handler()) // the nodes' calls to each other (cluster key)
	}
	a.Mount("GET /metrics", promhttp.HandlerFor(n.registry(), promhttp.HandlerOpts{}))
	mountWeb(a)
	return nil
}

// softphones are the browser phones as the API drives them (connecting
// or closing one changes whether its agent can be reached: clusterPhones.changed).
type softphones struct {
	*webrtc.Phones
}

func (p softphones) Status(user string) api.SoftphoneStatus {
	return api.SoftphoneStatus(p.Phones.Status(user))
}

// registry is the Prometheus registry of this node: the call, SIP, queue,
// agent and RTP figures, and the store's own collectors.
func (n *Node) registry() *prometheus.Registry {
	mgr, sipSrv, eng := n.mgr, n.sip, n.eng
	reg := metrics.NewRegistry(metrics.Sources{
		ActiveCalls:  mgr.Active,
		MediaLegs:    eng.Active,
		CallOutcomes: mgr.Outcomes,
		SIPRequests:  func() map[string]uint64 { r, _ := sipSrv.Metrics().Snapshot(); return r },
		SIPResponses: func() map[int]uint64 { _, r := sipSrv.Metrics().Snapshot(); return r },
		Queues: func() []metrics.QueueState {
			var out []metrics.QueueState
			for _, q := range mgr.ACD().Queues() {
				out = append(out, metrics.QueueState{Name: q.Name, Waiting: q.Waiting, LongestWaitSeconds: q.LongestWaitSeconds})
			}
			return out
		},
		AgentStates: func() map[string]int {
			out := map[string]int{}
			for _, st := range acd.AgentStates { // every state, zero included: no gaps in dashboards
				out[string(st)] = 0
			}
			for _, a := range mgr.ACD().Agents() {
				out[string(a.State)]++
			}
			return out
		},
		RTP: func() (in, out, lost, late, wrong, bad uint64) {
			s := &eng.Stats
			return s.PacketsIn.Load(), s.PacketsOut.Load(), s.Lost.Load(), s.Late.Load(), s.WrongSource.Load(), s.Malformed.Load()
		},
	})
	srtpFailed := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_srtp_packets_failed_total",
		Help: "SRTP packets dropped because they failed authentication (tampered, replayed, wrong key, or plain RTP on an SRTP leg)."},
		func() float64 { return float64(eng.Stats.SRTPFailed.Load()) })
	sendFailed := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_rtp_send_failed_total",
		Help: "RTP packets not sent: the socket's send buffer was full, or the send failed."},
		func() float64 { return float64(eng.Stats.SendFailed.Load()) })
	recvFailed := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_rtp_receive_failed_total",
		Help: "RTP socket reads that failed for another reason than an empty socket."},
		func() float64 { return float64(eng.Stats.RecvFailed.Load()) })
	collectors := append(n.st.Collectors(), n.EdgeCollector(), n.AdmissionCollector(), srtpFailed, sendFailed, recvFailed)
	if n.acd != nil {
		collectors = append(collectors, newClusterCollector(n))
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			n.log.Warn("metrics: collector not registered", "err", err)
		}
	}
	return reg
}

// mountWeb serves the browser pages: the agent desktop at /agent, the
// wallboard at /wallboard, the reports at /reports, the admin console at
// /admin, their assets under
// /static/.
func mountWeb(a *api.Server) {
	a.Mount("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.FS)))
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			if name != "call.html" { // only the "call us" page may be framed by another site
				w.Header().Set("Content-Security-Policy", "frame-ancestors 'self'")
				w.Header().Set("X-Frame-Options", "SAMEORIGIN")
			}
			http.ServeFileFS(w, r, web.FS, name)
		}
	}
	a.Mount("GET /agent", page("agent.html"))
	a.Mount("GET /wallboard", page("wallboard.html"))
	a.Mount("GET /reports", page("reports.html"))
	a.Mount("GET /admin", page("admin.html"))
	a.Mount("GET /call", page("call.html"))
	a.Mount("GET /{$}", http.RedirectHandler("/agent", http.StatusFound))
}

// events is the store as the call manager and the API write to it: every
// event is also offered to the webhooks and wakes the live streams.
func (n *Node) events() publishingStore { return publishingStore{n.st, n.hooks, n.hub, n.log, n} }

type publishingStore struct {
	*store.Store
	hooks *webhook.Dispatcher
	hub   *api.Hub
	log   *slog.Logger
	n     *Node
}

// SaveDisposition saves a disposition; a campaign call's has its rule
// applied to the contact (a retry, the do-not-call list).
func (p publishingStore) SaveDisposition(ctx context.Context, d store.Disposition) error {
	if err := p.Store.SaveDisposition(ctx, d); err != nil {
		return err
	}
	if p.n != nil && p.n.dialer != nil {
		p.n.dialer.disposed(ctx, d.CallID, d.Code)
	}
	return nil
}

// AppendEvent writes the event and its webhook deliveries in one
// transaction (the outbox), then offers the deliveries to the webhooks.
func (p publishingStore) AppendEvent(e store.Event) {
	out := p.hooks.Prepare(e)
	p.Store.AppendEventWithOutbox(e, out)
	p.hooks.Offer(out)
	p.hub.Notify()
	if a, ok := auditOf(e); ok { // rare: monitoring and recording pauses
		writeAudit(p.Store, p.log, a)
	}
}

// retentionEvery is how often recordings past their queue's retention are
// deleted.
const retentionEvery = time.Hour
