package topologies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/testredis"
)

// The daemon tests' account, numbers and key prefix.
const (
	account     = "acme"
	tollFree    = "+18885550100"
	apiToken    = "topology-token"
	keyPrefix   = "topology:"
	subscribers = 30
)

// subscriber returns the i-th subscriber, +12015550101 and up, for i
// below 99.
func subscriber(i int) string {
	return fmt.Sprintf("+120155501%02d", 1+i)
}

// daemonYAML configures a daemon with its consent records and gateway
// state in Redis and the built-in simulator as its only carrier. The
// placeholders are the simulator's port, the data directory, the lines
// that choose the Redis topology, the key prefix and the hash of the API
// token, which is also the password of the business's SMPP bind. The
// business does not bind, so its MOs wait in its queue.
const daemonYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: false}
  simulator: {enabled: true, addr: "127.0.0.1:%[1]d", receipt_delay: 0s}
store:
  type: redis
  embedded: {path: "%[2]s/consent.db"}
  redis:
%[3]s
    key_prefix: %[4]q
    dial_timeout: 200ms
    read_timeout: 800ms
    write_timeout: 800ms
    wait_timeout: 500ms
logging: {level: error, mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: '%[5]s'}
    api_tokens:
      - {name: topology, hash: '%[5]s'}
carriers:
  - name: sim
    address: "127.0.0.1:%[1]d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// sentinelYAML returns the store.redis lines for the group.
func sentinelYAML(g *testredis.Sentinel) string {
	return fmt.Sprintf("    topology: sentinel\n    sentinel: {master_name: %s, addrs: [%s]}",
		g.MasterName, quoteList(g.Addrs()))
}

// clusterYAML returns the store.redis lines for the cluster.
func clusterYAML(c *testredis.Cluster) string {
	return fmt.Sprintf("    topology: cluster\n    cluster: {addrs: [%s]}", quoteList(c.Addrs()))
}

func quoteList(addrs []string) string {
	quoted := make([]string, len(addrs))
	for i, a := range addrs {
		quoted[i] = strconv.Quote(a)
	}
	return strings.Join(quoted, ", ")
}

// parseDaemonConfig fills daemonYAML with the topology lines and parses it.
func parseDaemonConfig(t *testing.T, topology string) *config.Config {
	t.Helper()
	port := daemontest.FreePort(t, "tcp")
	hash := daemontest.Hash(t, apiToken)
	text := fmt.Sprintf(daemonYAML, port, t.TempDir(), topology, keyPrefix, hash)
	cfg, err := config.Parse([]byte(text), "topology.yaml")
	if err != nil {
		t.Fatalf("parse the daemon configuration: %v", err)
	}
	return cfg
}

// startDaemon starts an in-process daemon with cfg and waits until its
// carrier bind is up.
func startDaemon(t *testing.T, cfg *config.Config) *gateway.Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := daemontest.Start(t, ctx, cfg, nil, gateway.DaemonOptions{
		Carrier: gateway.CarrierPoolConfig{
			RetryBackoff: 10 * time.Millisecond, ReconnectDelay: 20 * time.Millisecond,
			MaxReconnectDelay: 100 * time.Millisecond,
		},
	}, 10*time.Second)

	for d.Ready(ctx)["carrier:sim"] != nil {
		if ctx.Err() != nil {
			t.Fatalf("carrier not bound: %v", d.Ready(context.Background()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// optIn imports an opt-in of every subscriber, so MTs pass until STOP.
func optIn(t *testing.T, s consent.Store) {
	t.Helper()
	for i := range subscribers {
		_, err := s.Apply(context.Background(), consent.Event{
			Kind: consent.EventImport, Account: account, Number: subscriber(i),
			Import: consent.StateOptedIn, Source: consent.SourceImport, Time: time.Now(),
		})
		if err != nil {
			t.Fatalf("opt in %s: %v", subscriber(i), err)
		}
	}
}

// mtResult is one MT sent over the HTTP API.
type mtResult struct {
	id    int
	to    string
	start time.Time
	// code is "" for a 202, else the error code of the response, or
	// "transport" when no response came.
	code string
}

// sendMT posts one MT with the text "mt-<id>".
func sendMT(ctx context.Context, client *http.Client, url string, id int, to string) mtResult {
	r := mtResult{id: id, to: to, start: time.Now()}
	body, _ := json.Marshal(map[string]string{"from": tollFree, "to": to, "text": "mt-" + strconv.Itoa(id)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		r.code = "transport"
		return r
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		r.code = "transport"
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		return r
	}

	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Code == "" {
		r.code = "http_" + strconv.Itoa(resp.StatusCode)
		return r
	}
	r.code = e.Error.Code
	return r
}
