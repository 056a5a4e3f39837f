package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/loadgen"
	"github.com/optgate/optgate/smpp"
)

func init() {
	register("bench", "send SMPP or HTTP load to optgate or an SMSC and report throughput and latency",
		runBench)
}

const benchUsage = `Usage:
  optgate bench [flags]                              send load and print a report
  optgate bench table [-baseline NAME] NAME=FILE...  print a Markdown table of
                                                     reports written with -json

Binds -binds transceiver sessions to the SMPP -target, or posts to the HTTP
API at -http, with -window messages in flight per bind, and reports the
messages submitted and acknowledged per second, the failures by
command_status or API error code, and latency percentiles (p50, p90, p99,
p99.9, max) per message: from its first submit_sm to the response to its
last, or one POST /v1/messages.

Against optgate (the defaults):
  optgate bench -prepare -operator-token TOKEN -target 127.0.0.1:2775
Against the SMSC simulator:
  optgate bench -target 127.0.0.1:2776 -system-id optgate -password simpass
Over HTTP:
  optgate bench -http http://127.0.0.1:8080 -token demo-token

-prepare imports the opted-in share of the -to numbers (see -opted-in) into
optgate's consent store before the run: through POST /v1/consent/import
with the operator token, or with -store straight into an embedded store
file (optgate must not be running on it) or a redis:// URL.

Exit codes: 0 when messages were acknowledged, 1 when binding, the prepare
step or every message failed, 2 for a bad flag.

Flags:
`

// benchFlags are the flags of optgate bench.
type benchFlags struct {
	cfg                  loadgen.Config
	mix, from, to        string
	optedIn              int
	asJSON               bool
	prepare, prepareOnly bool
	store, keyPrefix     string
	api, operatorToken   string
	account              string
}

func newBenchFlags(stderr io.Writer) (*flag.FlagSet, *benchFlags) {
	smppDefault := config.Default().Listeners.SMPP.Addr
	fs := newFlagSet("bench", benchUsage, stderr)
	f := &benchFlags{}
	c := &f.cfg

	// The target.
	fs.StringVar(&c.Addr, "target", smppDefault, "SMPP `host:port` to bind to")
	fs.StringVar(&c.SystemID, "system-id", config.DemoSystemID, "system_id of the binds")
	fs.StringVar(&c.Password, "password", config.DemoPassword, "password of the binds")
	fs.StringVar(&c.HTTPURL, "http", "", "base `URL` of optgate's HTTP API; when set, the load goes over HTTP")
	fs.StringVar(&c.Token, "token", "", "API bearer `token` for -http (default env OPTGATE_TOKEN)")

	// The shape and length of the load.
	fs.IntVar(&c.Binds, "binds", loadgen.DefaultBinds, "number of SMPP binds")
	fs.IntVar(&c.Window, "window", loadgen.DefaultWindow,
		"messages in flight per bind; over HTTP, binds x window requests are in flight")
	fs.Float64Var(&c.Rate, "rate", 0, "target `messages per second` over all binds; 0 sends as fast as the window allows")
	fs.DurationVar(&c.Duration, "duration", loadgen.DefaultDuration,
		"how long to start new messages; 0 with -messages runs until the count is sent")
	fs.Int64Var(&c.Messages, "messages", 0, "stop after this many `messages`; 0 means no count")
	fs.DurationVar(&c.Warmup, "warmup", 0, "send the load for this long first, left out of the report")

	// The messages.
	fs.StringVar(&f.mix, "mix", loadgen.DefaultMix.String(),
		"message `mix` in percent: gsm7 (one GSM 7-bit segment), ucs2 (one UCS2 segment), long (three GSM 7-bit segments)")
	fs.IntVar(&f.optedIn, "opted-in", 100,
		"`percent` of the recipients -prepare opts in, and of the messages sent to them; the rest go to the others")
	fs.StringVar(&f.from, "from", loadgen.DefaultSenders, "sender `range` +FIRST-+LAST or one number, used in turn")
	fs.StringVar(&f.to, "to", loadgen.DefaultRecipients, "recipient `range` +FIRST-+LAST, drawn at random")

	// Responses, receipts and output.
	fs.BoolVar(&c.Receipts, "receipts", false, "request a delivery receipt per message and count those that arrive over SMPP")
	fs.DurationVar(&c.ReceiptWait, "receipt-wait", loadgen.DefaultReceiptWait,
		"with -receipts, longest wait for missing receipts after the last response")
	fs.DurationVar(&c.ResponseTimeout, "timeout", loadgen.DefaultResponseTimeout,
		"longest wait for each response and for the messages in flight at the end")
	fs.Uint64Var(&c.Seed, "seed", 1, "random `seed` for recipients and the mix")
	fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fs.IntVar(&c.ObservePID, "pid", 0,
		"report the CPU time and RSS during the run of this `process id`, such as optgate's (Linux only)")
	fs.Func("also-pids", "report the CPU time of these `process ids` too, comma-separated, such as the "+
		"simulator's behind optgate, and add it to the CPU time per message of the whole chain", func(s string) error {
		for field := range strings.SplitSeq(s, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(field))
			if err != nil || pid <= 0 {
				return fmt.Errorf("invalid process id %q", field)
			}
			c.AlsoObservePIDs = append(c.AlsoObservePIDs, pid)
		}
		return nil
	})

	// The prepare step.
	fs.BoolVar(&f.prepare, "prepare", false, "import the opted-in recipients before the run")
	fs.BoolVar(&f.prepareOnly, "prepare-only", false, "import the opted-in recipients and exit without a run")
	fs.StringVar(&f.store, "store", "",
		"for -prepare: embedded store `file` or redis:// URL to import into directly; default: the HTTP API")
	fs.StringVar(&f.keyPrefix, "key-prefix", "", "for -prepare into Redis: key `prefix`; empty means optgate's default, \"optgate:\"")
	fs.StringVar(&f.api, "api", "", "for -prepare over HTTP: API base `URL` (default: -http, or "+defaultAPI+")")
	fs.StringVar(&f.operatorToken, "operator-token", "",
		"for -prepare over HTTP: operator `token` (default env "+operatorTokenEnv+")")
	fs.StringVar(&f.account, "account", config.DemoAccountID, "for -prepare: account `id` the numbers opt in with")
	return fs, f
}

