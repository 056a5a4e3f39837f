package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/sip"
)

func init() {
	register("run", "run the daemon until SIGTERM or SIGINT", runDaemon)
}

// operatorTokenEnv names the environment variable that holds the bearer
// token of the HTTP API's operator endpoints.
const operatorTokenEnv = "OPTGATE_OPERATOR_TOKEN"

const runUsage = `Usage: optgate run [-config FILE] [-shutdown-timeout DURATION]

Runs the optgate daemon. Without -config it runs the built-in configuration
(see 'optgate config print-default'): listeners on 127.0.0.1, the embedded
store under ./data, the built-in SMSC simulator as the only carrier and the
demo account, whose public credentials 'go doc
github.com/optgate/optgate/config DemoAccountID' lists.

Signals: SIGTERM or SIGINT stops optgate gradually (a second one ends it at
once) and exits with 0. SIGHUP reads FILE again and applies its account
settings without dropping binds; changes to listeners, the store, carriers
and logging need a restart.

Environment: ` + operatorTokenEnv + ` sets the bearer token of the HTTP
API's operator endpoints, such as POST /v1/reload. The configuration's
operator.token_hash, a bcrypt hash of the token, is the alternative; set
only one, or run exits with 2. Neither set: no operator access.

Exit codes: 0 after a graceful stop, 1 when a listener, store or the stop
failed, 2 for a bad flag or configuration.

Flags:
`

// runDaemon is the run command.
func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runUsage, stderr)
	configPath := fs.String("config", "", "configuration `file`; default: the built-in configuration")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second,
		"longest `duration` of a graceful stop before the rest is closed at once")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "optgate run: expected no arguments; give the configuration with -config FILE")
		return exitUsage
	}
	if *shutdownTimeout <= 0 {
		fmt.Fprintln(stderr, "optgate run: -shutdown-timeout must be positive")
		return exitUsage
	}

	cfg, err := loadRunConfig(*configPath)
	if err != nil {
		printConfigError(stderr, err)
		return exitUsage
	}
	logger, err := newLogger(cfg.Logging, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "optgate run:", err)
		return exitUsage
	}
	defer func() { _ = logger.Sync() }()
	return serve(ctx, cfg, *configPath, *shutdownTimeout, logger)
}

// loadRunConfig reads the configuration file, or returns the built-in
// configuration for an empty path.
func loadRunConfig(path string) (*config.Config, error) {
	if path == "" {
		cfg := config.Default()
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	}
	return config.Load(path)
}

// printConfigError writes every configuration problem on its own line.
func printConfigError(w io.Writer, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, "optgate run:", err)
}

// serve runs the daemon until ctx ends or a listener fails, reloading on
// SIGHUP, and returns the exit code.
func serve(ctx context.Context, cfg *config.Config, path string, shutdownTimeout time.Duration,
	logger *zap.Logger) int {
	begin := time.Now()
	log := logger.Named("run")
	// The daemon builds the SIP front end only when listeners.sip.enabled.
	opts := gateway.DaemonOptions{OperatorToken: os.Getenv(operatorTokenEnv), SIP: sip.NewFrontEnd}
	if path != "" {
		opts.Load = func() (*config.Config, error) { return config.Load(path) }
		log.Info("starting", zap.String("config_file", path))
	} else {
		log.Info("starting with the built-in configuration and the demo account; "+
			"its credentials are public, see `go doc github.com/optgate/optgate/config DemoAccountID`",
			zap.String("account", config.DemoAccountID))
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration warning", zap.String("problem", w.Error()))
	}
	if opts.OperatorToken == "" && cfg.Operator.TokenHash == "" {
		log.Info("operator endpoints of the HTTP API are off; set " + operatorTokenEnv +
			" or operator.token_hash to turn them on")
	}

	d, err := gateway.NewDaemon(cfg, logger, opts)
	if err != nil {
		log.Error("configuration rejected", zap.Error(err))
		return exitUsage
	}
	if err := d.Start(ctx); err != nil {
		log.Error("start failed", zap.Error(err))
		return exitFailure
	}
	log.Info("started", zap.Duration("duration", time.Since(begin)))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	code := exitOK
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("stop signal received")
			break wait
		case <-hup:
			log.Info("SIGHUP received, reloading the configuration")
			reloadCtx, cancel := context.WithTimeout(ctx, shutdownTimeout)
			if err := d.Reload(reloadCtx); err != nil {
				log.Error("reload failed; the previous configuration stays in use", zap.Error(err))
			}
			cancel()
		case err := <-d.Failed():
			log.Error("stopping after a listener failed", zap.Error(err))
			code = exitFailure
			break wait
		}
	}

	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		log.Error("stop did not finish in time", zap.Error(err))
		return exitFailure
	}
	return code
}

// newLogger builds the root logger: JSON lines, or console lines when
// logging.format is console, or auto with stderr on a terminal.
func newLogger(l config.Logging, stderr io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(l.Level)
	if err != nil {
		return nil, fmt.Errorf("logging.level: %w", err)
	}
	terminal := isTerminal(stderr)
	var enc zapcore.Encoder
	if l.ResolveFormat(terminal) == config.LogFormatConsole {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("2006-01-02 15:04:05.000")
		if terminal {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	out := zapcore.Lock(zapcore.AddSync(stderr))
	core := zapcore.NewCore(enc, out, level)
	return zap.New(core, zap.ErrorOutput(out), zap.AddStacktrace(zapcore.DPanicLevel)), nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
