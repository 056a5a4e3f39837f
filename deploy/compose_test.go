package deploy

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/optgate/optgate/config"
)

// composeFile is the part of compose.yaml the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	EnvFile     []string          `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// optgateServices are the two optgate instances of the demo.
var optgateServices = []string{"optgate-a", "optgate-b"}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readFile(t, "compose.yaml"), &c); err != nil {
		t.Fatalf("parse compose.yaml: %v", err)
	}
	return c
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range append(slices.Clone(optgateServices), "redis", "prometheus", "grafana", "blackbox") {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose.yaml has no service %s", name)
		}
	}
	for _, name := range optgateServices {
		s := c.Services[name]
		if s.Build == nil {
			t.Errorf("service %s has no build section", name)
			continue
		}
		dockerfile := filepath.Join(s.Build.Context, s.Build.Dockerfile)
		if _, err := os.Stat(dockerfile); err != nil {
			t.Errorf("service %s builds from %s: %v", name, dockerfile, err)
		}
		if !slices.Contains(s.Command, "run") {
			t.Errorf("service %s command %q does not run the daemon", name, s.Command)
		}
	}
}

// TestComposeMountsExist checks that every bind-mounted file and env file
// exists and every named volume is declared.
func TestComposeMountsExist(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok {
				t.Errorf("service %s: volume %q has no target", name, v)
				continue
			}
			switch {
			case strings.HasPrefix(src, "/"):
				t.Errorf("service %s: volume %q mounts an absolute host path; use a path under deploy/", name, v)
			case strings.HasPrefix(src, "."):
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s: mounted file: %v", name, err)
				}
			default:
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("service %s: named volume %s is not declared under volumes", name, src)
				}
			}
		}
		for _, f := range s.EnvFile {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("service %s: env file: %v", name, err)
			}
		}
	}
}

// TestComposePortsOnLoopback checks that no port is published on every
// host interface.
func TestComposePortsOnLoopback(t *testing.T) {
	c := loadCompose(t)
	published := 0
	for name, s := range c.Services {
		for _, p := range s.Ports {
			published++
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q; publish on the host's loopback as 127.0.0.1:HOST:CONTAINER", name, p)
			}
		}
	}
	if published == 0 {
		t.Error("compose.yaml publishes no port, so nothing is reachable from the host")
	}
	if ports := c.Services["redis"].Ports; len(ports) != 0 {
		t.Errorf("redis publishes %q; it should be reachable only over the compose network", ports)
	}
}

// mountedFile returns the host path mounted at target in service s.
func mountedFile(t *testing.T, c composeFile, service, target string) string {
	t.Helper()
	for _, v := range c.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	t.Fatalf("service %s mounts nothing at %s", service, target)
	return ""
}

// loadEnvFile reads NAME=value lines, skipping comments and blank lines.
func loadEnvFile(t *testing.T, p string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, p)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not NAME=value", p, line)
		}
		env[name] = value
	}
	return env
}

// loadInstanceConfig loads the configuration mounted into an optgate
// service, with the environment of its env files.
func loadInstanceConfig(t *testing.T, c composeFile, service string) *config.Config {
	t.Helper()
	for _, f := range c.Services[service].EnvFile {
		for name, value := range loadEnvFile(t, f) {
			t.Setenv(name, value)
		}
	}
	p := mountedFile(t, c, service, "/etc/optgate/optgate.yaml")
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatalf("service %s: configuration %s: %v", service, p, err)
	}
	return cfg
}

// TestComposeInstanceConfigs checks that both instances share the Redis
// service, serve the same accounts and split the carriers between them.
func TestComposeInstanceConfigs(t *testing.T) {
	c := loadCompose(t)
	carrierOwner := map[string]string{}
	var accounts [][]string
	for _, name := range optgateServices {
		cfg := loadInstanceConfig(t, c, name)
		if cfg.Store.Type != config.StoreRedis {
			t.Errorf("%s: store.type %q, want redis", name, cfg.Store.Type)
		}
		host, _, err := net.SplitHostPort(cfg.Store.Redis.Addr)
		if err != nil || host != "redis" {
			t.Errorf("%s: store.redis.addr %q, want the redis service", name, cfg.Store.Redis.Addr)
		}
		if cfg.Store.Redis.Password == "" {
			t.Errorf("%s: store.redis.password is empty, but redis requires one", name)
		}
		if len(cfg.Carriers) == 0 {
			t.Errorf("%s: no carriers", name)
		}
		for _, carrier := range cfg.Carriers {
			if other, ok := carrierOwner[carrier.Name]; ok {
				t.Errorf("carrier %s is bound by both %s and %s; split the carriers", carrier.Name, other, name)
			}
			carrierOwner[carrier.Name] = name
			checkCarrierService(t, c, name, carrier)
		}
		var ids []string
		for _, a := range cfg.Accounts {
			ids = append(ids, a.ID)
		}
		slices.Sort(ids)
		accounts = append(accounts, ids)
	}
	if len(accounts) == 2 && !slices.Equal(accounts[0], accounts[1]) {
		t.Errorf("the instances serve different accounts: %q and %q", accounts[0], accounts[1])
	}
}

