package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

// gatewayStoreFile is the name of the gateway's bbolt file, kept in the
// directory of the embedded consent store.
const gatewayStoreFile = "gateway.db"

// gatewayStorePath returns where the gateway file lives: the option when
// set, else gateway.db next to the embedded consent file, which is
// ./data/gateway.db with the default configuration. The file is used only
// when store.type is embedded; with redis the gateway state is in Redis.
func gatewayStorePath(cfg *config.Config, option string) string {
	if option != "" {
		return option
	}
	return filepath.Join(filepath.Dir(cfg.Store.Embedded.Path), gatewayStoreFile)
}

// openConsentStore opens the consent store the configuration selects.
func openConsentStore(ctx context.Context, s config.Store, logger *zap.Logger) (consent.Store, error) {
	switch s.Type {
	case config.StoreRedis:
		opts, err := redisOptions(s.Redis)
		if err != nil {
			return nil, err
		}
		opts.Logger = logger
		st, err := consent.OpenRedis(ctx, opts)
		if err != nil {
			return nil, err
		}
		return st, nil
	case "", config.StoreEmbedded:
		if dir := filepath.Dir(s.Embedded.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open consent store %s: %w", s.Embedded.Path, err)
			}
		}
		st, err := consent.OpenBolt(s.Embedded.Path, consent.BoltOptions{})
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown store type %q (want embedded or redis)", s.Type)
}

// redisOptions converts the configuration's Redis connection.
func redisOptions(r config.RedisStore) (consent.RedisOptions, error) {
	opts := consent.RedisOptions{
		KeyPrefix:    r.KeyPrefix,
		WaitReplicas: r.ReplicaAcks(),
		WaitTimeout:  r.WaitTimeout,
	}
	if r.URL != "" {
		u, err := redisURL(r.URL, r.Password)
		if err != nil {
			return opts, err
		}
		opts.URL = u
		return opts, nil
	}
	u := &redis.UniversalOptions{
		Username:     r.Username,
		Password:     r.Password,
		DB:           r.DB,
		DialTimeout:  r.DialTimeout,
		ReadTimeout:  r.ReadTimeout,
		WriteTimeout: r.WriteTimeout,
	}
	switch r.Topology {
	case config.TopologySentinel:
		u.MasterName = r.Sentinel.MasterName
		u.Addrs = slices.Clone(r.Sentinel.Addrs)
		u.SentinelPassword = r.Sentinel.Password
	case config.TopologyCluster:
		u.Addrs = slices.Clone(r.Cluster.Addrs)
		u.IsClusterMode = true
	default:
		u.Addrs = []string{r.Addr}
	}
	opts.Universal = u
	return opts, nil
}

// redisURL puts password into a Redis URL, replacing one the URL has, as
// the configuration documents. An empty password leaves the URL as it is.
func redisURL(raw, password string) (string, error) {
	if password == "" {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The URL may hold a password, so it is not quoted.
		return "", fmt.Errorf("store.redis.url is not a valid URL")
	}
	if u.Scheme == "unix" {
		q := u.Query()
		q.Set("password", password)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, password)
	return u.String(), nil
}

