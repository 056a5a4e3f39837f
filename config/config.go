package config

import "time"

// Config is the whole optgate configuration, the content of optgate.yaml.
// Build one with Load, Parse or Default. Every field has a default, applied
// before the file is decoded, so a field missing from the file keeps the
// default named in its comment.
type Config struct {
	// Listeners are the network endpoints optgate serves.
	Listeners Listeners `yaml:"listeners"`
	// Store selects where consent records are kept. Default: embedded.
	Store Store `yaml:"store"`
	// Logging sets the level and format of the daemon's log.
	Logging Logging `yaml:"logging"`
	// Receipts sets how long the records of sent messages are kept for
	// their delivery receipts and status lookups.
	Receipts Receipts `yaml:"receipts"`
	// Accounts are the businesses that send texts through optgate.
	// Default: none.
	Accounts []Account `yaml:"accounts"`
	// Carriers are the SMSCs optgate binds to as an ESME. Default: none.
	Carriers []Carrier `yaml:"carriers"`
	// Keywords extends the built-in opt-out wording for every account.
	Keywords Keywords `yaml:"keywords"`
	// Operator sets the HTTP API's operator token.
	Operator Operator `yaml:"operator"`

	file     string
	lines    map[string]int
	warnings []*FieldError
}

// Warnings returns the problems that do not stop optgate from starting but
// leave something unusable, such as a toll-free number that cannot text yet.
// Load, Parse and Validate fill the list.
func (c *Config) Warnings() []*FieldError {
	return c.warnings
}

// Listeners groups the endpoints optgate serves. All default addresses are on
// 127.0.0.1, so nothing is reachable from other hosts until configured.
type Listeners struct {
	// SMPP is the SMPP 3.4 server where business ESMEs bind.
	SMPP SMPPListener `yaml:"smpp"`
	// HTTP serves the HTTP API, the Prometheus metrics and, if enabled, pprof.
	HTTP HTTPListener `yaml:"http"`
	// SIP accepts SIP MESSAGE requests and calls to the toll-free numbers.
	SIP SIPListener `yaml:"sip"`
	// Simulator is the built-in SMSC simulator for tests and demos.
	Simulator Simulator `yaml:"simulator"`
}

// TLS names a certificate and private key in PEM files. TLS is on when both
// files are set and off when both are empty. Setting only one is an error.
type TLS struct {
	// CertFile is the path of the PEM certificate chain, leaf first.
	// Default: empty.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the path of the PEM private key for CertFile.
	// Default: empty.
	KeyFile string `yaml:"key_file"`
}

// Enabled reports whether both files are set.
func (t TLS) Enabled() bool {
	return t.CertFile != "" && t.KeyFile != ""
}

// SMPPListener is the SMPP 3.4 server where business ESMEs bind.
type SMPPListener struct {
	// Enabled starts the listener. Default: true.
	Enabled bool `yaml:"enabled"`
	// Addr is the TCP host:port to listen on. Port 0 picks a free port.
	// Default: 127.0.0.1:2775.
	Addr string `yaml:"addr"`
	// TLS, when set, makes the listener accept only TLS connections.
	// Default: off.
	TLS TLS `yaml:"tls"`
	// BindTimeout closes a connection that has not bound this long after
	// it connected, whatever it sent (SMPP 3.4 section 7.2 leaves this
	// session_init_timer to the implementation). Default: 10s.
	BindTimeout time.Duration `yaml:"bind_timeout"`
	// MaxUnbound limits the connections open at once that have not bound
	// yet, from all addresses together. Default: 128.
	MaxUnbound int `yaml:"max_unbound"`
	// MaxUnboundPerSource limits the connections not bound yet from one IP
	// address, so that one peer cannot take the whole max_unbound budget.
	// At most max_unbound. Default: 16.
	MaxUnboundPerSource int `yaml:"max_unbound_per_source"`
	// Window is how many submit_sm and data_sm of one session optgate
	// handles at once; one more gets ESME_RTHROTTLED (SMPP 3.4 section
	// 5.1.3). Default: 10.
	Window int `yaml:"window"`
	// FailedBindDelay is how long the next bind from an IP address waits
	// after a bind from it failed authentication. Each further failure
	// doubles the wait, up to max_failed_bind_delay, and a successful bind
	// clears it. Default: 250ms.
	FailedBindDelay time.Duration `yaml:"failed_bind_delay"`
	// MaxFailedBindDelay caps the doubled wait of failed_bind_delay. At
	// least failed_bind_delay. Default: 8s.
	MaxFailedBindDelay time.Duration `yaml:"max_failed_bind_delay"`
	// FailedBindMemory is how long an address's failed binds count after
	// its last one. Default: 10m.
	FailedBindMemory time.Duration `yaml:"failed_bind_memory"`
}

