package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const unitPath = "systemd/optgate.service"

// unitFile maps "Section.Key" to the values of every line that sets it,
// in order.
type unitFile map[string][]string

func loadUnit(t *testing.T) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, unitPath)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is not KEY=VALUE", unitPath, line)
			}
			k := section + "." + key
			u[k] = append(u[k], value)
		}
	}
	return u
}

// last returns the value of the last line that sets key, as systemd
// applies it, and whether any line does.
func (u unitFile) last(key string) (string, bool) {
	v := u[key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func TestSystemdUnitHardening(t *testing.T) {
	u := loadUnit(t)
	want := map[string]string{
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Service.ProtectHome":              "yes",
		"Service.PrivateTmp":               "yes",
		"Service.PrivateDevices":           "yes",
		"Service.Restart":                  "on-failure",
		"Service.RestartPreventExitStatus": "2",
		"Service.CapabilityBoundingSet":    "",
		"Service.AmbientCapabilities":      "",
		"Service.SystemCallArchitectures":  "native",
	}
	for key, value := range want {
		got, ok := u.last(key)
		if !ok || got != value {
			t.Errorf("%s = %q (set: %v), want %q", key, got, ok, value)
		}
	}
	if user, _ := u.last("Service.User"); user == "" || user == "root" || user == "0" {
		t.Errorf("Service.User = %q, want a dedicated user", user)
	}
	if !slices.Contains(u["Service.SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter = %q, want @system-service", u["Service.SystemCallFilter"])
	}
	families, _ := u.last("Service.RestrictAddressFamilies")
	for _, f := range strings.Fields(families) {
		if !slices.Contains([]string{"AF_INET", "AF_INET6", "AF_UNIX"}, f) {
			t.Errorf("RestrictAddressFamilies allows %s, which optgate does not use", f)
		}
	}
	if families == "" {
		t.Error("RestrictAddressFamilies is not set")
	}
	for _, key := range []string{"Service.MemoryMax", "Service.LimitNOFILE", "Service.EnvironmentFile"} {
		if v, ok := u.last(key); !ok || v == "" {
			t.Errorf("%s is not set", key)
		}
	}
}

// TestSystemdUnitDataDirectoryWritable checks that the working directory,
// where the embedded store's relative default paths resolve, is the one
// writable path.
func TestSystemdUnitDataDirectoryWritable(t *testing.T) {
	u := loadUnit(t)
	wd, _ := u.last("Service.WorkingDirectory")
	state, _ := u.last("Service.StateDirectory")
	if wd != filepath.Join("/var/lib", state) {
		t.Errorf("WorkingDirectory %q is not the StateDirectory /var/lib/%s", wd, state)
	}
	if rw := u["Service.ReadWritePaths"]; !slices.Contains(rw, wd) {
		t.Errorf("ReadWritePaths = %q, want it to contain %s", rw, wd)
	}
}

var shutdownTimeoutRE = regexp.MustCompile(`-shutdown-timeout\s+(\S+)`)

// TestSystemdUnitStopAndReload checks that systemd waits longer than the
// daemon's own drain and reloads the way cmd/optgate does: SIGHUP.
func TestSystemdUnitStopAndReload(t *testing.T) {
	u := loadUnit(t)
	start, _ := u.last("Service.ExecStart")
	m := shutdownTimeoutRE.FindStringSubmatch(start)
	if m == nil {
		t.Fatalf("ExecStart %q sets no -shutdown-timeout, so the drain time is implicit", start)
	}
	drain, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("ExecStart -shutdown-timeout %q: %v", m[1], err)
	}
	stopValue, _ := u.last("Service.TimeoutStopSec")
	stop, err := time.ParseDuration(stopValue)
	if err != nil {
		t.Fatalf("TimeoutStopSec %q is not a duration this test reads: %v", stopValue, err)
	}
	if stop <= drain {
		t.Errorf("TimeoutStopSec %v is not longer than -shutdown-timeout %v", stop, drain)
	}
	if reload, _ := u.last("Service.ExecReload"); !strings.Contains(reload, "kill -HUP $MAINPID") {
		t.Errorf("ExecReload = %q, want kill -HUP $MAINPID", reload)
	}
	run := string(readFile(t, "../cmd/optgate/run.go"))
	if !strings.Contains(run, "syscall.SIGHUP") {
		t.Error("cmd/optgate/run.go no longer handles SIGHUP, which ExecReload sends")
	}
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on the unit. Its
// ExecStart binary must exist, so the test verifies a copy whose ExecStart
// names a freshly built optgate; every other line is the file's own.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install systemd")
	bin := optgateBinary(t)
	unit := string(readFile(t, unitPath))
	const installed = "ExecStart=/usr/local/bin/optgate "
	if !strings.Contains(unit, installed) {
		t.Fatalf("%s has no line starting %q", unitPath, installed)
	}
	copyPath := filepath.Join(t.TempDir(), "optgate.service")
	unit = strings.Replace(unit, installed, "ExecStart="+bin+" ", 1)
	if err := os.WriteFile(copyPath, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Unknown keys and bad values are warnings with exit code 0.
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("systemd-analyze verify printed warnings:\n%s", s)
	}
}
