package config

import (
	"strings"
	"testing"
)

func TestRedisReplicaAcks(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want int
	}{
		{"standalone default", "topology: standalone", 0},
		{"sentinel default", "topology: sentinel\n    sentinel: {master_name: m, addrs: [\"127.0.0.1:26379\"]}", 1},
		{"sentinel off", "topology: sentinel\n    wait_replicas: -1\n    sentinel: {master_name: m, addrs: [\"127.0.0.1:26379\"]}", 0},
		{"cluster two", "topology: cluster\n    wait_replicas: 2\n    cluster: {addrs: [\"127.0.0.1:7000\"]}", 2},
		{"url default", "url: redis://127.0.0.1:6379/0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("store:\n  type: redis\n  redis:\n    "+tc.yaml+"\n"), "t.yaml")
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := c.Store.Redis.ReplicaAcks(); got != tc.want {
				t.Errorf("ReplicaAcks() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRedisWaitSettingsRejected(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"below minus one", "wait_replicas: -2", "store.redis.wait_replicas: must be -1 (off)"},
		{"zero timeout", "wait_replicas: 1\n    wait_timeout: 0s", "store.redis.wait_timeout: must be a positive duration"},
		{"timeout over read timeout", "wait_replicas: 1\n    wait_timeout: 1500ms\n    read_timeout: 1s",
			"store.redis.wait_timeout: must be shorter than store.redis.read_timeout (1s)"},
		{"timeout over store limit", "wait_replicas: 1\n    wait_timeout: 2s",
			"store.redis.wait_timeout: must be shorter than 2s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("store:\n  type: redis\n  redis:\n    "+tc.yaml+"\n"), "t.yaml")
			if err == nil {
				t.Fatal("parse accepted the configuration")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
