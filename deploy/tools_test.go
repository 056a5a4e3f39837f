package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// requireToolsEnv makes a missing external tool fail the test instead of
// skipping it. CI sets it after installing the tools.
const requireToolsEnv = "OPTGATE_REQUIRE_TOOLS"

// requireTool returns the path of an external program, or skips the test
// when it is missing (fails with OPTGATE_REQUIRE_TOOLS=1). install names
// the step that provides it.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(requireToolsEnv) == "1" {
		t.Fatalf("%s is not on PATH and %s=1 requires it; install it: %s", name, requireToolsEnv, install)
	}
	t.Skipf("%s is not on PATH, so this check does not run; install it (%s), "+
		"or set %s=1 to make a missing tool fail", name, install, requireToolsEnv)
	return ""
}

// runTool runs a program in dir and returns its combined output. It fails
// the test when the program exits non-zero.
func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out.String())
	}
	return out.String()
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// optgateBinary builds cmd/optgate once per test run and returns its path.
func optgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "optgate-deploy-test-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "optgate")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/optgate")
		cmd.Dir = ".."
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build cmd/optgate: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// readFile returns the content of a file under deploy/ or fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