// HTTPListener serves the HTTP API and /metrics.
type HTTPListener struct {
	// Enabled starts the listener. Default: true.
	Enabled bool `yaml:"enabled"`
	// Addr is the TCP host:port to listen on. Port 0 picks a free port.
	// Default: 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// TLS, when set, makes the listener serve HTTPS only. Default: off.
	TLS TLS `yaml:"tls"`
	// Pprof serves Go's net/http/pprof handlers under /debug/pprof/. They
	// expose internals, so keep them on a loopback address. Default: false.
	Pprof bool `yaml:"pprof"`
	// FailedAuthDelay is how long every request from an IP address waits
	// after a request from it failed authentication (a wrong or missing
	// token). Each further failure doubles the wait, up to
	// max_failed_auth_delay; a success clears it, and failures are
	// forgotten 10 minutes after the last one. 0s turns the wait off.
	// Default: 250ms.
	FailedAuthDelay time.Duration `yaml:"failed_auth_delay"`
	// MaxFailedAuthDelay caps the doubled wait of failed_auth_delay. At
	// least failed_auth_delay. Default: 8s.
	MaxFailedAuthDelay time.Duration `yaml:"max_failed_auth_delay"`
}

// SIPListener accepts SIP traffic (RFC 3261) over UDP, TCP and TLS. An empty
// address turns off that transport.
type SIPListener struct {
	// Enabled starts the listener. Default: true.
	Enabled bool `yaml:"enabled"`
	// UDPAddr is the UDP host:port to listen on. Default: 127.0.0.1:5060.
	UDPAddr string `yaml:"udp_addr"`
	// TCPAddr is the TCP host:port to listen on. Default: 127.0.0.1:5060.
	TCPAddr string `yaml:"tcp_addr"`
	// TLSAddr is the TCP host:port for SIP over TLS, used only when TLS is
	// set. Default: 127.0.0.1:5061.
	TLSAddr string `yaml:"tls_addr"`
	// TLS is the certificate for the TLS transport. Default: off.
	TLS TLS `yaml:"tls"`
	// VoicemailMaxAge is the age past which voicemails are deleted,
	// checked at start and then hourly. 0s keeps them regardless of age.
	// Default: 2160h (90 days).
	VoicemailMaxAge time.Duration `yaml:"voicemail_max_age"`
	// VoicemailMaxCount is the maximum number of voicemails kept per
	// account. Storing a new one deletes the oldest beyond it, and 0 sets
	// no limit. Default: 1000.
	VoicemailMaxCount int `yaml:"voicemail_max_count"`
	// MaxCalls is how many calls to toll-free numbers are answered at
	// once; more get 486 Busy Here. Each call holds a greeting player and
	// a recording. Default: 32.
	MaxCalls int `yaml:"max_calls"`
	// MaxRequests is how many MESSAGE and INFO requests are handled at
	// once; more get 503 with Retry-After. Default: 512.
	MaxRequests int `yaml:"max_requests"`
	// DigestFailuresAllowed is how many failed digest authentications an
	// IP address (an IPv6 /64) may make before it is locked out. Each
	// failure after them locks it out again, for twice the last lockout.
	// A locked-out address gets 403 for every request with credentials,
	// unchecked. A success clears its failures, and they are forgotten 15
	// minutes after the last one. Default: 5.
	DigestFailuresAllowed int `yaml:"digest_failures_allowed"`
	// DigestLockout is the first lockout of digest_failures_allowed.
	// Default: 1s.
	DigestLockout time.Duration `yaml:"digest_lockout"`
	// MaxDigestLockout caps the doubled lockout. At least digest_lockout.
	// Default: 5m.
	MaxDigestLockout time.Duration `yaml:"max_digest_lockout"`
}