// runBench is the bench command.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "table" {
		return runBenchTable(args[1:], stdout, stderr)
	}
	fs, f := newBenchFlags(stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "optgate bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := f.resolve(); err != nil {
		fmt.Fprintf(stderr, "optgate bench: %v\n", err)
		return exitUsage
	}

	if f.prepare || f.prepareOnly {
		if err := f.runPrepare(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "optgate bench: prepare: %v\n", err)
			return exitFailure
		}
		if f.prepareOnly {
			return exitOK
		}
	}
	rep, err := loadgen.Run(ctx, f.cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "optgate bench: %v\n", err)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(stderr, "optgate bench: %v\n", err)
	}
	if err := writeReport(stdout, rep, f.asJSON); err != nil {
		fmt.Fprintf(stderr, "optgate bench: %v\n", err)
		return exitFailure
	}
	if rep.Acked == 0 {
		fmt.Fprintln(stderr, "optgate bench: no message was acknowledged")
		return exitFailure
	}
	return exitOK
}

// resolve checks the flags and fills the run configuration from them.
func (f *benchFlags) resolve() error {
	c := &f.cfg
	var err error
	if c.Mix, err = loadgen.ParseMix(f.mix); err != nil {
		return fmt.Errorf("-mix: %w", err)
	}
	if c.From, err = loadgen.ParseNumberRange(f.from); err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	if c.To, err = loadgen.ParseNumberRange(f.to); err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	if f.optedIn < 0 || f.optedIn > 100 {
		return fmt.Errorf("-opted-in %d is not a percentage from 0 to 100", f.optedIn)
	}
	c.OptedInPercent, c.NoneOptedIn = f.optedIn, f.optedIn == 0

	// -duration 0 with -messages means the count alone ends the run.
	if c.Duration == 0 && c.Messages <= 0 {
		return errors.New("-duration 0 needs -messages")
	}
	if c.Duration < 0 || c.Messages < 0 || c.Warmup < 0 {
		return errors.New("-duration, -messages and -warmup must not be negative")
	}
	if c.HTTPURL != "" {
		c.Addr = ""
		if c.Token == "" {
			c.Token = os.Getenv("OPTGATE_TOKEN")
		}
		if c.Token == "" {
			return errors.New("-http needs -token or OPTGATE_TOKEN")
		}
		if c.Receipts {
			return errors.New("-receipts works over SMPP only, because optgate sends the receipts of " +
				"HTTP messages to the account's delivery target, not to the load tool")
		}
	}
	if c.Binds < 1 || c.Binds > loadgen.MaxBinds {
		return fmt.Errorf("-binds %d is not between 1 and %d", c.Binds, loadgen.MaxBinds)
	}
	if c.Window < 1 || c.Window > loadgen.MaxWindow {
		return fmt.Errorf("-window %d is not between 1 and %d", c.Window, loadgen.MaxWindow)
	}
	if c.Rate < 0 {
		return fmt.Errorf("-rate %g is negative", c.Rate)
	}
	if c.ObservePID < 0 {
		return fmt.Errorf("-pid %d is negative", c.ObservePID)
	}
	c.StatusName = statusName

	if f.api == "" {
		f.api = c.HTTPURL
	}
	if f.api == "" {
		f.api = defaultAPI
	}
	if f.operatorToken == "" {
		f.operatorToken = os.Getenv(operatorTokenEnv)
	}
	if (f.prepare || f.prepareOnly) && f.store == "" && f.operatorToken == "" {
		return errors.New("-prepare over the HTTP API needs -operator-token or " + operatorTokenEnv +
			"; or give -store to import into the store directly")
	}
	return nil
}

