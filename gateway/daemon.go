package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// DaemonOptions are the daemon settings that do not come from the
// configuration file. The zero value uses the defaults.
type DaemonOptions struct {
	// Load returns the configuration that Reload applies, usually by
	// reading the file again. Default nil: Reload fails.
	Load func() (*config.Config, error)
	// OperatorToken is the bearer token of the HTTP API's operator
	// endpoints, such as POST /v1/reload. Default empty: no operator
	// access.
	OperatorToken string
	// GatewayStorePath is the gateway's bbolt file: the id map, the
	// delivery queues and partial MO texts. Default: gateway.db in the
	// directory of store.embedded.path, which is ./data/gateway.db with
	// the default configuration. It is not used when store.type is redis,
	// which keeps that state in Redis.
	GatewayStorePath string
	// Prometheus is the registry that gets every collector and is served on
	// /metrics. Default: a new registry with the Go and process collectors.
	Prometheus *prometheus.Registry
	// Carrier sets the carrier pool settings the configuration has no key
	// for: throttle retries, back-off, bind wait and timeouts. Its Carrier,
	// Deliver, Metrics, Logger and OnBindChange fields are ignored.
	Carrier CarrierPoolConfig
	// ESME sets the business server's settings the configuration has no
	// key for: windows, timeouts and the delays after failed binds. Its
	// Backend, SystemID, TLS, Metrics, Logger and MaskNumbers fields are
	// ignored.
	ESME ESMEServerConfig
	// Dispatch sets the delivery back-off, batch and timeout. Its Queue,
	// Targets, Metrics and Logger fields are ignored.
	Dispatch DispatcherConfig
	// Now is the clock of the consent rules and the routing core. Default
	// time.Now.
	Now func() time.Time
	// SIP builds the SIP front end when listeners.sip.enabled is set. Start
	// calls it once the stores are open. Default nil: the daemon serves no
	// SIP and warns when listeners.sip.enabled is set.
	SIP func(deps SIPDeps) (SIPFrontEnd, error)
}

// Daemon is a whole optgate: the consent and gateway stores, the routing
// core, the carrier binds, the business SMPP server, the HTTP server and,
// when configured, the built-in SMSC simulator. New builds it without I/O,
// Start starts every part, Stop stops them in phases, and Reload applies
// new account settings without dropping binds.
type Daemon struct {
	opts DaemonOptions
	// root is the logger the parts get their named loggers from; log is
	// the daemon's own.
	root     *zap.Logger
	log      *zap.Logger
	prom     *prometheus.Registry
	metrics  *Metrics
	router   *Router
	carriers *CarrierSet
	esme     *ESMEServer
	sim      *smscsim.Simulator // nil unless listeners.simulator.enabled
	sip      SIPFrontEnd        // nil unless listeners.sip.enabled and DaemonOptions.SIP
	// blocks keeps the newest blocks for GET /v1/blocks/recent, across
	// reloads.
	blocks *BlockLog
	gen    atomic.Pointer[generation]
	// bindChanged wakes the readiness watcher when a carrier bind changes.
	bindChanged chan struct{}
	// failed receives the error of a listener that stopped by itself.
	failed chan error

	mu        sync.Mutex
	state     daemonState
	startedAt time.Time
	stopping  chan struct{} // closed when Stop begins
	reloadMu  sync.Mutex
	runCtx    context.Context // the life of the started daemon
	runCancel context.CancelFunc
	wg        sync.WaitGroup // serve goroutines and the readiness watcher

	consentStore consent.Store
	// store is the gateway store: a *BoltStore, or a *RedisStore when
	// store.type is redis. Its Depths feeds the queue depth gauge.
	store        Store
	smppListener net.Listener
	httpListener net.Listener
	httpServer   *http.Server
	api          *HTTPAPI
	coreStarted  bool
}

// generation is the part of the daemon a reload replaces: the accounts,
// the consent engine over them and the routing core services.
type generation struct {
	cfg      *config.Config
	registry *Registry
	engine   *consent.Engine
	core     *Core
}

type daemonState uint8

const (
	stateNew daemonState = iota
	stateRunning
	stateStopped
)

