package config

import (
	"bytes"
	"encoding/binary"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default does not validate:\n%v", err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Default has warnings: %v", ErrorList(w))
	}
}

func TestDefaultContents(t *testing.T) {
	c := Default()
	sim := c.Listeners.Simulator
	if !sim.Enabled || sim.Addr != "127.0.0.1:2776" {
		t.Errorf("simulator: got enabled %v addr %q, want enabled on 127.0.0.1:2776", sim.Enabled, sim.Addr)
	}
	if c.Store.Type != StoreEmbedded || !strings.HasPrefix(c.Store.Embedded.Path, "./data/") {
		t.Errorf("store: got %q at %q, want embedded under ./data", c.Store.Type, c.Store.Embedded.Path)
	}

	if len(c.Carriers) != 1 {
		t.Fatalf("carriers: got %d, want 1", len(c.Carriers))
	}
	carrier := c.Carriers[0]
	if carrier.Address != sim.Addr || carrier.SystemID != sim.SystemID || carrier.Password != sim.Password {
		t.Errorf("carrier is not bound to the simulator: %+v", carrier)
	}
	if carrier.BindType != BindTransceiver || carrier.Window != 10 {
		t.Errorf("carrier: got bind %q window %d, want transceiver and 10", carrier.BindType, carrier.Window)
	}

	if len(c.Accounts) != 1 {
		t.Fatalf("accounts: got %d, want 1", len(c.Accounts))
	}
	a := c.Accounts[0]
	if a.ID != DemoAccountID || a.BusinessName != DemoBusinessName {
		t.Errorf("account: got %q %q", a.ID, a.BusinessName)
	}
	if len(a.TollFree) != 1 || a.TollFree[0].Number != DemoTollFree || !a.TollFree[0].Ready() {
		t.Errorf("toll-free numbers: got %+v, want %s ready", a.TollFree, DemoTollFree)
	}
	if a.TollFree[0].Greeting != DemoGreeting {
		t.Errorf("greeting: got %q, want %q", a.TollFree[0].Greeting, DemoGreeting)
	}
	if len(a.ESMEs) != 1 || a.ESMEs[0].SystemID != DemoSystemID {
		t.Errorf("esme: got %+v, want system_id %s", a.ESMEs, DemoSystemID)
	}
	if len(a.APITokens) != 1 {
		t.Errorf("api tokens: got %d, want 1", len(a.APITokens))
	}
}

func TestDefaultDemoCredentials(t *testing.T) {
	a := Default().Accounts[0]
	if err := bcrypt.CompareHashAndPassword([]byte(a.ESMEs[0].PasswordHash), []byte(DemoPassword)); err != nil {
		t.Errorf("ESME hash does not match DemoPassword: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(a.APITokens[0].Hash), []byte(DemoAPIToken)); err != nil {
		t.Errorf("API token hash does not match DemoAPIToken: %v", err)
	}
	if len(DemoPassword) > 8 {
		t.Errorf("DemoPassword is %d characters; SMPP 3.4 allows 8", len(DemoPassword))
	}
}

func TestDefaultListenersOnLoopback(t *testing.T) {
	l := Default().Listeners
	for name, addr := range map[string]string{
		"smpp": l.SMPP.Addr, "http": l.HTTP.Addr, "sip udp": l.SIP.UDPAddr,
		"sip tcp": l.SIP.TCPAddr, "sip tls": l.SIP.TLSAddr, "simulator": l.Simulator.Addr,
	} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("%s listener address %q is not on 127.0.0.1", name, addr)
		}
	}
	if l.HTTP.Pprof {
		t.Errorf("pprof is on by default")
	}
}

func TestDefaultReturnsNewConfig(t *testing.T) {
	a := Default()
	a.Accounts[0].TollFree[0].Number = "+18005550199"
	a.Carriers[0].Routes[0] = "+44"
	b := Default()
	if b.Accounts[0].TollFree[0].Number != DemoTollFree || b.Carriers[0].Routes[0] != "+" {
		t.Errorf("changing one Default result changed another")
	}
}

// exported returns a copy of c without the unexported bookkeeping fields,
// for comparing two configurations by value.
func exported(c *Config) Config {
	out := *c
	out.file, out.lines, out.warnings = "", nil, nil
	return out
}

func TestWriteYAMLRoundTrip(t *testing.T) {
	want := Default()
	var buf bytes.Buffer
	if err := want.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := parse(buf.Bytes(), "default.yaml", lookupTestEnv)
	if err != nil {
		t.Fatalf("written default does not parse:\n%v\n%s", err, buf.String())
	}
	if w := got.Warnings(); len(w) != 0 {
		t.Errorf("written default has warnings: %v", ErrorList(w))
	}
	if !reflect.DeepEqual(exported(got), exported(want)) {
		t.Errorf("round trip changed the configuration\n got: %+v\nwant: %+v", exported(got), exported(want))
	}
	if !strings.Contains(buf.String(), "enquire_link: 30s") {
		t.Errorf("durations are not written as strings:\n%s", buf.String())
	}
}

func TestDemoGreetingFormat(t *testing.T) {
	wav, err := ReadGreeting(DemoGreeting)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkWAV(bytes.NewReader(wav)); err != nil {
		t.Fatalf("demo greeting: %v", err)
	}
	// The generator writes a canonical 44-byte header.
	if len(wav) < 44 {
		t.Fatalf("demo greeting is only %d bytes", len(wav))
	}
	rate := binary.LittleEndian.Uint32(wav[24:28])
	bits := binary.LittleEndian.Uint16(wav[34:36])
	dataBytes := binary.LittleEndian.Uint32(wav[40:44])
	seconds := time.Duration(dataBytes) * time.Second / time.Duration(rate*uint32(bits/8))
	if seconds < 1500*time.Millisecond || seconds > 2500*time.Millisecond {
		t.Errorf("demo greeting lasts %v, want about 2s", seconds)
	}

	// A soft tone: well below full scale, and not silence.
	var peak int16
	for i := 44; i+1 < len(wav); i += 2 {
		s := int16(binary.LittleEndian.Uint16(wav[i:]))
		peak = max(peak, s, -s)
	}
	if peak < 1000 || peak > 16000 {
		t.Errorf("demo greeting peak amplitude %d, want a soft but audible tone", peak)
	}
}
