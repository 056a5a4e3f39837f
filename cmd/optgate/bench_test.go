package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/loadgen"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// startBenchSim starts a simulator on a free loopback port with the
// credentials of the built-in configuration's simulator.
func startBenchSim(t *testing.T) *smscsim.Simulator {
	t.Helper()
	sim := smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", SystemID: "optgate", Password: "simpass"})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sim.Shutdown(ctx)
	})
	return sim
}

// TestBenchSmoke runs the load tool for a second against the simulator
// and checks that messages flowed without errors.
func TestBenchSmoke(t *testing.T) {
	sim := startBenchSim(t)
	code, stdout, stderr := run(t, "bench", "-target", sim.Addr().String(), "-system-id", "optgate",
		"-password", "simpass", "-duration", "1s", "-binds", "2", "-window", "5",
		"-mix", "gsm7=60,ucs2=20,long=20", "-pid", strconv.Itoa(os.Getpid()), "-json")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	if rep.Acked == 0 {
		t.Error("no message acknowledged")
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 {
		t.Errorf("%d messages failed: %+v", rep.Failed, rep.Errors)
	}
	if rep.Latency.Count != uint64(rep.Acked) {
		t.Errorf("latency count %d, want %d", rep.Latency.Count, rep.Acked)
	}
	if len(sim.Messages()) == 0 {
		t.Error("the simulator received no message")
	}
	if rep.Process == nil || rep.Process.PID != os.Getpid() || rep.Process.PeakRSS <= 0 {
		t.Errorf("process statistics %+v, want those of pid %d", rep.Process, os.Getpid())
	}
}

func TestBenchTextReport(t *testing.T) {
	sim := startBenchSim(t)
	code, stdout, stderr := run(t, "bench", "-target", sim.Addr().String(), "-system-id", "optgate",
		"-password", "simpass", "-messages", "20", "-duration", "0")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"messages   submitted 20", "acked 20", "errors     none", "latency    mean"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

func TestBenchBindRejected(t *testing.T) {
	sim := startBenchSim(t)
	code, _, stderr := run(t, "bench", "-target", sim.Addr().String(), "-system-id", "optgate",
		"-password", "wrong", "-messages", "1")
	if code != exitFailure || !strings.Contains(stderr, "ESME_RINVPASWD") {
		t.Errorf("exit code %d, stderr %q; want %d and ESME_RINVPASWD", code, stderr, exitFailure)
	}
}

func TestBenchFlagErrors(t *testing.T) {
	t.Setenv("OPTGATE_TOKEN", "")
	t.Setenv(operatorTokenEnv, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-mix", "gsm7=90"}, "-mix: "},
		{[]string{"-to", "12015550100"}, "-to: "},
		{[]string{"-from", "+1800-+1801555"}, "-from: "},
		{[]string{"-opted-in", "101"}, "-opted-in 101"},
		{[]string{"-duration", "0"}, "-duration 0 needs -messages"},
		{[]string{"-warmup", "-1s"}, "must not be negative"},
		{[]string{"-http", "http://127.0.0.1:1"}, "-http needs -token"},
		{[]string{"-http", "http://127.0.0.1:1", "-token", "t", "-receipts"}, "works over SMPP only"},
		{[]string{"-binds", "0"}, "-binds 0"},
		{[]string{"-window", "10001"}, "-window 10001"},
		{[]string{"-rate", "-5"}, "-rate -5"},
		{[]string{"-pid", "-1"}, "-pid -1"},
		{[]string{"-also-pids", "12,x"}, `invalid process id "x"`},
		{[]string{"-also-pids", "0"}, `invalid process id "0"`},
		{[]string{"-prepare"}, "needs -operator-token"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, append([]string{"bench"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("bench %v: exit code %d, stderr %q; want %d and %q", tt.args, code, stderr, exitUsage, tt.want)
		}
	}
}

func TestBenchPrepareOnlyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "optgate.db")
	code, stdout, stderr := run(t, "bench", "-prepare-only", "-store", path, "-account", "acct",
		"-to", "+12015550100-+12015550299", "-opted-in", "50")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "prepared 100 opted-in numbers for account acct") {
		t.Errorf("stdout %q", stdout)
	}
	store, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for number, want := range map[string]consent.State{
		"+12015550100": consent.StateOptedIn, "+12015550149": consent.StateOptedIn,
		"+12015550150": consent.StateNone, "+12015550250": consent.StateNone,
	} {
		rec, err := store.Get(context.Background(), "acct", number)
		if err != nil || rec.State != want {
			t.Errorf("%s: state %v (error %v), want %v", number, rec.State, err, want)
		}
	}
}

func TestBenchTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, perSecond float64) string {
		path := filepath.Join(dir, name+".json")
		data, err := json.Marshal(loadgen.Report{Binds: 2, Window: 10, Acked: 100, AckedPerSecond: perSecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	direct, optgate := write("direct", 1000), write("optgate", 250)
	code, stdout, stderr := run(t, "bench", "table", "-baseline", "direct", "direct="+direct, "optgate embedded="+optgate)
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"| vs direct |", "| direct | 2 x 10 | 1000 | 1.00 |", "| optgate embedded | 2 x 10 | 250 | 0.25 |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}

	for _, args := range [][]string{{}, {"direct"}, {"=x"}} {
		if code, _, _ := run(t, append([]string{"bench", "table"}, args...)...); code != exitUsage {
			t.Errorf("bench table %v: exit code %d, want %d", args, code, exitUsage)
		}
	}
	code, _, stderr = run(t, "bench", "table", "x="+filepath.Join(dir, "missing.json"))
	if code != exitFailure || !strings.Contains(stderr, "missing.json") {
		t.Errorf("missing file: exit code %d, stderr %q", code, stderr)
	}
}

func TestBenchStatusName(t *testing.T) {
	tests := []struct {
		status smpp.CommandStatus
		want   string
	}{
		{0x400, "no_consent"},
		{0x401, "opted_out"},
		{0x481, "store_unavailable"},
		{smpp.StatusThrottled, "ESME_RTHROTTLED"},
		{0x4FF, "command_status(0x000004ff)"},
	}
	for _, tt := range tests {
		if got := statusName(tt.status); got != tt.want {
			t.Errorf("statusName(0x%x) = %q, want %q", uint32(tt.status), got, tt.want)
		}
	}
}
