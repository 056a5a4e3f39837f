package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

func init() {
	register("smsc-sim", "run the SMSC simulator, or inject MO and list messages through its control endpoint",
		runSMSCSim)
}

const smscSimUsage = `Usage:
  optgate smsc-sim [flags]                  run the SMSC simulator until SIGINT or SIGTERM
  optgate smsc-sim inject [flags]           send an MO to the ESME bound to a running simulator
  optgate smsc-sim messages [flags]         print the messages a running simulator received
  optgate smsc-sim behaviour [flags] [JSON] print, or change with a JSON object, the behaviour
                                            and rules of a running simulator

The simulator logs phone numbers unmasked: it is a test tool.
Run 'optgate smsc-sim SUBCOMMAND -h' for the flags of a subcommand.

Flags of the simulator:
`

// shutdownTimeout bounds the simulator's graceful stop after a signal.
const shutdownTimeout = 5 * time.Second

// runSMSCSim runs the simulator or one of its client subcommands.
func runSMSCSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "inject":
			return runSMSCSimInject(ctx, args[1:], stdout, stderr)
		case "messages":
			return runSMSCSimMessages(ctx, args[1:], stdout, stderr)
		case "behaviour", "behavior":
			return runSMSCSimBehaviour(ctx, args[1:], stdout, stderr)
		}
	}
	return runSMSCSimServer(ctx, args, stdout, stderr)
}

func runSMSCSimServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := config.Default().Listeners.Simulator
	fs := newFlagSet("smsc-sim", smscSimUsage, stderr)
	addr := fs.String("addr", def.Addr, "SMPP `host:port` to listen on")
	control := fs.String("control", smscsim.DefaultControlAddr,
		"HTTP control endpoint `host:port`; empty disables it")
	systemID := fs.String("system-id", def.SystemID, "system_id a bind must carry; empty accepts any")
	password := fs.String("password", def.Password, "password a bind must carry; empty accepts any")
	receiptDelay := fs.Duration("receipt-delay", def.ReceiptDelay,
		"time from the submit_sm_resp to the delivery receipt")
	idFormat := fs.String("id-format", string(smscsim.IDDecimal),
		"message id `format` in submit_sm_resp: decimal, hex, hex_padded or alphanumeric")
	receiptIDFormat := fs.String("receipt-id-format", "",
		"message id `format` in receipts; default: the -id-format")
	receiptFirst := fs.Bool("receipt-first", false, "send each receipt before its submit_sm_resp")
	receiptState := fs.String("receipt-state", "DELIVRD",
		"final `state` receipts report: DELIVRD, UNDELIV, EXPIRED, DELETED, REJECTD or ACCEPTD")
	throttle := fs.Float64("throttle", 0,
		"most submits a `second` accepted; more get ESME_RTHROTTLED; 0 means no limit")
	debug := fs.Bool("debug", false, "log every PDU")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "optgate smsc-sim: unknown subcommand %q\n", fs.Arg(0))
		return exitUsage
	}

	state, ok := smpp.ParseMessageState(*receiptState)
	if !ok {
		fmt.Fprintf(stderr, "optgate smsc-sim: invalid -receipt-state %q\n", *receiptState)
		return exitUsage
	}
	logger := newSimLogger(stderr, *debug)
	defer logger.Sync()
	cfg := smscsim.Config{
		Addr:        *addr,
		ControlAddr: *control,
		SystemID:    *systemID,
		Password:    *password,
		Logger:      logger,
		Behaviour: smscsim.Behaviour{
			ResponseIDFormat: smscsim.IDFormat(*idFormat),
			ReceiptIDFormat:  smscsim.IDFormat(*receiptIDFormat),
			ReceiptDelay:     *receiptDelay,
			ReceiptFirst:     *receiptFirst,
			ReceiptState:     state,
			Throttle:         *throttle,
		},
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim: %v\n", err)
		return exitUsage
	}
	sim := smscsim.New(cfg)
	if err := sim.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "smsc simulator listening on %s (SMPP)", sim.Addr())
	if u := sim.ControlURL(); u != "" {
		fmt.Fprintf(stdout, ", control endpoint %s", u)
	}
	fmt.Fprintln(stdout)

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := sim.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// newSimLogger returns a console logger on w.
func newSimLogger(w io.Writer, debug bool) *zap.Logger {
	level := zapcore.InfoLevel
	if debug {
		level = zapcore.DebugLevel
	}
	enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core).Named("smscsim")
}

const smscSimInjectUsage = `Usage: optgate smsc-sim inject [flags]

Sends an MO through the control endpoint of a running simulator to a bound
ESME and prints the command_status of its deliver_sm_resp. The exit code is
0 for ESME_ROK and 1 for any other status or failure.

Flags:
`

