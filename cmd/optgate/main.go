// Command optgate is the optgate daemon and its helper commands.
//
// Usage:
//
//	optgate COMMAND [flags] [arguments]
//	optgate help [COMMAND]
//
// Exit codes, which supervisors such as systemd or Kubernetes can rely on:
//
//	0  success
//	1  runtime failure: a listener, the store or a peer failed; a restart
//	   may help
//	2  usage or configuration error: a bad flag, argument or configuration
//	   file; a restart with the same input fails the same way
//
// Each command lives in its own file and adds itself to the command table
// from that file's init function by calling register.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes of every command. See the package comment.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// commandFunc runs one command. args are the arguments after the command
// name. ctx is canceled on the first SIGINT or SIGTERM. The returned value
// is the process exit code, one of the exit constants.
type commandFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

type command struct {
	summary string
	run     commandFunc
}

// commands is the command table, filled by register from init functions.
var commands = map[string]command{}

// register adds a command to the table. summary is one lowercase line for
// the command list. Registering a name twice is a programming error and
// panics at start-up.
func register(name, summary string, run commandFunc) {
	if _, ok := commands[name]; ok {
		panic("optgate: command " + name + " registered twice")
	}
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second SIGINT or SIGTERM ends a stuck shutdown at once.
		<-ctx.Done()
		stop()
	}()
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the command named by args[0] and returns its exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			if cmd, ok := commands[args[1]]; ok {
				return cmd.run(ctx, []string{"-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "optgate: unknown command %q\n", args[1])
			return exitUsage
		}
		writeUsage(stdout)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "optgate: unknown command %q; run 'optgate help' for the list\n", name)
		return exitUsage
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func writeUsage(w io.Writer) {
	names := make([]string, 0, len(commands))
	width := 0
	for name := range commands {
		names = append(names, name)
		width = max(width, len(name))
	}
	slices.Sort(names)

	var b strings.Builder
	b.WriteString("Usage: optgate COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, name, commands[name].summary)
	}
	b.WriteString("\nRun 'optgate help COMMAND' for a command's flags.\n" +
		"Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n")
	io.WriteString(w, b.String())
}
