package loadgen

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of one run. Its JSON form is what `optgate bench
// -json` prints and what WriteMarkdownTable reads.
type Report struct {
	// Mode is "smpp" or "http".
	Mode string `json:"mode"`
	// Target is the SMPP address or the HTTP API URL.
	Target   string `json:"target"`
	SystemID string `json:"system_id,omitempty"`
	Binds    int    `json:"binds"`
	Window   int    `json:"window"`
	// TargetRate is the configured rate in messages a second; 0 means as
	// fast as possible.
	TargetRate float64 `json:"target_rate"`
	// Mix and OptedInPercent describe the messages sent.
	Mix            string `json:"mix"`
	OptedInPercent int    `json:"opted_in_percent"`
	Recipients     string `json:"recipients"`
	Senders        string `json:"senders"`

	// Warmup is the load sent before the measurement and left out of it.
	Warmup Seconds `json:"warmup_s"`
	// Elapsed runs from the first message started to the last response.
	Elapsed Seconds `json:"elapsed_s"`
	// Submitted counts messages started, Acked those whose every segment
	// the target accepted, and Failed the rest.
	Submitted int64 `json:"submitted"`
	Acked     int64 `json:"acked"`
	Failed    int64 `json:"failed"`
	// SubmittedPerSecond and AckedPerSecond divide the counts by Elapsed.
	SubmittedPerSecond float64 `json:"submitted_per_s"`
	AckedPerSecond     float64 `json:"acked_per_s"`
	// Segments counts the segments accepted: submit_sm_resp with ESME_ROK
	// over SMPP, or the segments the HTTP API reported.
	Segments int64 `json:"segments_acked"`
	// Receipts counts the delivery receipts received over SMPP when
	// receipts were requested.
	Receipts int64 `json:"receipts,omitempty"`
	// Errors counts the failed messages by the reason their first failed
	// segment got, most frequent first.
	Errors []ErrorCount `json:"errors"`
	// Latency summarizes the time from sending a message's first segment
	// to the response to its last, for acknowledged messages only.
	Latency LatencySummary `json:"latency"`
	// Process holds the CPU time and RSS of Config.ObservePID, or nil.
	Process *ProcessStats `json:"process,omitempty"`
	// Also holds the same for Config.AlsoObservePIDs, in their order.
	Also []ProcessStats `json:"also_processes,omitempty"`
	// LoadToolCPUPerMessage is the CPU time of the load tool's own process
	// during the measured run, in microseconds per acknowledged message.
	LoadToolCPUPerMessage float64 `json:"load_tool_cpu_us_per_msg"`
}

// CPUPerMessage returns the CPU time per acknowledged message, in
// microseconds, of the load tool and every observed process, and false
// when no process was observed.
func (r *Report) CPUPerMessage() (float64, bool) {
	if r.Process == nil {
		return 0, false
	}
	sum := r.Process.CPUPerMessage + r.LoadToolCPUPerMessage
	for _, p := range r.Also {
		sum += p.CPUPerMessage
	}
	return sum, true
}

// ErrorCount is the number of messages that failed for one reason.
type ErrorCount struct {
	// Reason names the failure: a command_status mnemonic, an optgate
	// error code over HTTP, or a client-side failure such as "response
	// timeout".
	Reason string `json:"reason"`
	// Status is the command_status in hex (SMPP) or the HTTP status, when
	// the target sent one.
	Status string `json:"status,omitempty"`
	Count  int64  `json:"count"`
	// Example is the first error message seen for the reason.
	Example string `json:"example,omitempty"`
}

// LatencySummary holds latency percentiles in milliseconds, read from a
// log-linear histogram with a relative error below 0.8%. Mean and Max are
// exact.
type LatencySummary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Seconds is a duration that JSON encodes as a number of seconds.
type Seconds float64

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

func summarize(h *Histogram) LatencySummary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return LatencySummary{
		Count: h.Count(),
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(h.Max()),
	}
}

// sortErrors orders the counts most frequent first, then by reason.
func sortErrors(errs []ErrorCount) {
	slices.SortFunc(errs, func(a, b ErrorCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	rate := "as fast as the window allows"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("target %g msg/s", r.TargetRate)
	}
	fmt.Fprintf(&b, "target     %s %s", r.Mode, r.Target)
	if r.SystemID != "" {
		fmt.Fprintf(&b, " (system_id %s)", r.SystemID)
	}
	fmt.Fprintf(&b, ", %d binds x window %d, %s\n", r.Binds, r.Window, rate)

	fmt.Fprintf(&b, "load       mix %s, %d%% of messages to opted-in recipients, %s to %s\n",
		r.Mix, r.OptedInPercent, r.Senders, r.Recipients)
	fmt.Fprintf(&b, "elapsed    %.2fs", float64(r.Elapsed))
	if r.Warmup > 0 {
		fmt.Fprintf(&b, " after a %gs warm-up", float64(r.Warmup))
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "messages   submitted %d (%.1f/s), acked %d (%.1f/s), failed %d\n",
		r.Submitted, r.SubmittedPerSecond, r.Acked, r.AckedPerSecond, r.Failed)
	fmt.Fprintf(&b, "segments   acked %d\n", r.Segments)
	if r.Receipts > 0 {
		fmt.Fprintf(&b, "receipts   %d\n", r.Receipts)
	}

	l := r.Latency
	fmt.Fprintf(&b, "latency    mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)\n",
		formatMillis(l.Mean), formatMillis(l.P50), formatMillis(l.P90), formatMillis(l.P99),
		formatMillis(l.P999), formatMillis(l.Max), l.Count)

	if p := r.Process; p != nil {
		fmt.Fprintf(&b, "process    pid %d: CPU %.2fs (%.0fµs per message), RSS %.1f MiB at start, peak %.1f MiB\n",
			p.PID, p.CPUSeconds, p.CPUPerMessage, float64(p.StartRSS)/1024, float64(p.PeakRSS)/1024)
	}
	for _, p := range r.Also {
		fmt.Fprintf(&b, "also       pid %d: CPU %.2fs (%.0fµs per message)\n", p.PID, p.CPUSeconds, p.CPUPerMessage)
	}
	fmt.Fprintf(&b, "load tool  CPU %.0fµs per message", r.LoadToolCPUPerMessage)
	if total, ok := r.CPUPerMessage(); ok {
		fmt.Fprintf(&b, "; with the observed processes %.0fµs", total)
	}
	b.WriteByte('\n')
	if len(r.Errors) == 0 {
		b.WriteString("errors     none\n")
	}
	for i, e := range r.Errors {
		label := "errors     "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(&b, "%s%d  %s", label, e.Count, e.Reason)
		if e.Status != "" {
			fmt.Fprintf(&b, " (%s)", e.Status)
		}
		if e.Example != "" {
			fmt.Fprintf(&b, ": %s", e.Example)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatMillis prints a latency in milliseconds with three significant
// digits.
func formatMillis(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}
