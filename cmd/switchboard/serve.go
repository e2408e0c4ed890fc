package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/metrics"
	"github.com/switchboard/switchboard/internal/recording"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/voicemail"
	"github.com/switchboard/switchboard/internal/webhook"
	"github.com/switchboard/switchboard/internal/webrtc"
	"github.com/switchboard/switchboard/web"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	cfg, err := sf.load()
	if err != nil {
		return err
	}
	if cfg.Server.Demo {
		for _, a := range []string{cfg.Server.SIPListen, cfg.Server.HTTPListen} {
			if !config.IsLoopback(a) {
				return fmt.Errorf("refusing to listen on %s: this setup uses the published demo passwords (server.demo: true); "+
					"listen on a loopback address, or run your own setup with --config", a)
			}
		}
	}
	mediaIP, err := netip.ParseAddr(cfg.Server.MediaIP)
	if err != nil {
		return fmt.Errorf("server.media_ip: %w", err)
	}
	sounds, err := loadSounds(cfg)
	if err != nil {
		return err
	}

	st, err := store.Open(cfg.Server.DataDir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if n, err := st.MarkUnfinished(ctx, time.Now()); err != nil {
		return err
	} else if n > 0 {
		log.Warn("closed calls left unfinished by a previous run", "calls", n)
	}

	eng, err := media.NewEngine(media.EngineConfig{IP: mediaIP, PortMin: cfg.Server.RTPPortMin, PortMax: cfg.Server.RTPPortMax, Log: log})
	if err != nil {
		return err
	}
	hooks := webhook.New(cfg.Webhooks, webhook.DefaultSettings, log)
	hub := &api.Hub{}
	mgr, err := call.NewManager(ctx, cfg, sounds, publishingStore{st, hooks, hub}, log)
	if err != nil {
		return err
	}
	var (
		trusted []netip.Prefix
		regs    []sip.TrunkRegistration
	)
	for _, t := range cfg.Trunks {
		for _, src := range t.InboundSources {
			p, _ := config.ParseSource(src) // validated at load
			trusted = append(trusted, p)
		}
		if o := t.Outbound; o != nil && o.Register {
			regs = append(regs, sip.TrunkRegistration{Name: t.Name, Host: o.Host, Transport: o.Transport,
				Username: o.Username, Password: o.Password, Expires: o.Expires})
			// A registered trunk's calls come from its carrier: identified by
			// the registration's host.
			if ap, err := netip.ParseAddrPort(o.Host); err == nil {
				trusted = append(trusted, netip.PrefixFrom(ap.Addr(), ap.Addr().BitLen()))
			} else if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", hostOnly(o.Host)); err == nil {
				for _, ip := range ips {
					trusted = append(trusted, netip.PrefixFrom(ip, ip.BitLen()))
				}
			} else {
				log.Warn("trunk host does not resolve; its inbound calls will need authentication", "trunk", t.Name, "host", o.Host, "err", err)
			}
		}
	}
	passwords := map[string]string{}
	for _, a := range cfg.Agents {
		passwords[a.Extension] = a.Password
	}
	sipSrv, err := sip.New(sip.Config{
		Listen: cfg.Server.SIPListen, Realm: cfg.Server.Realm, Trusted: trusted,
		MinExpires: cfg.Server.RegisterMinExpires, MaxExpires: cfg.Server.RegisterMaxExpires,
		Password: func(u string) (string, bool) { p, ok := passwords[u]; return p, ok },
		// Feature codes act on the caller's identity, and extensions are
		// internal: both need an authenticated agent, even from a trunk's address.
		AuthRequired: func(dialed string) bool {
			_, ext := passwords[dialed]
			_, _, monitor := cfg.FeatureCodes.MonitorCode(dialed)
			return dialed != "" && (dialed == cfg.FeatureCodes.LoginToggle || ext || monitor)
		},
		Trunks: regs,
		Log:    log,
	}, eng, mgr)
	if err != nil {
		return err
	}
	mgr.SetDialer(sipSrv)
	vm := voicemail.New(filepath.Join(cfg.Server.DataDir, "voicemail"), cfg.Voicemail.SMTP, st, log)
	mgr.SetVoicemail(vm)
	recs := recording.New(filepath.Join(cfg.Server.DataDir, "recordings"), log)
	mgr.SetRecordings(recs, st)
	retention := map[string]time.Duration{}
	for _, q := range cfg.Queues {
		retention[q.Name] = q.RecordingRetention
	}

	apiSrv := api.New(cfg, mgr.ACD(), publishingStore{st, hooks, hub}, log)
	apiSrv.SetHub(hub)
	phones, err := webrtc.NewPhones(log)
	if err != nil {
		return err
	}
	mgr.SetSoftphones(phones)
	apiSrv.Phones = phones
	apiSrv.Calendar = mgr.Calendar()
	apiSrv.Voicemails = st
	apiSrv.Calls = mgr
	apiSrv.Trunks = sipSrv.TrunkStatus
	apiSrv.Reports = st
	apiSrv.Webhooks = hooks.Deliveries
	apiSrv.QA = st
	apiSrv.Stats = func() any {
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
		}
	}
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
	apiSrv.Mount("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mountWeb(apiSrv)
	httpLn, err := net.Listen("tcp", cfg.Server.HTTPListen)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", cfg.Server.HTTPListen, err)
	}
	httpSrv := &http.Server{Handler: apiSrv, ReadHeaderTimeout: 10 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { eng.Run(gctx); return nil })
	g.Go(func() error { mgr.Run(gctx); return nil })
	g.Go(func() error { vm.Run(gctx); return nil })
	g.Go(func() error { hooks.Run(gctx); return nil })
	g.Go(func() error { recs.Run(gctx.Done()); return nil })
	g.Go(func() error {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if _, err := recording.Expire(gctx, st, retention, time.Now(), log); err != nil {
				log.Warn("recording retention", "err", err)
			}
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	sipReady := make(chan struct{})
	g.Go(func() error { return sipSrv.Run(gctx, sipReady) })
	g.Go(func() error {
		err := httpSrv.Serve(httpLn)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http: %w", err)
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return httpSrv.Shutdown(sctx)
	})
	select {
	case <-sipReady:
		log.Info("switchboard ready", "sip", cfg.Server.SIPListen, "http", "http://"+cfg.Server.HTTPListen,
			"queues", len(cfg.Queues), "agents", len(cfg.Agents), "numbers", numbers(cfg))
	case <-gctx.Done():
	}
	err = g.Wait()
	st.Flush()
	return err
}

// mountWeb serves the browser pages: the agent desktop at /agent, the
// wallboard at /wallboard, their assets under /static/.
func mountWeb(a *api.Server) {
	a.Mount("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.FS)))
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, web.FS, name)
		}
	}
	a.Mount("GET /agent", page("agent.html"))
	a.Mount("GET /wallboard", page("wallboard.html"))
	a.Mount("GET /reports", page("reports.html"))
	a.Mount("GET /{$}", http.RedirectHandler("/agent", http.StatusFound))
}

// publishingStore stores events, offers each to the webhooks, and wakes
// the live streams.
type publishingStore struct {
	*store.Store
	hooks *webhook.Dispatcher
	hub   *api.Hub
}

func (p publishingStore) AppendEvent(e store.Event) {
	p.Store.AppendEvent(e)
	p.hooks.Publish(e)
	p.hub.Notify()
}

func hostOnly(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func numbers(cfg *config.Config) string {
	var n []string
	for _, x := range cfg.Numbers {
		n = append(n, x.Number+"→"+x.Flow)
	}
	return strings.Join(n, ",")
}
