package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// validator collects the problems of one configuration. Paths are field
// paths; Config.locate adds the file and line afterwards.
type validator struct {
	c        *Config
	errs     []*FieldError
	warnings []*FieldError
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(path, format string, args ...any) {
	v.warnings = append(v.warnings, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// validate checks every rule that a decoded configuration must meet and
// returns the warnings and errors, both without file positions.
func validate(c *Config) (warnings, errs []*FieldError) {
	v := &validator{c: c}
	v.listeners(&c.Listeners)
	v.store(&c.Store)
	v.logging(&c.Logging)
	v.receipts(&c.Receipts)
	v.wordList("keywords.opt_out", c.Keywords.OptOut)
	v.wordList("keywords.revocation_phrases", c.Keywords.RevocationPhrases)
	v.accounts(c.Accounts)
	v.carriers(c.Carriers)
	v.operator(&c.Operator)
	return v.warnings, v.errs
}

func (v *validator) listeners(l *Listeners) {
	// tcp maps each TCP listen address to the first field that uses it.
	tcp := map[string]string{}
	useTCP := func(path, addr string) {
		if addr == "" || strings.HasSuffix(addr, ":0") {
			return
		}
		if first, ok := tcp[addr]; ok {
			v.errorf(path, "address %s is already used by %s", addr, first)
			return
		}
		tcp[addr] = path
	}

	if l.SMPP.Enabled {
		if v.listenAddr("listeners.smpp.addr", l.SMPP.Addr) {
			useTCP("listeners.smpp.addr", l.SMPP.Addr)
		}
		v.tls("listeners.smpp.tls", l.SMPP.TLS)
		v.smppLimits(&l.SMPP)
		if !l.SMPP.TLS.Enabled() && !isLoopback(l.SMPP.Addr) {
			v.warnf("listeners.smpp.addr", "ESME passwords cross the network in clear text "+
				"on a non-loopback address; set listeners.smpp.tls")
		}
	}

	if l.HTTP.Enabled {
		if v.listenAddr("listeners.http.addr", l.HTTP.Addr) {
			useTCP("listeners.http.addr", l.HTTP.Addr)
		}
		v.tls("listeners.http.tls", l.HTTP.TLS)
		if !l.HTTP.TLS.Enabled() && !isLoopback(l.HTTP.Addr) {
			v.warnf("listeners.http.addr", "API tokens cross the network in clear text "+
				"on a non-loopback address; set listeners.http.tls")
		}
		if l.HTTP.Pprof && !isLoopback(l.HTTP.Addr) {
			v.warnf("listeners.http.pprof", "pprof exposes process internals on a non-loopback address")
		}
	}

	if l.SIP.Enabled {
		v.sipListener(&l.SIP, useTCP)
	}
	v.authDelays(l)

	if s := &l.Simulator; s.Enabled {
		if v.listenAddr("listeners.simulator.addr", s.Addr) {
			useTCP("listeners.simulator.addr", s.Addr)
		}
		if s.ControlAddr != "" && v.listenAddr("listeners.simulator.control_addr", s.ControlAddr) {
			useTCP("listeners.simulator.control_addr", s.ControlAddr)
		}
		v.smppString("listeners.simulator.system_id", s.SystemID, 15, true)
		v.smppString("listeners.simulator.password", s.Password, 8, false)
		if s.ReceiptDelay < 0 {
			v.errorf("listeners.simulator.receipt_delay", "must not be negative")
		}
	}
}

func (v *validator) sipListener(s *SIPListener, useTCP func(path, addr string)) {
	if s.UDPAddr == "" && s.TCPAddr == "" && !s.TLS.Enabled() {
		v.errorf("listeners.sip", "udp_addr, tcp_addr and tls are all empty; "+
			"set one of them or set enabled: false")
	}
	if s.UDPAddr != "" {
		v.listenAddr("listeners.sip.udp_addr", s.UDPAddr)
	}
	if s.TCPAddr != "" && v.listenAddr("listeners.sip.tcp_addr", s.TCPAddr) {
		useTCP("listeners.sip.tcp_addr", s.TCPAddr)
	}
	v.tls("listeners.sip.tls", s.TLS)
	if s.TLS.Enabled() {
		if s.TLSAddr == "" {
			v.errorf("listeners.sip.tls_addr", "is required when listeners.sip.tls is set")
		} else if v.listenAddr("listeners.sip.tls_addr", s.TLSAddr) {
			useTCP("listeners.sip.tls_addr", s.TLSAddr)
		}
	}
	if s.VoicemailMaxAge < 0 {
		v.errorf("listeners.sip.voicemail_max_age", "must not be negative; use 0s to keep voicemails regardless of age")
	}
	if s.VoicemailMaxCount < 0 {
		v.errorf("listeners.sip.voicemail_max_count", "must not be negative; use 0 for no limit")
	}
	if s.MaxCalls < 1 {
		v.errorf("listeners.sip.max_calls", "must be at least 1")
	}
	if s.MaxRequests < 1 {
		v.errorf("listeners.sip.max_requests", "must be at least 1")
	}
}

func (v *validator) store(s *Store) {
	switch s.Type {
	case StoreEmbedded:
		if strings.TrimSpace(s.Embedded.Path) == "" {
			v.errorf("store.embedded.path", "is required for the embedded store")
		}
		// A changed redis section with the default type usually means a
		// forgotten "type: redis".
		if !reflect.DeepEqual(s.Redis, newDefaults().Store.Redis) {
			v.warnf("store.redis", "is ignored because store.type is embedded")
		}
	case StoreRedis:
		v.redis(&s.Redis)
		if s.Embedded != newDefaults().Store.Embedded {
			v.warnf("store.embedded", "is ignored because store.type is redis")
		}
	default:
		v.errorf("store.type", "%q is not a store type; use embedded or redis", s.Type)
	}
}

func (v *validator) redis(r *RedisStore) {
	const p = "store.redis"
	if r.URL != "" {
		v.redisURL(r)
	} else {
		switch r.Topology {
		case TopologyStandalone:
			v.dialAddr(p+".addr", r.Addr)
		case TopologySentinel:
			if r.Sentinel.MasterName == "" {
				v.errorf(p+".sentinel.master_name", "is required for the sentinel topology")
			}
			v.dialAddrList(p+".sentinel.addrs", r.Sentinel.Addrs, "the sentinel topology")
		case TopologyCluster:
			v.dialAddrList(p+".cluster.addrs", r.Cluster.Addrs, "the cluster topology")
			if r.DB != 0 {
				v.errorf(p+".db", "must be 0 for the cluster topology; Redis Cluster has only database 0")
			}
		default:
			v.errorf(p+".topology", "%q is not a Redis topology; use standalone, sentinel or cluster",
				r.Topology)
		}
	}
	if r.DB < 0 {
		v.errorf(p+".db", "must not be negative")
	}
	v.positive(p+".dial_timeout", r.DialTimeout)
	v.positive(p+".read_timeout", r.ReadTimeout)
	v.positive(p+".write_timeout", r.WriteTimeout)
	if r.WaitReplicas < -1 {
		v.errorf(p+".wait_replicas", "must be -1 (off), 0 (default) or a number of replicas")
	}
	v.positive(p+".wait_timeout", r.WaitTimeout)
	if r.ReplicaAcks() > 0 && r.WaitTimeout >= r.ReadTimeout {
		v.errorf(p+".wait_timeout", "must be shorter than store.redis.read_timeout (%v)", r.ReadTimeout)
	}
	if r.ReplicaAcks() > 0 && r.WaitTimeout >= maxRedisWaitTimeout {
		v.errorf(p+".wait_timeout", "must be shorter than %v, the consent store's time limit for one change",
			maxRedisWaitTimeout)
	}
	v.positive(p+".queue_lease", r.QueueLease)
	v.positive(p+".queue_poll", r.QueuePoll)
	if strings.ContainsFunc(r.Consumer, unicode.IsSpace) {
		v.errorf(p+".consumer", "contains white space; use a name such as gw1")
	}
}

// maxRedisWaitTimeout is the consent Redis store's default time limit for
// one call (consent.DefaultRedisTimeout), which includes the wait for
// replicas.
const maxRedisWaitTimeout = 2 * time.Second

// redisURL checks the URL without ever quoting it, because it may contain
// a password.
func (v *validator) redisURL(r *RedisStore) {
	const p = "store.redis.url"
	u, err := url.Parse(r.URL)
	switch {
	case err != nil:
		v.errorf(p, "is not a valid URL")
		return
	case u.Scheme == "unix":
		if u.Path == "" {
			v.errorf(p, "unix URL has no socket path; write unix:///path/to/redis.sock")
		}
	case u.Scheme == "redis" || u.Scheme == "rediss":
		if u.Hostname() == "" {
			v.errorf(p, "has no host; write redis://host:port/db")
		}
		if db := strings.Trim(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				v.errorf(p, "path must be a database number, such as /0")
			}
		}
	default:
		v.errorf(p, "scheme must be redis, rediss or unix")
		return
	}
	for _, field := range []string{"addr", "username", "db", "sentinel", "cluster"} {
		if v.c.inFile("store.redis." + field) {
			v.errorf("store.redis."+field, "cannot be combined with store.redis.url; "+
				"put it in the URL or remove the URL")
		}
	}
	if v.c.inFile("store.redis.topology") && r.Topology != TopologyStandalone {
		v.errorf("store.redis.topology", "must be standalone when store.redis.url is set")
	}
}

func (v *validator) logging(l *Logging) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		v.errorf("logging.level", "%q is not a log level; use debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case LogFormatAuto, LogFormatJSON, LogFormatConsole:
	default:
		v.errorf("logging.format", "%q is not a log format; use auto, json or console", l.Format)
	}
}

// wordList checks a list of keywords or phrases: no blank entries, and a
// warning for entries repeated regardless of case.
func (v *validator) wordList(path string, words []string) {
	seen := map[string]int{}
	for i, w := range words {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		key := strings.ToLower(strings.TrimSpace(w))
		if key == "" {
			v.errorf(itemPath, "must not be empty")
			continue
		}
		if first, ok := seen[key]; ok {
			v.warnf(itemPath, "%q repeats %s[%d]", w, path, first)
			continue
		}
		seen[key] = i
	}
}

// listenAddr checks a host:port to listen on. The host may be empty (all
// interfaces) and the port may be 0 (any free port). It reports whether the
// address is valid.
func (v *validator) listenAddr(path, addr string) bool {
	if addr == "" {
		v.errorf(path, "is required")
		return false
	}
	if _, _, err := splitHostPort(addr); err != nil {
		v.errorf(path, "%q is not a host:port address: %v", addr, err)
		return false
	}
	return true
}

// dialAddr checks a host:port to connect to: both parts required, port
// 1 to 65535.
func (v *validator) dialAddr(path, addr string) bool {
	if addr == "" {
		v.errorf(path, "is required")
		return false
	}
	host, port, err := splitHostPort(addr)
	switch {
	case err != nil:
		v.errorf(path, "%q is not a host:port address: %v", addr, err)
	case host == "":
		v.errorf(path, "%q has no host", addr)
	case port == 0:
		v.errorf(path, "%q has port 0; give the port to connect to", addr)
	default:
		return true
	}
	return false
}

func (v *validator) dialAddrList(path string, addrs []string, topology string) {
	if len(addrs) == 0 {
		v.errorf(path, "at least one host:port is required for %s", topology)
	}
	for i, a := range addrs {
		v.dialAddr(fmt.Sprintf("%s[%d]", path, i), a)
	}
}

func splitHostPort(addr string) (host string, port int, err error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		var addrErr *net.AddrError
		if errors.As(err, &addrErr) {
			return "", 0, errors.New(addrErr.Err)
		}
		return "", 0, err
	}
	port, err = strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", portText)
	}
	return host, port, nil
}

