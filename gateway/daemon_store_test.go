package gateway

import (
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

func TestKeywordConfigAddsWords(t *testing.T) {
	cfg := &config.Config{
		Keywords: config.Keywords{
			OptOut:            []string{"ARRET", "fin"},
			RevocationPhrases: []string{"please stop texting me"},
		},
		Accounts: []config.Account{{ID: "acme", OptOutWords: []string{"basta", "STOP"}}, {ID: "other"}},
	}
	kw, warnings := keywordConfig(cfg)
	if len(warnings) != 1 {
		t.Errorf("warnings %q, want one for acme's opt_out_words", warnings)
	}
	if !slices.Contains(kw.OptOutOther, "fin") || !slices.Contains(kw.OptOutOther, "basta") {
		t.Errorf("opt-out words %q lack fin or basta", kw.OptOutOther)
	}
	if n := len(slices.DeleteFunc(slices.Clone(kw.OptOutOther), func(w string) bool {
		return consent.Normalize(w) != consent.Normalize("ARRET")
	})); n != 1 {
		t.Errorf("ARRET listed %d times", n)
	}
	c, err := consent.NewClassifier(*kw)
	if err != nil {
		t.Fatalf("classifier: %v", err)
	}
	for _, text := range []string{"Fin", "BASTA", "Please stop texting me"} {
		if m := c.Classify(text); m.Keyword != consent.KeywordOptOut {
			t.Errorf("%q classified as %v, want opt-out", text, m.Keyword)
		}
	}
}

func TestRedisURLPassword(t *testing.T) {
	tests := []struct{ raw, password, wantUser, wantPassword string }{
		{"redis://127.0.0.1:6379/0", "s3cret", "", "s3cret"},
		{"rediss://optgate:old@redis.internal:6380/1", "new", "optgate", "new"},
		{"redis://127.0.0.1:6379/0", "", "", ""},
	}
	for _, tt := range tests {
		got, err := redisURL(tt.raw, tt.password)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := u.User.Password()
		if u.User.Username() != tt.wantUser || pw != tt.wantPassword {
			t.Errorf("%s with %q: user %q password %q", tt.raw, tt.password, u.User.Username(), pw)
		}
	}
	got, err := redisURL("unix:///run/redis.sock?db=2", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(got); u.Query().Get("password") != "pw" || u.Query().Get("db") != "2" {
		t.Errorf("unix URL %q", got)
	}
}

func TestRedisOptionsTopologies(t *testing.T) {
	base := config.RedisStore{Addr: "127.0.0.1:6379", KeyPrefix: "og:"}
	sentinel := base
	sentinel.Topology = config.TopologySentinel
	sentinel.Sentinel = config.RedisSentinel{MasterName: "m", Addrs: []string{"10.0.0.1:26379"}, Password: "sp"}
	cluster := base
	cluster.Topology = config.TopologyCluster
	cluster.Cluster.Addrs = []string{"10.0.1.1:6379"}

	o, err := redisOptions(base)
	if err != nil || o.Universal == nil {
		t.Fatalf("standalone: %+v %v", o.Universal, err)
	}
	if !slices.Equal(o.Universal.Addrs, []string{"127.0.0.1:6379"}) || o.KeyPrefix != "og:" {
		t.Errorf("standalone: addrs %q prefix %q", o.Universal.Addrs, o.KeyPrefix)
	}
	o, _ = redisOptions(sentinel)
	if o.Universal.MasterName != "m" || o.Universal.SentinelPassword != "sp" {
		t.Errorf("sentinel: %+v", o.Universal)
	}
	o, _ = redisOptions(cluster)
	if !o.Universal.IsClusterMode || !slices.Equal(o.Universal.Addrs, cluster.Cluster.Addrs) {
		t.Errorf("cluster with one seed: %+v", o.Universal)
	}
}

func TestGatewayStorePath(t *testing.T) {
	cfg := &config.Config{Store: config.Store{Embedded: config.EmbeddedStore{Path: "/var/lib/optgate/optgate.db"}}}
	if got := gatewayStorePath(cfg, ""); got != filepath.Join("/var/lib/optgate", "gateway.db") {
		t.Errorf("path %q, want gateway.db next to the consent file", got)
	}
	if got := gatewayStorePath(cfg, "/tmp/gw.db"); got != "/tmp/gw.db" {
		t.Errorf("path %q, want the option", got)
	}
}