// Simulator is the built-in SMSC simulator. A carrier bound to its address
// gets submit_sm_resp and delivery receipts without a real SMSC.
type Simulator struct {
	// Enabled starts the simulator. Default: false in a file, true in
	// Default.
	Enabled bool `yaml:"enabled"`
	// Addr is the TCP host:port the simulator listens on.
	// Default: 127.0.0.1:2776.
	Addr string `yaml:"addr"`
	// ControlAddr is the TCP host:port of the simulator's HTTP control
	// endpoint (inject MO, list submitted messages, change behaviour), as
	// used by `optgate smsc-sim inject` and `optgate smsc-sim messages`.
	// Empty turns it off. Default: empty in a file, 127.0.0.1:2777 in
	// Default.
	ControlAddr string `yaml:"control_addr"`
	// SystemID is the system_id the simulator accepts in bind requests, at
	// most 15 characters (SMPP 3.4 section 4.1.1). Default: optgate.
	SystemID string `yaml:"system_id"`
	// Password is the password the simulator accepts in bind requests, at
	// most 8 characters (SMPP 3.4 section 4.1.1). Default: simpass.
	Password string `yaml:"password" secret:"true"`
	// ReceiptDelay is how long the simulator waits after a submit_sm before
	// it sends the delivery receipt. Zero sends it at once. Default: 1s.
	ReceiptDelay time.Duration `yaml:"receipt_delay"`
}

// Store types.
const (
	StoreEmbedded = "embedded" // a bbolt file on local disk
	StoreRedis    = "redis"    // a Redis server, Sentinel group or Cluster
)

// Store selects and configures the consent record store.
type Store struct {
	// Type is StoreEmbedded or StoreRedis. Default: embedded.
	Type string `yaml:"type"`
	// Embedded configures the bbolt file used when Type is embedded.
	Embedded EmbeddedStore `yaml:"embedded"`
	// Redis configures the Redis connection used when Type is redis.
	Redis RedisStore `yaml:"redis"`
}

// EmbeddedStore is the bbolt file that keeps consent records on local disk.
type EmbeddedStore struct {
	// Path is the database file. A relative path is relative to the working
	// directory of the optgate process. Default: ./data/optgate.db.
	Path string `yaml:"path"`
}

// Redis topologies.
const (
	TopologyStandalone = "standalone" // one server at Addr
	TopologySentinel   = "sentinel"   // a master found through Sentinel
	TopologyCluster    = "cluster"    // Redis Cluster
)

// RedisStore is the connection to Redis. Either URL is set, or Topology
// selects which of Addr, Sentinel or Cluster is used, and the other two are
// ignored.
type RedisStore struct {
	// URL is a redis://, rediss:// or unix:// URL for a standalone server,
	// used in place of Addr, Username and DB, which must then be left out.
	// Password, when set, replaces a password in the URL. Default: empty.
	URL string `yaml:"url" secret:"true"`
	// Topology is standalone, sentinel or cluster. Default: standalone.
	Topology string `yaml:"topology"`
	// Addr is the host:port of the standalone server.
	// Default: 127.0.0.1:6379.
	Addr string `yaml:"addr"`
	// Sentinel locates the master when Topology is sentinel.
	Sentinel RedisSentinel `yaml:"sentinel"`
	// Cluster lists the seed nodes when Topology is cluster.
	Cluster RedisCluster `yaml:"cluster"`
	// Username is the ACL user name (Redis 6 and later). Default: empty,
	// which means the default user.
	Username string `yaml:"username"`
	// Password authenticates to Redis. Write it as ${NAME} to read it from
	// the environment. Default: empty.
	Password string `yaml:"password" secret:"true"`
	// DB is the database number. Redis Cluster supports only 0. Default: 0.
	DB int `yaml:"db"`
	// KeyPrefix starts every key optgate writes, so several deployments can
	// share one Redis. Default: "optgate:".
	KeyPrefix string `yaml:"key_prefix"`
	// DialTimeout limits how long a new connection may take. Default: 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ReadTimeout limits how long a command waits for its reply.
	// Default: 3s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout limits how long a command may take to send.
	// Default: 3s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// WaitReplicas is how many replicas must confirm each consent change
	// (the Redis WAIT command) before optgate acknowledges it, so that an
	// acknowledged STOP survives a failover. A change not confirmed within
	// WaitTimeout counts as failed: the MO gets a temporary error and the
	// carrier sends it again. Without a replica online no change can be
	// made. 0 means the default and -1 turns waiting off. Default: 1 with
	// the sentinel topology, off otherwise.
	WaitReplicas int `yaml:"wait_replicas"`
	// WaitTimeout bounds each wait for replicas. It must be shorter than
	// ReadTimeout and than 2s, the consent store's time limit for one
	// change. Default: 1s.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
	// Consumer names this instance in the consumer groups of the gateway's
	// delivery queues, which are Redis streams that several instances
	// share. Each instance that shares the Redis needs its own name, kept
	// across restarts, so that a restarted instance delivers the items it
	// had read before it stopped without waiting for QueueLease. Set it
	// where the host name changes on every start, as in most containers.
	// Default: empty, which means the host name and the port of the
	// business SMPP listener (or of the HTTP listener when SMPP is off),
	// such as "gw1:2775".
	Consumer string `yaml:"consumer"`
	// QueueLease is how long an instance keeps the exclusive right to
	// deliver one account's queue after its last read or delivery.
	// Another instance takes the queue over, with the items the first one
	// read but did not deliver, when the lease runs out, so it bounds how
	// long the items of a crashed instance wait. It must exceed the
	// longest delivery to a business, or an item may be delivered twice.
	// Default: 1m.
	QueueLease time.Duration `yaml:"queue_lease"`
	// QueuePoll is how often an idle instance checks the delivery queues
	// for items that other instances added. Default: 250ms.
	QueuePoll time.Duration `yaml:"queue_poll"`
}

