package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/optgate/optgate/config"
)

func init() {
	register("config", "check a configuration file or print the default one", runConfig)
	register("hash-password", "hash a password read from stdin for the configuration",
		hashPasswordCommand(os.Stdin))
}

const configUsage = `Usage:
  optgate config check FILE     validate FILE; print ok and any warnings,
                                or every error one per line (exit 2)
  optgate config print-default  write the configuration used without a file
`

// runConfig dispatches the config subcommands.
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, configUsage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runConfigCheck(ctx, args[1:], stdout, stderr)
	case "print-default":
		return runConfigPrintDefault(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		io.WriteString(stdout, configUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "optgate config: unknown subcommand %q\n%s", args[0], configUsage)
	return exitUsage
}

// newFlagSet returns a flag set that reports to stderr and lets the caller
// choose the exit code.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns the exit code to stop with, or -1 to
// go on. -h prints the usage to stdout and stops with exitOK. A bad flag
// prints the error and the usage to stderr and stops with exitUsage.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) int {
	// The flag package prints the usage itself on -h and on errors, but
	// always to one writer, so the usage is printed here instead.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		usage()
		return exitOK
	case err != nil:
		usage()
		return exitUsage
	}
	return -1
}

func runConfigCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config check", "Usage: optgate config check FILE\n\n"+
		"Validates FILE. Prints ok and any warnings to stdout, or every error to stderr,\n"+
		"one per line, and exits with 2. With "+operatorTokenEnv+" set, a FILE that\n"+
		"sets operator.token_hash too is an error, as for optgate run.\n", stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "optgate config check: expected exactly one FILE argument")
		return exitUsage
	}

	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return exitUsage
	}
	if err := operatorTokenClash(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Arg(0), err)
		return exitUsage
	}
	fmt.Fprintln(stdout, "ok")
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return exitOK
}

// operatorTokenClash returns the error that stops optgate run when the
// operator's token is set both as operator.token_hash in cfg and in the
// environment.
func operatorTokenClash(cfg *config.Config) error {
	if cfg.Operator.TokenHash == "" || os.Getenv(operatorTokenEnv) == "" {
		return nil
	}
	return fmt.Errorf("operator.token_hash: the operator token is set twice, here and in %s, "+
		"so optgate run would exit with 2. Set only one of them", operatorTokenEnv)
}

const defaultHeader = `# optgate configuration: the defaults used when optgate runs without a file.
# The demo account and the simulator carrier are for local trials only; their
# credentials are public. Check an edited copy with: optgate config check FILE
`

func runConfigPrintDefault(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config print-default", "Usage: optgate config print-default\n\n"+
		"Writes the configuration used without a file, as YAML, to stdout.\n", stderr)
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "optgate config print-default: expected no arguments")
		return exitUsage
	}
	if _, err := io.WriteString(stdout, defaultHeader); err != nil {
		fmt.Fprintln(stderr, "optgate config print-default:", err)
		return exitFailure
	}
	if err := config.Default().WriteYAML(stdout); err != nil {
		fmt.Fprintln(stderr, "optgate config print-default:", err)
		return exitFailure
	}
	return exitOK
}

// maxPasswordLine bounds the line hash-password reads.
const maxPasswordLine = 4096

// smppPasswordMax is the longest bind password SMPP 3.4 section 4.1.1
// allows: 9 octets including the terminating NUL.
const smppPasswordMax = 8

// hashPasswordCommand returns the hash-password command reading from stdin.
func hashPasswordCommand(stdin io.Reader) commandFunc {
	return func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet("hash-password", "Usage: optgate hash-password [-sip-user NAME]\n\n"+
			"Reads a password from the first line of stdin and prints its bcrypt hash, for\n"+
			"esme password_hash and api_tokens hash. With -sip-user it prints the digest\n"+
			"H(A1) for a sip_trunks password_ha1 instead. Example:\n"+
			"  printf '%s\\n' \"$PASSWORD\" | optgate hash-password\n\nFlags:\n", stderr)
		sipUser := fs.String("sip-user", "", "SIP digest user `name`; prints H(A1) instead of bcrypt")
		realm := fs.String("realm", "optgate", "SIP digest `realm`, used with -sip-user")
		algorithm := fs.String("algorithm", config.DigestMD5,
			"SIP digest `algorithm`, MD5 or SHA-256, used with -sip-user")
		if code := parseFlags(fs, args, stdout); code >= 0 {
			return code
		}
		if fs.NArg() != 0 {
			fmt.Fprintln(stderr, "optgate hash-password: expected no arguments; "+
				"the password is read from stdin")
			return exitUsage
		}

		promptIfTerminal(stdin, stderr)
		password, err := readPasswordLine(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "optgate hash-password:", err)
			return exitFailure
		}
		if password == "" {
			fmt.Fprintln(stderr, "optgate hash-password: no password on stdin")
			return exitUsage
		}

		var hash string
		if *sipUser != "" {
			hash, err = config.DigestHA1(*algorithm, *sipUser, *realm, password)
		} else {
			hash, err = config.HashPassword(password)
			if err == nil && len(password) > smppPasswordMax {
				fmt.Fprintf(stderr, "note: SMPP 3.4 bind passwords have at most %d characters, "+
					"so this hash fits only an API token\n", smppPasswordMax)
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "optgate hash-password:", err)
			return exitUsage
		}
		fmt.Fprintln(stdout, hash)
		return exitOK
	}
}

// readPasswordLine returns the first line of r without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine), maxPasswordLine).
		ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) == maxPasswordLine {
		return "", fmt.Errorf("password line is longer than %d bytes", maxPasswordLine)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// promptIfTerminal prints a password prompt to stderr when stdin is a
// terminal. The typed password stays visible, because hiding it needs a
// terminal library.
func promptIfTerminal(stdin io.Reader, stderr io.Writer) {
	f, ok := stdin.(*os.File)
	if !ok {
		return
	}
	if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(stderr, "password (shown as you type): ")
	}
}
