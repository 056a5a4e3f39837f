package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleReport(acked int64, perSecond float64) *Report {
	var h Histogram
	for i := range 100 {
		h.Record(time.Duration(i+1) * time.Millisecond)
	}
	return &Report{
		Mode: "smpp", Target: "127.0.0.1:2775", SystemID: "demo", Binds: 2, Window: 10,
		Mix: "gsm7=100", OptedInPercent: 90, Senders: "+18005550100", Recipients: "+12015550000-+12015559999",
		Elapsed: 10, Submitted: acked + 5, Acked: acked, Failed: 5, Segments: acked,
		SubmittedPerSecond: perSecond, AckedPerSecond: perSecond,
		Errors: []ErrorCount{
			{Reason: "no_consent", Status: "0x00000400", Count: 4},
			{Reason: "response timeout", Count: 1},
		},
		Latency: summarize(&h),
	}
}

func TestSummarize(t *testing.T) {
	l := sampleReport(1, 1).Latency
	want := LatencySummary{Count: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, P999: 100, Max: 100}
	// Percentiles come from buckets less than 0.8% wide.
	near := func(got, want float64) bool { return got >= want && got <= want*1.008 }
	if l.Count != want.Count || l.Mean != want.Mean || l.Max != want.Max {
		t.Errorf("count %d mean %v max %v, want %d %v %v", l.Count, l.Mean, l.Max, want.Count, want.Mean, want.Max)
	}
	for _, p := range []struct {
		name      string
		got, want float64
	}{{"p50", l.P50, want.P50}, {"p90", l.P90, want.P90}, {"p99", l.P99, want.P99}, {"p99.9", l.P999, want.P999}} {
		if !near(p.got, p.want) {
			t.Errorf("%s = %vms, want %vms", p.name, p.got, p.want)
		}
	}
}

func TestReportWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport(995, 99.5).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	rep := sampleReport(995, 99.5)
	rep.Process = &ProcessStats{PID: 42, CPUSeconds: 2, CPUPerMessage: 2010, StartRSS: 2048, PeakRSS: 4096}
	rep.Also = []ProcessStats{{PID: 43, CPUSeconds: 0.5, CPUPerMessage: 502}}
	rep.LoadToolCPUPerMessage = 100
	b.Reset()
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, want := range []string{
		"process    pid 42: CPU 2.00s (2010µs per message), RSS 2.0 MiB at start, peak 4.0 MiB",
		"also       pid 43: CPU 0.50s (502µs per message)",
		"load tool  CPU 100µs per message; with the observed processes 2612µs",
		"target     smpp 127.0.0.1:2775 (system_id demo), 2 binds x window 10, as fast as the window allows",
		"90% of messages to opted-in recipients",
		"messages   submitted 1000 (99.5/s), acked 995 (99.5/s), failed 5",
		"latency    mean 50.5ms  p50 50.",
		"max 100ms  (n=100)",
		"errors     4  no_consent (0x00000400)",
		"           1  response timeout",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	rep := sampleReport(10, 1)
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"acked_per_s":1`, `"p99_9_ms":`, `"elapsed_s":10`, `"reason":"no_consent"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, data)
		}
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Acked != rep.Acked || back.Latency != rep.Latency || len(back.Errors) != 2 {
		t.Errorf("round trip changed the report: %+v", back)
	}
}

func TestWriteMarkdownTable(t *testing.T) {
	direct := sampleReport(5000, 500)
	direct.Failed, direct.Errors = 0, nil
	embedded := sampleReport(2500, 250)
	embedded.Process = &ProcessStats{PID: 42, CPUSeconds: 1.5, CPUPerMessage: 600}
	embedded.Also = []ProcessStats{{PID: 43, CPUPerMessage: 250}, {PID: 44, CPUPerMessage: 100}}
	embedded.LoadToolCPUPerMessage = 50
	reports := []NamedReport{
		{Name: "direct", Report: direct},
		{Name: "optgate | embedded", Report: embedded},
	}
	var b bytes.Buffer
	if err := WriteMarkdownTable(&b, reports, "direct"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want a header, a separator and 2 rows:\n%s", len(lines), b.String())
	}
	if !strings.HasPrefix(lines[0], "| scenario | binds x window | acked msg/s | vs direct | p50 ms |") {
		t.Errorf("header %q", lines[0])
	}
	if strings.Count(lines[1], "|") != strings.Count(lines[0], "|") {
		t.Errorf("separator %q does not match the header's columns", lines[1])
	}
	if !strings.HasPrefix(lines[2], "| direct | 2 x 10 | 500 | 1.00 | 50.") || !strings.HasSuffix(lines[2], "| 5000 | 0 | - | - |") {
		t.Errorf("baseline row %q", lines[2])
	}
	if !strings.HasPrefix(lines[3], `| optgate \| embedded | 2 x 10 | 250 | 0.50 |`) ||
		!strings.HasSuffix(lines[3], "| 2500 | 5 (no_consent, ...) | 600 | 1000 |") {
		t.Errorf("second row %q", lines[3])
	}

	b.Reset()
	if err := WriteMarkdownTable(&b, reports, "missing"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 500 | n/a |") {
		t.Errorf("a missing baseline should give n/a ratios:\n%s", b.String())
	}
	b.Reset()
	if err := WriteMarkdownTable(&b, reports, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), " vs ") {
		t.Errorf("no baseline should leave the ratio column out:\n%s", b.String())
	}
}