// ReplicaAcks returns how many replicas must confirm each consent change
// under this configuration, with the default applied: 1 for the sentinel
// topology, 0 (no waiting) otherwise and when WaitReplicas is -1.
func (r RedisStore) ReplicaAcks() int {
	switch {
	case r.WaitReplicas > 0:
		return r.WaitReplicas
	case r.WaitReplicas == 0 && r.URL == "" && r.Topology == TopologySentinel:
		return 1
	}
	return 0
}

// RedisSentinel locates a Redis master through Redis Sentinel.
type RedisSentinel struct {
	// MasterName is the name the sentinels monitor the master under.
	// Required for the sentinel topology. Default: empty.
	MasterName string `yaml:"master_name"`
	// Addrs are the host:port addresses of the sentinels. Default: none.
	Addrs []string `yaml:"addrs"`
	// Password authenticates to the sentinels, which may differ from the
	// master's password. Default: empty.
	Password string `yaml:"password" secret:"true"`
}

// RedisCluster lists the seed nodes of a Redis Cluster.
type RedisCluster struct {
	// Addrs are host:port addresses of some cluster nodes. The client
	// discovers the rest. Default: none.
	Addrs []string `yaml:"addrs"`
}

// Log formats.
const (
	LogFormatAuto    = "auto"    // console on a terminal, json otherwise
	LogFormatJSON    = "json"    // one JSON object per line
	LogFormatConsole = "console" // human-readable lines
)

// Logging sets the level and format of the daemon's log.
type Logging struct {
	// Level is debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format is auto, json or console. Auto writes console lines when
	// stderr is a terminal and JSON otherwise. Default: auto.
	Format string `yaml:"format"`
	// MaskNumbers masks subscriber phone numbers in logs, because they are
	// personal data: the "+", the country code and the last four digits
	// stay visible, so "+12015550101" is logged as "+1******0101". Default:
	// true.
	MaskNumbers bool `yaml:"mask_numbers"`
}

// ResolveFormat returns json or console. An auto format becomes console when
// stderrIsTerminal is true and json otherwise.
func (l Logging) ResolveFormat(stderrIsTerminal bool) string {
	if l.Format != LogFormatAuto {
		return l.Format
	}
	if stderrIsTerminal {
		return LogFormatConsole
	}
	return LogFormatJSON
}

// Keywords extends the built-in keyword lists for every account. Matching
// rules (normalization, whole-message comparison) belong to the consent
// package. The lists here only add entries to its defaults.
type Keywords struct {
	// OptOut are extra words that opt a number out when they are the whole
	// message, such as ARRET, ALTO or BAJA. Default: none.
	OptOut []string `yaml:"opt_out"`
	// RevocationPhrases are extra whole-message phrases that a reasonable
	// person would read as a revocation of consent, such as "please stop
	// texting me". Default: none.
	RevocationPhrases []string `yaml:"revocation_phrases"`
}
