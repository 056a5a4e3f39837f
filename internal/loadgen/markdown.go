package loadgen

import (
	"fmt"
	"io"
	"strings"
)

// NamedReport is a report with the name of its scenario.
type NamedReport struct {
	Name   string
	Report *Report
}

// WriteMarkdownTable writes a Markdown table with one row per report:
// acknowledged messages a second, their ratio to the report named
// baseline, the latency percentiles, the failed messages, the observed
// process's CPU time per message, and the CPU time per message of the load
// tool and every observed process together ("-" without an observed
// process). The ratio column is
// left out when baseline is empty, and shows "n/a" when no report has
// that name or its rate is 0.
func WriteMarkdownTable(w io.Writer, reports []NamedReport, baseline string) error {
	var base *Report
	for _, nr := range reports {
		if nr.Name == baseline {
			base = nr.Report
		}
	}
	var b strings.Builder
	b.WriteString("| scenario | binds x window | acked msg/s |")
	sep := "|---|---|---:|"
	if baseline != "" {
		fmt.Fprintf(&b, " vs %s |", escapeCell(baseline))
		sep += "---:|"
	}
	b.WriteString(" p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | acked | failed | CPU µs/msg | all CPU µs/msg |\n")
	b.WriteString(sep + "---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, nr := range reports {
		r := nr.Report
		fmt.Fprintf(&b, "| %s | %d x %d | %.0f |", escapeCell(nr.Name), r.Binds, r.Window, r.AckedPerSecond)
		if baseline != "" {
			if base != nil && base.AckedPerSecond > 0 {
				fmt.Fprintf(&b, " %.2f |", r.AckedPerSecond/base.AckedPerSecond)
			} else {
				b.WriteString(" n/a |")
			}
		}
		l := r.Latency
		cpu, all := "-", "-"
		if total, ok := r.CPUPerMessage(); ok {
			cpu, all = fmt.Sprintf("%.0f", r.Process.CPUPerMessage), fmt.Sprintf("%.0f", total)
		}
		fmt.Fprintf(&b, " %s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
			cellMillis(l.P50), cellMillis(l.P90), cellMillis(l.P99), cellMillis(l.P999), cellMillis(l.Max),
			r.Acked, failedCell(r), cpu, all)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cellMillis(ms float64) string {
	if ms >= 100 {
		return fmt.Sprintf("%.0f", ms)
	}
	if ms >= 10 {
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.2f", ms)
}

// failedCell returns the failed count with its most frequent reason.
func failedCell(r *Report) string {
	if r.Failed == 0 || len(r.Errors) == 0 {
		return fmt.Sprint(r.Failed)
	}
	top := r.Errors[0].Reason
	if len(r.Errors) > 1 {
		top += ", ..."
	}
	return fmt.Sprintf("%d (%s)", r.Failed, escapeCell(top))
}

// escapeCell keeps a value from ending its table cell.
func escapeCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