// isLoopback reports whether a listen address accepts only local
// connections. An empty host listens on every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func (v *validator) tls(path string, t TLS) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.errorf(path+".key_file", "is required when cert_file is set")
	case t.CertFile == "" && t.KeyFile != "":
		v.errorf(path+".cert_file", "is required when key_file is set")
	case t.Enabled():
		v.fileExists(path+".cert_file", t.CertFile)
		v.fileExists(path+".key_file", t.KeyFile)
	}
}

// fileExists warns about a missing file. It is a warning because the file
// may exist only on the host that runs the daemon, not where the
// configuration is checked.
func (v *validator) fileExists(path, file string) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		v.warnf(path, "file %s not found", file)
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.errorf(path, "must be a positive duration, such as 5s")
	}
}

// smppString checks a C-Octet String field of a bind (SMPP 3.4 section
// 4.1.1): printable ASCII of at most maxLen characters, the terminating NUL
// not counted. It never quotes the value, because passwords must not appear
// in errors.
func (v *validator) smppString(path, s string, maxLen int, required bool) {
	if s == "" {
		if required {
			v.errorf(path, "is required")
		}
		return
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			v.errorf(path, "must contain only printable ASCII characters")
			return
		}
	}
	if len(s) > maxLen {
		v.errorf(path, "is %d characters long; SMPP 3.4 allows at most %d", len(s), maxLen)
	}
}

// smppLimits checks the business SMPP listener's bind timeout, unbound
// connection limits and window.
func (v *validator) smppLimits(l *SMPPListener) {
	v.positive("listeners.smpp.bind_timeout", l.BindTimeout)
	if l.MaxUnbound < 1 {
		v.errorf("listeners.smpp.max_unbound", "must be at least 1, got %d", l.MaxUnbound)
	}
	switch {
	case l.MaxUnboundPerSource < 1:
		v.errorf("listeners.smpp.max_unbound_per_source", "must be at least 1, got %d",
			l.MaxUnboundPerSource)
	case l.MaxUnbound >= 1 && l.MaxUnboundPerSource > l.MaxUnbound:
		v.errorf("listeners.smpp.max_unbound_per_source", "is %d, above max_unbound %d",
			l.MaxUnboundPerSource, l.MaxUnbound)
	}
	if l.Window < 1 || l.Window > maxSMPPWindow {
		v.errorf("listeners.smpp.window", "must be between 1 and %d, got %d", maxSMPPWindow, l.Window)
	}
}

// maxSMPPWindow bounds listeners.smpp.window: each slot of a session's
// window may hold a handler goroutine and a carrier request.
const maxSMPPWindow = 1000
