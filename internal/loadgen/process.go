package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessStats are the CPU time and memory of one process on the same
// machine, such as the optgate daemon or the SMSC simulator, during the
// measured run, read from Linux's /proc.
type ProcessStats struct {
	PID int `json:"pid"`
	// CPUSeconds is the user and system CPU time the process used during
	// the measured run, and CPUPerMessage the same in microseconds per
	// acknowledged message.
	CPUSeconds    float64 `json:"cpu_s"`
	CPUPerMessage float64 `json:"cpu_us_per_msg"`
	// StartRSS and PeakRSS are the resident set size (VmRSS) at the start
	// of the measured run and the largest one sampled during it, in KiB.
	StartRSS int64 `json:"start_rss_kib"`
	PeakRSS  int64 `json:"peak_rss_kib"`
}

// clockTicks is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 a second for user space on every architecture
// Go supports (see proc(5) and sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// rssInterval is the time between samples of the observed process's RSS.
const rssInterval = 100 * time.Millisecond

// processCPU returns the user plus system CPU time of the process, from
// /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, err := parseProcStat(data)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return d, nil
}

// parseProcStat returns the sum of utime and stime, fields 14 and 15 of a
// /proc/PID/stat line (proc(5)).
func parseProcStat(data []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces,
	// so the fields are counted from the last ')'.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("no command name in %.100q", data)
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid CPU time %q", f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// selfCPU returns the user plus system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processRSS returns the resident set size of the process in KiB, from
// the VmRSS line of /proc/PID/status.
func processRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		value, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status: invalid VmRSS %q", pid, value)
		}
		return kib, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS line", pid)
}

// processWatch observes a process during the measured run.
type processWatch struct {
	pid      int
	startCPU time.Duration
	stats    ProcessStats
	stop     chan struct{}
	wg       sync.WaitGroup
}

// watchProcess reads the process's CPU time and RSS and samples its RSS
// until finish, which must be called. It fails when /proc has no such
// process.
func watchProcess(pid int) (*processWatch, error) {
	cpu, err := processCPU(pid)
	if err != nil {
		return nil, fmt.Errorf("observe process %d: %w", pid, err)
	}
	rss, err := processRSS(pid)
	if err != nil {
		return nil, fmt.Errorf("observe process %d: %w", pid, err)
	}
	w := &processWatch{
		pid:      pid,
		startCPU: cpu,
		stats:    ProcessStats{PID: pid, StartRSS: rss, PeakRSS: rss},
		stop:     make(chan struct{}),
	}
	w.wg.Go(w.sample)
	return w, nil
}

func (w *processWatch) sample() {
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		if rss, err := processRSS(w.pid); err == nil {
			w.stats.PeakRSS = max(w.stats.PeakRSS, rss)
		}
	}
}

// finish stops the sampling and returns the process's statistics for acked
// messages. A process that ended during the run keeps the CPU time of the
// start, so CPUSeconds is 0.
func (w *processWatch) finish(acked int64) *ProcessStats {
	close(w.stop)
	w.wg.Wait()
	st := w.stats
	if rss, err := processRSS(w.pid); err == nil {
		st.PeakRSS = max(st.PeakRSS, rss)
	}
	if cpu, err := processCPU(w.pid); err == nil {
		st.CPUSeconds = (cpu - w.startCPU).Seconds()
	}
	if acked > 0 {
		st.CPUPerMessage = st.CPUSeconds * 1e6 / float64(acked)
	}
	return &st
}
