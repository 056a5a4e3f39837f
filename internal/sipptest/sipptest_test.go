package sipptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCopyScenarioKeepsName(t *testing.T) {
	src := filepath.Join(t.TempDir(), "uac.xml")
	if err := os.WriteFile(src, []byte("<scenario/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := CopyScenario(t, dir, src)
	if path != filepath.Join(dir, "uac.xml") {
		t.Errorf("copy path = %s, want uac.xml in %s", path, dir)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "<scenario/>" {
		t.Errorf("copy = %q, want the source's contents", data)
	}
}

func TestErrorLogsJoinsOnlyErrorLogs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"uac_1_errors.log": "first\n", "uac_1_messages.log": "not an error\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(ErrorLogs(dir)); got != "first\n" {
		t.Errorf("error logs = %q, want only the errors.log contents", got)
	}
}

func TestTailShortAndLong(t *testing.T) {
	if got := string(Tail([]byte("abc"), 5)); got != "abc" {
		t.Errorf("tail of a short input = %q, want abc", got)
	}
	if got := string(Tail([]byte("abcdef"), 2)); got != "ef" {
		t.Errorf("tail of a long input = %q, want ef", got)
	}
}

func TestRTPCounterCountsPackets(t *testing.T) {
	rtp := ListenRTP(t)
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", rtp.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 3 {
		if _, err := conn.Write([]byte("rtp")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for rtp.Packets() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := rtp.Packets(); n != 3 {
		t.Errorf("counted %d packets, want 3", n)
	}
}
