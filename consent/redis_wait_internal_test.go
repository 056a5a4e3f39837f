package consent

import "testing"

func TestOnlineReplicas(t *testing.T) {
	const info = "# Replication\r\n" +
		"role:master\r\n" +
		"connected_slaves:3\r\n" +
		"slave0:ip=127.0.0.1,port=7001,state=online,offset=1234,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=7002,state=online,offset=1200,lag=4\r\n" +
		"slave2:ip=127.0.0.1,port=7003,state=wait_bgsave,offset=0,lag=0\r\n" +
		"slave_read_repl_offset:1234\r\n" +
		"master_repl_offset:1234\r\n"
	tests := []struct {
		maxLag int64
		want   int
	}{
		{maxLag: 1, want: 1},
		{maxLag: 4, want: 2},
	}
	for _, tc := range tests {
		if got := onlineReplicas(info, tc.maxLag); got != tc.want {
			t.Errorf("onlineReplicas(max lag %d) = %d, want %d", tc.maxLag, got, tc.want)
		}
	}
	if got := onlineReplicas("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n", 1); got != 0 {
		t.Errorf("onlineReplicas without replicas = %d, want 0", got)
	}
}
