package loadgen

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startSim starts an in-process SMSC simulator on a free loopback port
// that accepts system_id bench with password secret.
func startSim(t *testing.T, rules ...smscsim.Rule) *smscsim.Simulator {
	t.Helper()
	sim := smscsim.New(smscsim.Config{
		Addr:     "127.0.0.1:0",
		SystemID: "bench",
		Password: "secret",
		Rules:    rules,
	})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sim.Shutdown(ctx); err != nil {
			t.Errorf("stop the simulator: %v", err)
		}
	})
	return sim
}

func simConfig(sim *smscsim.Simulator) Config {
	return Config{Addr: sim.Addr().String(), SystemID: "bench", Password: "secret"}
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// TestRunSmokeSMPP runs a mixed load against the simulator for a second
// and checks that messages flowed without errors.
func TestRunSmokeSMPP(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Binds, cfg.Window = 2, 4
	cfg.Duration = time.Second
	cfg.Mix = Mix{60, 20, 20}
	cfg.Receipts = true
	rep := run(t, cfg)

	if rep.Acked == 0 {
		t.Fatal("no message acknowledged")
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 {
		t.Errorf("%d messages failed: %+v", rep.Failed, rep.Errors)
	}
	if rep.Submitted != rep.Acked {
		t.Errorf("submitted %d, acked %d, want equal", rep.Submitted, rep.Acked)
	}
	if rep.Latency.Count != uint64(rep.Acked) {
		t.Errorf("latency count %d, want one per acked message (%d)", rep.Latency.Count, rep.Acked)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
		t.Errorf("latency percentiles out of order: %+v", rep.Latency)
	}
	if rep.Segments <= rep.Acked {
		t.Errorf("%d segments for %d messages; a 20%% share of long messages adds segments", rep.Segments, rep.Acked)
	}
	if rep.Receipts < rep.Acked {
		t.Errorf("%d receipts for %d acked messages", rep.Receipts, rep.Acked)
	}
	if rep.AckedPerSecond <= 0 || rep.Elapsed <= 0 {
		t.Errorf("acked/s %v over %vs, want both positive", rep.AckedPerSecond, rep.Elapsed)
	}
	if rep.Mode != "smpp" || rep.Binds != 2 || rep.Window != 4 || rep.Mix != "gsm7=60,ucs2=20,long=20" {
		t.Errorf("report describes mode %s, %d x %d, mix %s", rep.Mode, rep.Binds, rep.Window, rep.Mix)
	}
	if got := len(sim.Sessions()); got != 0 {
		t.Errorf("%d sessions still bound after Run", got)
	}
}

// TestRunMessageCount sends a fixed number of long messages one at a time
// and checks what the simulator received: three segments per message,
// each message with its own reference, reassembling to the long text.
func TestRunMessageCount(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Window = 1
	cfg.Messages = 20
	cfg.Mix = Mix{KindLong: 100}
	cfg.From = MustParseNumberRange("+18005550100-+18005550101")
	rep := run(t, cfg)

	if rep.Submitted != 20 || rep.Acked != 20 || rep.Segments != 60 {
		t.Fatalf("submitted %d acked %d segments %d, want 20, 20 and 60", rep.Submitted, rep.Acked, rep.Segments)
	}
	msgs := sim.Messages()
	if len(msgs) != 60 {
		t.Fatalf("the simulator recorded %d messages, want 60", len(msgs))
	}
	whole, sources := map[uint16]int{}, map[string]int{}
	for _, m := range msgs {
		sources[m.Source]++
		if m.Part.Total != 3 {
			t.Errorf("segment %d: part %+v, want one of 3", m.Seq, m.Part)
		}
		if m.FullText != "" {
			whole[m.Part.Ref]++
			if m.FullText != textLong {
				t.Errorf("message with reference %d reassembled to %q", m.Part.Ref, m.FullText)
			}
		}
	}
	if len(whole) != 20 {
		t.Errorf("%d distinct references reassembled, want 20", len(whole))
	}
	if sources["18005550100"] != 30 || sources["18005550101"] != 30 {
		t.Errorf("segments per sender %v, want 30 from each", sources)
	}
}

// TestRunRate paces a small count; it checks only that pacing delivers
// every message, since timing is not asserted in tests.
func TestRunRate(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Rate = 200
	cfg.Messages = 30
	rep := run(t, cfg)
	if rep.Acked != 30 || rep.TargetRate != 200 {
		t.Errorf("acked %d with target rate %v, want 30 and 200", rep.Acked, rep.TargetRate)
	}
}

// TestRunCountsStatuses sends to two recipients, one of which the
// simulator rejects, and checks that the report counts the rejects by
// command_status.
func TestRunCountsStatuses(t *testing.T) {
	sim := startSim(t, smscsim.Rule{Destination: "12015550101", Status: smpp.StatusSubmitFailed})
	cfg := simConfig(sim)
	cfg.Messages = 200
	cfg.To = MustParseNumberRange("+12015550100-+12015550101")
	cfg.StatusName = func(s smpp.CommandStatus) string { return "name:" + s.String() }
	rep := run(t, cfg)

	if rep.Acked == 0 || rep.Failed == 0 || rep.Acked+rep.Failed != 200 {
		t.Fatalf("acked %d failed %d, want both positive and 200 in all", rep.Acked, rep.Failed)
	}
	if len(rep.Errors) != 1 {
		t.Fatalf("errors %+v, want one kind", rep.Errors)
	}
	want := ErrorCount{Reason: "name:ESME_RSUBMITFAIL", Status: "0x00000045", Count: rep.Failed}
	if rep.Errors[0] != want {
		t.Errorf("error count %+v, want %+v", rep.Errors[0], want)
	}
}

func TestRunBindRejected(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Password = "wrong"
	cfg.Binds = 2
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "ESME_RINVPASWD") {
		t.Errorf("Run with a wrong password: error %v, want one naming ESME_RINVPASWD", err)
	}
}

func TestRunInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no target", Config{}, "no target"},
		{"two targets", Config{Addr: "127.0.0.1:1", HTTPURL: "http://127.0.0.1:1", SystemID: "a"}, "pick one"},
		{"bad address", Config{Addr: "localhost", SystemID: "a"}, "not host:port"},
		{"no system_id", Config{Addr: "127.0.0.1:1"}, "needs a system_id"},
		{"bad URL", Config{HTTPURL: "ftp://x", Token: "t"}, "not an http or https URL"},
		{"no token", Config{HTTPURL: "http://127.0.0.1:1"}, "needs an API token"},
		{"window", Config{Addr: "127.0.0.1:1", SystemID: "a", Window: -1}, "window -1"},
		{"binds", Config{Addr: "127.0.0.1:1", SystemID: "a", Binds: MaxBinds + 1}, "binds 1001"},
		{"rate", Config{Addr: "127.0.0.1:1", SystemID: "a", Rate: -1}, "rate -1 is negative"},
		{"mix", Config{Addr: "127.0.0.1:1", SystemID: "a", Mix: Mix{50}}, "add up to 50"},
		{"opted in", Config{Addr: "127.0.0.1:1", SystemID: "a", OptedInPercent: 101}, "101%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRunCanceled ends the context during a run without a duration and
// checks that Run returns the messages sent so far.
func TestRunCanceled(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Messages = 1 << 40
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Acked == 0 || rep.Submitted >= cfg.Messages {
		t.Errorf("acked %d of %d submitted, want some but not the whole count", rep.Acked, rep.Submitted)
	}
}

func TestRunNoListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Run(context.Background(), Config{Addr: addr, SystemID: "bench"})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run against a closed port: error %v, want connection refused", err)
	}
}