func runSMSCSimInject(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("smsc-sim inject", smscSimInjectUsage, stderr)
	controlURL := fs.String("control", "http://"+smscsim.DefaultControlAddr, "control endpoint `URL`")
	from := fs.String("from", "", "handset `number` the MO comes from, such as +12015550101 (required)")
	to := fs.String("to", "", "`number` the MO is sent to, such as +18005550100 (required)")
	text := fs.String("text", "", "message text")
	coding := fs.Int("data-coding", -1, "data_coding `value` to send; -1 picks the smallest")
	split := fs.String("split", "udh", "how a long text travels: udh, udh16, sar or payload")
	systemID := fs.String("system-id", "", "system_id of the ESME session to use; default: any receiver")
	timeout := fs.Duration("timeout", 30*time.Second, "time to wait for the ESME's response")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(stderr, "optgate smsc-sim inject: -from and -to are required")
		return exitUsage
	}
	if *coding < -1 || *coding > 255 {
		fmt.Fprintf(stderr, "optgate smsc-sim inject: -data-coding %d is not between 0 and 255\n", *coding)
		return exitUsage
	}
	if _, err := smscsim.ParseSplitMode(*split); err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim inject: %v\n", err)
		return exitUsage
	}

	req := smscsim.InjectRequest{From: *from, To: *to, Text: *text, Split: *split, SystemID: *systemID}
	if *coding >= 0 {
		dc := uint8(*coding)
		req.DataCoding = &dc
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cc := &smscsim.ControlClient{BaseURL: *controlURL}
	resp, err := cc.Inject(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim inject: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s (0x%08x)\n", resp.StatusName, uint32(resp.Status))
	if resp.Status != smpp.StatusOK {
		return exitFailure
	}
	return exitOK
}

const smscSimMessagesUsage = `Usage: optgate smsc-sim messages [flags]

Prints the messages a running simulator received, oldest first, with their
decoded text.

Flags:
`

func runSMSCSimMessages(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("smsc-sim messages", smscSimMessagesUsage, stderr)
	controlURL := fs.String("control", "http://"+smscsim.DefaultControlAddr, "control endpoint `URL`")
	asJSON := fs.Bool("json", false, "print the messages as JSON")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	cc := &smscsim.ControlClient{BaseURL: *controlURL}
	msgs, err := cc.Messages(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim messages: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(msgs); err != nil {
			fmt.Fprintf(stderr, "optgate smsc-sim messages: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	writeMessages(stdout, msgs)
	return exitOK
}

// writeMessages prints msgs as a table, one line each.
func writeMessages(w io.Writer, msgs []smscsim.Message) {
	if len(msgs) == 0 {
		fmt.Fprintln(w, "no messages")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSYSTEM_ID\tFROM\tTO\tCODING\tPART\tSTATUS\tID\tTEXT")
	for _, m := range msgs {
		part := "-"
		if m.Part.Total > 0 {
			part = fmt.Sprintf("%d/%d", m.Part.Seq, m.Part.Total)
		}
		status := m.Status.String()
		if m.Dropped {
			status = "dropped"
		}
		text := m.Text
		if m.TextError != "" {
			text = "(" + m.TextError + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t0x%02x\t%s\t%s\t%s\t%q\n",
			m.Seq, m.Time.Format(time.TimeOnly), m.SystemID, m.Source, strings.Join(m.Destinations, ","),
			uint8(m.DataCoding), part, status, m.ID, text)
	}
	tw.Flush()
}

const smscSimBehaviourUsage = `Usage: optgate smsc-sim behaviour [flags] [JSON]

Prints the behaviour and rules of a running simulator or, given a JSON
object, changes them first. Fields left out keep their value, for example
  optgate smsc-sim behaviour '{"throttle": 5, "receipt_state": "UNDELIV"}'
  optgate smsc-sim behaviour '{"add_rules": [{"count": 3, "status": "0x58"}]}'

Flags:
`

func runSMSCSimBehaviour(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("smsc-sim behaviour", smscSimBehaviourUsage, stderr)
	controlURL := fs.String("control", "http://"+smscsim.DefaultControlAddr, "control endpoint `URL`")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "optgate smsc-sim behaviour: give the JSON object as one argument; quote it")
		return exitUsage
	}
	patch := []byte(fs.Arg(0))
	if len(patch) > 0 && !json.Valid(patch) {
		fmt.Fprintf(stderr, "optgate smsc-sim behaviour: the argument is not valid JSON: %s\n", patch)
		return exitUsage
	}
	cc := &smscsim.ControlClient{BaseURL: *controlURL}
	state, err := cc.Behaviour(ctx, patch)
	if err != nil {
		fmt.Fprintf(stderr, "optgate smsc-sim behaviour: %v\n", err)
		var ce *smscsim.ControlError
		if errors.As(err, &ce) && ce.StatusCode == 400 {
			return exitUsage
		}
		return exitFailure
	}
	stdout.Write(state)
	if len(state) > 0 && state[len(state)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	return exitOK
}
