package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// run calls dispatch in-process and returns the exit code and both outputs.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDispatchNoArguments(t *testing.T) {
	code, stdout, stderr := run(t)
	if code != exitUsage {
		t.Errorf("exit code: got %d, want %d", code, exitUsage)
	}
	if stdout != "" {
		t.Errorf("stdout: got %q, want nothing", stdout)
	}
	if !strings.Contains(stderr, "Usage: optgate COMMAND") {
		t.Errorf("stderr has no usage: %q", stderr)
	}
}

func TestDispatchHelpListsCommands(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		code, stdout, _ := run(t, arg)
		if code != exitOK {
			t.Errorf("%s: exit code %d, want %d", arg, code, exitOK)
		}
		for _, name := range []string{"config", "hash-password"} {
			if !strings.Contains(stdout, "  "+name+" ") {
				t.Errorf("%s: command %s missing from:\n%s", arg, name, stdout)
			}
		}
		if !strings.Contains(stdout, "2 usage or configuration error") {
			t.Errorf("%s: exit codes missing from the usage", arg)
		}
	}
}

func TestDispatchHelpCommand(t *testing.T) {
	code, stdout, stderr := run(t, "help", "config")
	if code != exitOK || !strings.Contains(stdout, "optgate config check FILE") || stderr != "" {
		t.Errorf("help config: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, _, stderr = run(t, "help", "nosuch")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: code %d stderr %q", code, stderr)
	}
}

func TestDispatchUnknownCommand(t *testing.T) {
	code, _, stderr := run(t, "serve")
	if code != exitUsage {
		t.Errorf("exit code: got %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, `unknown command "serve"`) {
		t.Errorf("stderr: %q", stderr)
	}
}

func TestDispatchPassesArgumentsAndContext(t *testing.T) {
	type key struct{}
	var gotArgs []string
	var gotValue any
	register("test-echo", "test command", func(ctx context.Context, args []string, stdout, _ io.Writer) int {
		gotArgs, gotValue = args, ctx.Value(key{})
		io.WriteString(stdout, "echo")
		return 7
	})
	t.Cleanup(func() { delete(commands, "test-echo") })

	var out bytes.Buffer
	ctx := context.WithValue(context.Background(), key{}, "v")
	code := dispatch(ctx, []string{"test-echo", "a", "-b"}, &out, io.Discard)
	if code != 7 {
		t.Errorf("exit code: got %d, want the command's 7", code)
	}
	if strings.Join(gotArgs, " ") != "a -b" {
		t.Errorf("args: got %q, want [a -b]", gotArgs)
	}
	if gotValue != "v" {
		t.Errorf("the command did not get the caller's context")
	}
	if out.String() != "echo" {
		t.Errorf("stdout: got %q", out.String())
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("registering config twice did not panic")
		}
	}()
	register("config", "again", runConfig)
}
