package loadgen

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWatchProcessSelf(t *testing.T) {
	w, err := watchProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Use at least 50ms of CPU, five ticks of /proc's 10ms clock.
	begin, sum := time.Now(), 0
	for time.Since(begin) < 50*time.Millisecond {
		for i := range 100_000 {
			sum += i
		}
	}

	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = byte(i + sum)
	}
	time.Sleep(2 * rssInterval)
	runtime.KeepAlive(buf)

	st := w.finish(100)
	if st.PID != os.Getpid() {
		t.Errorf("PID %d, want %d", st.PID, os.Getpid())
	}
	if st.CPUSeconds <= 0 {
		t.Errorf("CPU %vs after a busy loop, want more than 0", st.CPUSeconds)
	}
	if st.CPUPerMessage != st.CPUSeconds*1e6/100 {
		t.Errorf("CPU per message %vµs, want %vµs", st.CPUPerMessage, st.CPUSeconds*1e6/100)
	}
	if st.StartRSS <= 0 || st.PeakRSS < st.StartRSS+16<<10 {
		t.Errorf("RSS %d KiB at start and peak %d KiB, want the 32 MiB buffer to show", st.StartRSS, st.PeakRSS)
	}
}

func TestWatchProcessGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no true command to get an ended process: %v", err)
	}
	_, err := watchProcess(cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), "observe process") {
		t.Errorf("watching an ended process: error %v, want one naming the process", err)
	}
}

func TestParseProcStat(t *testing.T) {
	// The kernel writes the command name in parentheses, and it may hold
	// spaces and parentheses itself.
	line := "1234 (a b) c)) S 1 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10\n"
	got, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want { // (250 + 50) ticks at 100 a second
		t.Errorf("CPU %v, want %v", got, want)
	}
	if _, err := parseProcStat([]byte("1234 no parentheses")); err == nil {
		t.Error("a line without a command name parsed")
	}
	if _, err := parseProcStat([]byte("1234 (x) S 1 2")); err == nil {
		t.Error("a short line parsed")
	}
}