// runPrepare imports the opted-in recipients and prints what changed.
func (f *benchFlags) runPrepare(ctx context.Context, stdout io.Writer) error {
	numbers := loadgen.OptedInNumbers(f.cfg.To, f.cfg.OptedInPercent)
	if len(numbers) == 0 {
		return nil
	}

	start := time.Now()
	var res loadgen.PrepareResult
	var err error
	where := f.store
	switch {
	case f.store == "":
		where = f.api
		res, err = loadgen.PrepareHTTP(ctx, f.api, f.operatorToken, f.account, numbers)
	case strings.HasPrefix(f.store, "redis://"), strings.HasPrefix(f.store, "rediss://"),
		strings.HasPrefix(f.store, "unix://"):
		where = "redis"
		res, err = loadgen.PrepareRedis(ctx, f.store, f.keyPrefix, f.account, numbers)
	default:
		res, err = loadgen.PrepareBolt(ctx, f.store, f.account, numbers)
	}
	if err != nil {
		return err
	}

	out := stdout
	if f.asJSON && !f.prepareOnly {
		// Keep stdout one JSON document.
		out = io.Discard
	}
	fmt.Fprintf(out, "prepared %d opted-in numbers for account %s in %s via %s: %d applied, %d unchanged\n",
		res.Numbers, f.account, time.Since(start).Round(time.Millisecond), where, res.Applied, res.Skipped)
	return nil
}

func writeReport(w io.Writer, rep *loadgen.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// vendorStatusNames maps optgate's own command_status values (the vendor
// range 0x400-0x4FF of SMPP 3.4 section 5.1.3) to their error codes.
var vendorStatusNames = func() map[smpp.CommandStatus]string {
	m := map[smpp.CommandStatus]string{}
	for _, code := range gateway.Codes {
		if s := gateway.StatusFor(code).SMPP; s >= 0x400 && s <= 0x4FF {
			m[s] = string(code)
		}
	}
	return m
}()

// statusName names a command_status in reports: optgate's error code for
// its own statuses, the SMPP 3.4 mnemonic for the others.
func statusName(s smpp.CommandStatus) string {
	if name, ok := vendorStatusNames[s]; ok {
		return name
	}
	return s.String()
}

const benchTableUsage = `Usage: optgate bench table [-baseline NAME] NAME=FILE...

Prints a Markdown table with one row per report that optgate bench -json
wrote to FILE, in the order given, with the ratio of each scenario's
acknowledged messages per second to the baseline's.

Flags:
`

func runBenchTable(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench table", benchTableUsage, stderr)
	baseline := fs.String("baseline", "", "`name` of the scenario the ratios compare with; empty leaves them out")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "optgate bench table: give at least one NAME=FILE")
		return exitUsage
	}
	var reports []loadgen.NamedReport
	for _, arg := range fs.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok || name == "" || path == "" {
			fmt.Fprintf(stderr, "optgate bench table: %q is not NAME=FILE\n", arg)
			return exitUsage
		}
		rep, err := readReport(path)
		if err != nil {
			fmt.Fprintf(stderr, "optgate bench table: %v\n", err)
			return exitFailure
		}
		reports = append(reports, loadgen.NamedReport{Name: name, Report: rep})
	}
	if err := loadgen.WriteMarkdownTable(stdout, reports, *baseline); err != nil {
		fmt.Fprintf(stderr, "optgate bench table: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func readReport(path string) (*loadgen.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep loadgen.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return &rep, nil
}