// New builds a daemon with the default options. See NewDaemon.
func New(cfg *config.Config, logger *zap.Logger) (*Daemon, error) {
	return NewDaemon(cfg, logger, DaemonOptions{})
}

// NewDaemon checks cfg and builds the daemon's parts without any I/O: the
// account registry, the routing table, the carrier pools, the business
// server and the metrics. logger is the root logger; each part logs under
// its own name.
func NewDaemon(cfg *config.Config, logger *zap.Logger, opts DaemonOptions) (*Daemon, error) {
	if cfg == nil {
		return nil, errors.New("daemon: configuration is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("daemon: invalid configuration: %w", err)
	}
	if opts.OperatorToken != "" && cfg.Operator.TokenHash != "" {
		return nil, errOperatorTwice
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{
		opts:        opts,
		root:        logger,
		log:         logger.Named("daemon"),
		prom:        opts.Prometheus,
		bindChanged: make(chan struct{}, 1),
		failed:      make(chan error, 4),
		stopping:    make(chan struct{}),
		blocks:      NewBlockLog(0),
	}
	if d.prom == nil {
		d.prom = prometheus.NewRegistry()
		d.prom.MustRegister(collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}

	registry, err := NewRegistry(cfg.Accounts, RegistryOptions{Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if d.router, err = NewRouter(cfg.Carriers); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if err := d.newMetrics(); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if err := d.newCarriers(cfg); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if err := d.newESMEServer(cfg); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if s := cfg.Listeners.Simulator; s.Enabled {
		d.sim = smscsim.New(smscsim.Config{
			Addr:        s.Addr,
			ControlAddr: s.ControlAddr,
			SystemID:    s.SystemID,
			Password:    s.Password,
			Behaviour:   smscsim.Behaviour{ReceiptDelay: s.ReceiptDelay},
			Logger:      logger.Named("smscsim"),
		})
	}
	// The first generation gets its engine and core in Start, once the
	// stores are open.
	d.gen.Store(&generation{cfg: cfg, registry: registry})
	return d, nil
}

func (d *Daemon) newMetrics() error {
	var err error
	depths := func() map[string]int {
		if d.store == nil {
			return nil
		}
		return d.store.Depths()
	}
	if d.metrics, err = NewMetrics(d.prom, depths); err != nil {
		return err
	}
	return registerReadyGauge(d.prom, d.Ready)
}

func (d *Daemon) newCarriers(cfg *config.Config) error {
	metrics, err := NewCarrierMetrics(d.prom)
	if err != nil {
		return err
	}
	base := d.opts.Carrier
	base.Deliver = d.handleDeliver
	base.Metrics = metrics
	base.Logger = d.root
	base.OnBindChange = func() {
		select {
		case d.bindChanged <- struct{}{}:
		default:
		}
	}
	d.carriers, err = NewCarrierSet(cfg.Carriers, base)
	return err
}

// handleDeliver hands a carrier's deliver_sm or data_sm to the MO service
// of the current generation.
func (d *Daemon) handleDeliver(ctx context.Context, carrier string, pdu smpp.PDU) smpp.CommandStatus {
	g := d.gen.Load()
	if g == nil || g.core == nil {
		return smpp.StatusTempAppError
	}
	return g.core.MO.HandleDeliver(ctx, carrier, pdu)
}

func (d *Daemon) newESMEServer(cfg *config.Config) error {
	metrics, err := NewESMEMetrics(d.prom)
	if err != nil {
		return err
	}
	ec := d.opts.ESME
	ec.Backend = d.esmeBackend
	ec.SystemID = "optgate"
	ec.Metrics = metrics
	ec.Logger = d.root
	ec.MaskNumbers = cfg.Logging.MaskNumbers
	ec.SetListenerDefaults(cfg.Listeners.SMPP)
	// The certificate is loaded in Start, which may read files.
	d.esme, err = NewESMEServer(ec)
	return err
}

// esmeBackend returns the services of the current generation.
func (d *Daemon) esmeBackend() ESMEBackend {
	g := d.gen.Load()
	if g.core == nil {
		return ESMEBackend{Registry: g.registry}
	}
	return ESMEBackend{Registry: g.registry, MT: g.core.MT, Dispatcher: g.core.Dispatcher}
}

// Start opens the stores and starts every part: the built-in simulator,
// the carrier binds, the dispatcher, the business SMPP server and the HTTP
// server. It returns once all of them listen, without waiting for the
// carriers to bind; the daemon logs when it is ready, and /readyz reports
// it. On failure Start stops what it started. ctx bounds the start only.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.state != stateNew {
		d.mu.Unlock()
		return errors.New("daemon: already started")
	}
	d.state = stateRunning
	d.startedAt = time.Now()
	d.runCtx, d.runCancel = context.WithCancel(context.WithoutCancel(ctx))
	d.mu.Unlock()

	if err := d.start(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if stopErr := d.Stop(stopCtx); stopErr != nil {
			d.log.Warn("stop after a failed start did not finish", zap.Error(stopErr))
		}
		return err
	}
	return nil
}

func (d *Daemon) start(ctx context.Context) error {
	g := d.gen.Load()
	cfg := g.cfg
	if err := d.openStores(ctx, cfg); err != nil {
		return err
	}
	if err := d.newSIP(cfg); err != nil {
		return err
	}
	registry, err := d.registryWithUploads(cfg, g.registry)
	if err != nil {
		return err
	}
	first, err := d.buildGeneration(cfg, registry)
	if err != nil {
		return err
	}
	d.gen.Store(first)

	if d.sim != nil {
		if err := d.startSimulator(ctx, cfg); err != nil {
			return err
		}
	}
	if err := d.carriers.Start(ctx); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.reloadMu.Lock()
	err = first.core.Start(d.runCtx, first.registry.IDs())
	d.coreStarted = err == nil
	d.reloadMu.Unlock()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if err := d.startSMPP(cfg.Listeners.SMPP); err != nil {
		return err
	}
	if err := d.startHTTP(cfg); err != nil {
		return err
	}
	if err := d.startSIP(ctx); err != nil {
		return err
	}
	d.wg.Go(d.watchReady)
	d.logListeners(cfg)
	return nil
}

func (d *Daemon) openStores(ctx context.Context, cfg *config.Config) error {
	if cfg.Store.Type == config.StoreRedis {
		// go-redis would write its dial failures to stderr, unmasked and
		// once per attempt.
		RouteRedisLogs(d.root.Named("redis"))
	}
	cs, err := openConsentStore(ctx, cfg.Store, d.root.Named("consent"))
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.consentStore = cs
	gs, where, err := openGatewayStore(ctx, cfg, gatewayStorePath(cfg, d.opts.GatewayStorePath), d.log)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.store = gs
	if _, shared := gs.(SharedQueue); shared && d.opts.Dispatch.Poll <= 0 {
		// Other instances add items to the shared queues without notifying
		// this one, so idle workers look again at this interval.
		d.opts.Dispatch.Poll = cfg.Store.Redis.QueuePoll
	}
	d.log.Info("stores open",
		zap.String("consent_store", cfg.Store.Type),
		zap.String("gateway_store", where))
	return nil
}

// buildGeneration builds the consent engine and routing core of cfg over
// the open stores. It starts nothing.
func (d *Daemon) buildGeneration(cfg *config.Config, registry *Registry) (*generation, error) {
	keywords, warnings := keywordConfig(cfg)
	for _, w := range append(warnings, registry.Warnings()...) {
		d.log.Warn("configuration text not used as written", zap.String("problem", w))
	}
	engine, err := consent.NewEngine(d.consentStore, registry, consent.Options{
		Keywords: keywords,
		Now:      d.opts.Now,
		Logger:   d.root.Named("consent"),
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	targets, err := AccountTargets(registry, d.esme, d.sipTargets())
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	core, err := NewCore(CoreConfig{
		Registry:    registry,
		Router:      d.router,
		Engine:      engine,
		Store:       d.store,
		Links:       d.carriers,
		Targets:     targets,
		Metrics:     d.metrics,
		Logger:      d.root,
		MaskNumbers: cfg.Logging.MaskNumbers,
		Dispatch:    d.opts.Dispatch,
		OnBlock:     d.blocks.Record,

		MessageTTL:     cfg.Receipts.IDMapTTL,
		KeepAfterFinal: cfg.Receipts.KeepAfterFinal,
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return &generation{cfg: cfg, registry: registry, engine: engine, core: core}, nil
}

// startSimulator starts the built-in SMSC simulator and points the
// carriers whose address is the simulator's configured one at the address
// it got, which differs when the configured port is 0.
func (d *Daemon) startSimulator(ctx context.Context, cfg *config.Config) error {
	if err := d.sim.Start(ctx); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	addr := d.sim.Addr().String()
	for _, c := range cfg.Carriers {
		if c.Address == cfg.Listeners.Simulator.Addr {
			if p, ok := d.carriers.Pool(c.Name); ok {
				p.SetAddress(addr)
			}
		}
	}
	return nil
}

func (d *Daemon) startSMPP(l config.SMPPListener) error {
	if !l.Enabled {
		return nil
	}
	if l.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("daemon: listeners.smpp.tls: %w", err)
		}
		d.esme.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return fmt.Errorf("daemon: smpp listener: %w", err)
	}
	d.smppListener = ln
	d.wg.Go(func() { d.served("smpp", d.esme.Serve(ln)) })
	return nil
}

func (d *Daemon) startHTTP(cfg *config.Config) error {
	l := cfg.Listeners.HTTP
	if !l.Enabled {
		return nil
	}
	g := d.gen.Load()
	traffic := NewTrafficRates(d.prom)
	api, err := NewHTTPAPI(HTTPAPIConfig{
		Services: HTTPServices{Registry: g.registry, MT: g.core.MT, Engine: g.engine, Router: d.router,
			Calls: d.sipCalls()},
		SIP:         d.sipHandler(),
		Console:     d.consoleSources(traffic),
		Operator:    d.operatorCheck(cfg),
		Ready:       d.Ready,
		Reload:      d.Reload,
		Prometheus:  d.prom,
		Pprof:       l.Pprof,
		Logger:      d.root.Named("http"),
		MaskNumbers: cfg.Logging.MaskNumbers,
		// Failed API authentications slow the source's next requests.
		FailedAuthDelay:    l.FailedAuthDelay,
		MaxFailedAuthDelay: l.MaxFailedAuthDelay,
	})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.api = api
	d.wg.Go(func() { traffic.Run(d.runCtx) })

	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return fmt.Errorf("daemon: http listener: %w", err)
	}
	d.httpListener = ln
	d.httpServer = NewHTTPServer(l.Addr, api, d.root.Named("http"))
	d.wg.Go(func() {
		if l.TLS.Enabled() {
			d.served("http", d.httpServer.ServeTLS(ln, l.TLS.CertFile, l.TLS.KeyFile))
			return
		}
		d.served("http", d.httpServer.Serve(ln))
	})
	return nil
}

// consoleSources returns what the console's operator endpoints read.
func (d *Daemon) consoleSources(traffic *TrafficRates) ConsoleSources {
	return ConsoleSources{
		Carriers: d.carriers, ESME: d.esme, Traffic: traffic, Blocks: d.blocks, Now: d.opts.Now,
	}
}

// served reports the end of a listener's serve loop. An end before Stop
// is a failure that the daemon cannot recover from by itself.
func (d *Daemon) served(listener string, err error) {
	select {
	case <-d.stopping:
		return
	default:
	}
	if err == nil || errors.Is(err, smpp.ErrServerClosed) || errors.Is(err, http.ErrServerClosed) {
		err = errors.New("stopped")
	}
	err = fmt.Errorf("%s listener: %w", listener, err)
	d.log.Error("listener failed", zap.String("listener", listener), zap.Error(err))
	select {
	case d.failed <- err:
	default:
	}
}

// Failed returns a channel that receives the error of a listener that
// stopped serving while the daemon runs. The caller should then Stop the
// daemon.
func (d *Daemon) Failed() <-chan error { return d.failed }

func (d *Daemon) logListeners(cfg *config.Config) {
	fields := []zap.Field{}
	if a := d.SMPPAddr(); a != nil {
		fields = append(fields, zap.Stringer("smpp_addr", a), zap.Bool("smpp_tls", cfg.Listeners.SMPP.TLS.Enabled()))
	}
	if a := d.HTTPAddr(); a != nil {
		fields = append(fields, zap.Stringer("http_addr", a), zap.Bool("http_tls", cfg.Listeners.HTTP.TLS.Enabled()))
	}
	if a := d.SimulatorAddr(); a != nil {
		fields = append(fields, zap.Stringer("simulator_addr", a))
	}
	fields = append(fields, d.sipListenFields()...)
	fields = append(fields, zap.Int("accounts", len(cfg.Accounts)), zap.Int("carriers", len(cfg.Carriers)))
	d.log.Info("listening", fields...)
	if cfg.Listeners.SIP.Enabled && d.sip == nil {
		d.log.Warn("listeners.sip is enabled but the daemon was built without a SIP front end")
	}
}

// watchReady logs the time from Start to the first moment every carrier
// has a bound session.
func (d *Daemon) watchReady() {
	for {
		if d.carriersReady() {
			d.log.Info("ready", zap.Duration("startup", time.Since(d.startedAt)))
			return
		}
		select {
		case <-d.bindChanged:
		case <-d.stopping:
			return
		}
	}
}

func (d *Daemon) carriersReady() bool {
	for _, p := range d.carriers.Pools() {
		if p.BoundSessions() == 0 {
			return false
		}
	}
	return true
}

// Ready returns the state of each part traffic needs, for /readyz: one
// entry per carrier ("carrier:NAME"), which needs at least one bound
// session, "consent_store", whose read must succeed, and with
// store.redis.wait_replicas in effect "redis_replicas", which needs that
// many replicas online so that changes can be confirmed. The optgate_ready
// gauge calls it at every scrape.
func (d *Daemon) Ready(ctx context.Context) map[string]error {
	out := map[string]error{}
	for _, p := range d.carriers.Pools() {
		var err error
		if p.BoundSessions() == 0 {
			err = errors.New("no session bound")
		}
		out["carrier:"+p.Name()] = err
	}
	out["consent_store"] = d.probeConsentStore(ctx)
	if rs, ok := d.consentStore.(replicaChecker); ok && d.gen.Load().cfg.Store.Redis.ReplicaAcks() > 0 {
		out["redis_replicas"] = rs.CheckReplicas(ctx)
	}
	return out
}

// probeConsentStore reads one record, the first account's own toll-free
// number, which is a valid key that needs no record to exist.
func (d *Daemon) probeConsentStore(ctx context.Context) error {
	if d.consentStore == nil {
		return errors.New("not open")
	}
	g := d.gen.Load()
	for _, id := range g.registry.IDs() {
		a, ok := g.registry.Account(id)
		if !ok || len(a.TollFree) == 0 {
			continue
		}
		if _, err := d.consentStore.Get(ctx, id, a.TollFree[0].Number); err != nil {
			return fmt.Errorf("read failed: %w", err)
		}
		return nil
	}
	return nil
}

// SMPPAddr returns the business SMPP listener's address, or nil when it
// does not listen.
func (d *Daemon) SMPPAddr() net.Addr {
	if d.smppListener == nil {
		return nil
	}
	return d.smppListener.Addr()
}

// HTTPAddr returns the HTTP listener's address, or nil when it does not
// listen.
func (d *Daemon) HTTPAddr() net.Addr {
	if d.httpListener == nil {
		return nil
	}
	return d.httpListener.Addr()
}

// SimulatorAddr returns the built-in simulator's SMPP address, or nil
// when it does not run.
func (d *Daemon) SimulatorAddr() net.Addr {
	if d.sim == nil {
		return nil
	}
	return d.sim.Addr()
}

// Simulator returns the built-in SMSC simulator, or nil when
// listeners.simulator.enabled is false.
func (d *Daemon) Simulator() *smscsim.Simulator { return d.sim }

// Prometheus returns the registry the daemon's collectors are on.
func (d *Daemon) Prometheus() *prometheus.Registry { return d.prom }

// Carriers returns the carrier pools.
func (d *Daemon) Carriers() *CarrierSet { return d.carriers }