// keywordConfig returns the consent keyword lists: the built-in ones with
// the configuration's extra opt-out words and revocation phrases.
func keywordConfig(cfg *config.Config) (*consent.KeywordConfig, []string) {
	kw := consent.DefaultKeywords()
	known := map[string]bool{}
	for _, list := range [][]string{kw.OptOut, kw.OptOutOther, kw.OptIn, kw.Resume, kw.Help} {
		for _, w := range list {
			known[consent.Normalize(w)] = true
		}
	}
	add := func(w string) {
		if n := consent.Normalize(w); n != "" && !known[n] {
			known[n] = true
			kw.OptOutOther = append(kw.OptOutOther, w)
		}
	}
	for _, w := range cfg.Keywords.OptOut {
		add(w)
	}
	var warnings []string
	for _, a := range cfg.Accounts {
		if len(a.OptOutWords) == 0 {
			continue
		}
		// TODO: the consent engine classifies with one keyword list for
		// every account, so account opt_out_words apply to all accounts.
		warnings = append(warnings, fmt.Sprintf("account %s: opt_out_words apply to every account", a.ID))
		for _, w := range a.OptOutWords {
			add(w)
		}
	}
	phrases := map[string]bool{}
	for _, p := range kw.RevocationPhrases {
		phrases[consent.Normalize(p)] = true
	}
	for _, p := range cfg.Keywords.RevocationPhrases {
		if n := consent.Normalize(p); n != "" && !phrases[n] {
			phrases[n] = true
			kw.RevocationPhrases = append(kw.RevocationPhrases, p)
		}
	}
	return &kw, warnings
}

// openGatewayStore opens the gateway store: in Redis next to the consent
// records when store.type is redis, so that several instances share the
// id map, the partial MO texts and the delivery queues, else the local
// bbolt file at path. It returns the store and where it is, for the log.
func openGatewayStore(ctx context.Context, cfg *config.Config, path string, log *zap.Logger) (Store, string, error) {
	if cfg.Store.Type != config.StoreRedis {
		s, err := OpenBoltStore(path, BoltStoreOptions{})
		if err != nil {
			return nil, "", err
		}
		return s, path, nil
	}
	r := cfg.Store.Redis
	consumer, stable := redisConsumer(cfg)
	if !stable {
		log.Warn("store.redis.consumer is not set and no listener has a fixed port, so this "+
			"instance's consumer name changes at every start; after a restart its undelivered "+
			"items wait for store.redis.queue_lease",
			zap.String("consumer", consumer))
	}
	rdb, err := newRedisClient(r)
	if err != nil {
		return nil, "", err
	}
	s, err := OpenRedisStore(ctx, rdb, RedisStoreOptions{
		KeyPrefix:    r.KeyPrefix,
		Consumer:     consumer,
		Lease:        r.QueueLease,
		WaitReplicas: r.ReplicaAcks(),
		WaitTimeout:  r.WaitTimeout,
	})
	if err != nil {
		_ = rdb.Close()
		return nil, "", err
	}
	return s, "redis (consumer " + consumer + ")", nil
}

// redisConsumer returns store.redis.consumer, or when it is empty the host
// name and the port of the business SMPP listener, or of the HTTP listener
// when SMPP is off. Two instances on one host must listen on different
// ports, so that name is unique on a host, and it stays the same across
// restarts, unlike a name with the process id. When no listener has a
// fixed port it returns the host name with a random suffix, and reports
// that the name is not stable.
func redisConsumer(cfg *config.Config) (string, bool) {
	if c := cfg.Store.Redis.Consumer; c != "" {
		return c, true
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "optgate"
	}
	addr := ""
	switch {
	case cfg.Listeners.SMPP.Enabled:
		addr = cfg.Listeners.SMPP.Addr
	case cfg.Listeners.HTTP.Enabled:
		addr = cfg.Listeners.HTTP.Addr
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && port != "0" {
		return host + ":" + port, true
	}
	return host + ":" + strconv.FormatUint(rand.Uint64(), 36), false
}

// newRedisClient connects to the Redis of the configuration, with context
// deadlines enabled so that they bound every command.
func newRedisClient(r config.RedisStore) (redis.UniversalClient, error) {
	opts, err := redisOptions(r)
	if err != nil {
		return nil, err
	}
	if opts.Universal != nil {
		u := *opts.Universal
		u.ContextTimeoutEnabled = true
		return redis.NewUniversalClient(&u), nil
	}
	o, err := redis.ParseURL(opts.URL)
	if err != nil {
		// The URL may hold a password, so it is not quoted.
		return nil, errors.New("store.redis.url is not a valid Redis URL")
	}
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o), nil
}