// TestRunWarmup checks that the warm-up load reaches the target but not
// the report.
func TestRunWarmup(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Warmup = 200 * time.Millisecond
	cfg.Messages = 10
	cfg.Window = 2
	rep := run(t, cfg)
	if rep.Submitted != 10 || rep.Acked != 10 || rep.Latency.Count != 10 {
		t.Errorf("submitted %d acked %d latencies %d, want 10 of each", rep.Submitted, rep.Acked, rep.Latency.Count)
	}
	if got := len(sim.Messages()); got <= 10 {
		t.Errorf("the simulator got %d messages, want the 10 measured ones plus the warm-up", got)
	}
	if rep.Warmup != 0.2 {
		t.Errorf("report warm-up %vs, want 0.2s", rep.Warmup)
	}
}

// TestRunObservesProcess observes the test process itself, which runs
// both the load and the simulator.
func TestRunObservesProcess(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(sim)
	cfg.Messages = 2000
	cfg.ObservePID = os.Getpid()
	rep := run(t, cfg)
	p := rep.Process
	if p == nil {
		t.Fatal("no process statistics in the report")
	}
	if p.PID != os.Getpid() || p.PeakRSS <= 0 || p.PeakRSS < p.StartRSS {
		t.Errorf("process %+v, want pid %d and a peak RSS at or above the start", p, os.Getpid())
	}
	if p.CPUSeconds <= 0 || p.CPUPerMessage <= 0 {
		t.Errorf("CPU %vs (%vµs per message) for 2000 messages, want more than 0", p.CPUSeconds, p.CPUPerMessage)
	}
	if rep.LoadToolCPUPerMessage <= 0 {
		t.Errorf("load tool CPU %vµs per message, want more than 0", rep.LoadToolCPUPerMessage)
	}
}

// TestRunObservesMoreProcesses observes a sleeping child process besides
// the test process; its CPU time is counted apart and in the total.
func TestRunObservesMoreProcesses(t *testing.T) {
	sim := startSim(t)
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Skipf("no sleep command to observe: %v", err)
	}
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	cfg := simConfig(sim)
	cfg.Messages = 500
	cfg.ObservePID = os.Getpid()
	cfg.AlsoObservePIDs = []int{child.Process.Pid}
	rep := run(t, cfg)
	if len(rep.Also) != 1 || rep.Also[0].PID != child.Process.Pid {
		t.Fatalf("also observed %+v, want pid %d", rep.Also, child.Process.Pid)
	}
	if rep.Also[0].PeakRSS <= 0 {
		t.Errorf("peak RSS of the child %d KiB, want more than 0", rep.Also[0].PeakRSS)
	}
	total, ok := rep.CPUPerMessage()
	want := rep.Process.CPUPerMessage + rep.Also[0].CPUPerMessage + rep.LoadToolCPUPerMessage
	if !ok || total != want {
		t.Errorf("CPUPerMessage() = %v, %v; want %v, true", total, ok, want)
	}
}

func TestRunAlsoObservedProcessMissing(t *testing.T) {
	sim := startSim(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command to get an ended process: %v", err)
	}
	cfg := simConfig(sim)
	cfg.AlsoObservePIDs = []int{cmd.Process.Pid}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "observe process") {
		t.Errorf("error %v, want one about the observed process", err)
	}
}

func TestRunObservedProcessMissing(t *testing.T) {
	sim := startSim(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command to get an ended process: %v", err)
	}
	cfg := simConfig(sim)
	cfg.ObservePID = cmd.Process.Pid
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "observe process") {
		t.Errorf("error %v, want one about the observed process", err)
	}
	if n := len(sim.Sessions()); n != 0 {
		t.Errorf("%d sessions bound; Run should fail before binding", n)
	}
}