// checkCarrierService checks that a carrier's address is a simulator
// service of the compose file listening on that port.
func checkCarrierService(t *testing.T, c composeFile, instance string, carrier config.Carrier) {
	t.Helper()
	host, port, err := net.SplitHostPort(carrier.Address)
	if err != nil {
		t.Errorf("%s: carrier %s address %q: %v", instance, carrier.Name, carrier.Address, err)
		return
	}
	s, ok := c.Services[host]
	if !ok {
		t.Errorf("%s: carrier %s address %s names no compose service", instance, carrier.Name, carrier.Address)
		return
	}
	i := slices.Index(s.Command, "-addr")
	if i < 0 || i+1 >= len(s.Command) || s.Command[i+1] != "0.0.0.0:"+port {
		t.Errorf("%s: carrier %s dials port %s, but service %s has command %q", instance, carrier.Name, port, host, s.Command)
	}
	if slices.Contains(s.Command, "-password") {
		if p := s.Command[slices.Index(s.Command, "-password")+1]; p != carrier.Password {
			t.Errorf("%s: carrier %s password differs from the -password of service %s", instance, carrier.Name, host)
		}
	}
}

func TestComposeRedisPersistence(t *testing.T) {
	c := loadCompose(t)
	conf := mountedFile(t, c, "redis", "/usr/local/etc/redis/redis.conf")
	settings := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, conf)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		settings[key] = strings.TrimSpace(value)
	}
	want := map[string]string{
		"appendonly":                "yes",
		"appendfsync":               "everysec",
		"maxmemory-policy":          "noeviction",
		"hash-max-listpack-entries": "256",
		"hash-max-listpack-value":   "128",
	}
	for key, value := range want {
		if settings[key] != value {
			t.Errorf("%s: %s = %q, want %q", conf, key, settings[key], value)
		}
	}
	cmd := strings.Join(c.Services["redis"].Command, " ")
	if !strings.Contains(cmd, "/usr/local/etc/redis/redis.conf") {
		t.Errorf("redis command %q does not read the mounted redis.conf", cmd)
	}
	if !strings.Contains(cmd, "--requirepass") {
		t.Errorf("redis command %q sets no password", cmd)
	}
}

// promConfig is the part of prometheus.yml the tests read.
type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// TestComposePrometheusScrapesBoth checks that Prometheus scrapes and
// probes both instances on their HTTP port and loads the mounted rules.
func TestComposePrometheusScrapesBoth(t *testing.T) {
	c := loadCompose(t)
	p := mountedFile(t, c, "prometheus", "/etc/prometheus/prometheus.yml")
	var pc promConfig
	if err := yaml.Unmarshal(readFile(t, p), &pc); err != nil {
		t.Fatalf("parse %s: %v", p, err)
	}
	targets := map[string][]string{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], st.Targets...)
		}
	}
	for _, name := range optgateServices {
		cfg := loadInstanceConfig(t, c, name)
		_, port, err := net.SplitHostPort(cfg.Listeners.HTTP.Addr)
		if err != nil {
			t.Fatalf("%s: listeners.http.addr: %v", name, err)
		}
		hostPort := net.JoinHostPort(name, port)
		if !slices.Contains(targets["optgate"], hostPort) {
			t.Errorf("job optgate targets %q, want %s", targets["optgate"], hostPort)
		}
		ready := "http://" + hostPort + "/readyz"
		if !slices.Contains(targets["optgate_ready"], ready) {
			t.Errorf("job optgate_ready targets %q, want %s", targets["optgate_ready"], ready)
		}
	}
	for _, rf := range pc.RuleFiles {
		mountedFile(t, c, "prometheus", path.Join("/etc/prometheus", rf))
	}
	if len(pc.RuleFiles) == 0 {
		t.Error("prometheus.yml loads no rule files")
	}
}

// TestComposeGrafanaProvisioning checks the datasource and dashboard
// provisioning that compose mounts into Grafana.
func TestComposeGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	dsDir := mountedFile(t, c, "grafana", "/etc/grafana/provisioning/datasources")
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(dsDir, "prometheus.yml")), &ds); err != nil {
		t.Fatalf("parse datasource provisioning: %v", err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Fatalf("datasources = %+v, want one of type prometheus", ds.Datasources)
	}
	if !strings.HasPrefix(ds.Datasources[0].URL, "http://prometheus:9090") {
		t.Errorf("datasource url %q, want the prometheus service on port 9090", ds.Datasources[0].URL)
	}
	if !slices.Contains(c.Services["prometheus"].Command, "--web.listen-address=0.0.0.0:9090") {
		t.Errorf("prometheus command %q does not listen on port 9090", c.Services["prometheus"].Command)
	}

	provDir := mountedFile(t, c, "grafana", "/etc/grafana/provisioning/dashboards")
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(provDir, "optgate.yml")), &prov); err != nil {
		t.Fatalf("parse dashboard provisioning: %v", err)
	}
	if len(prov.Providers) != 1 {
		t.Fatalf("dashboard providers = %d, want 1", len(prov.Providers))
	}
	dashDir := mountedFile(t, c, "grafana", prov.Providers[0].Options.Path)
	if _, err := os.Stat(filepath.Join(dashDir, "optgate.json")); err != nil {
		t.Errorf("the provider path %s holds no optgate.json: %v", prov.Providers[0].Options.Path, err)
	}
	if uid := loadDashboard(t).datasourceUIDs(); len(uid) != 1 || !uid[ds.Datasources[0].UID] {
		t.Errorf("dashboard datasource uids %v, want only %q", uid, ds.Datasources[0].UID)
	}
}
