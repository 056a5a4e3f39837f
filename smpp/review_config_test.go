package smpp

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServeRejectsInvalidConfig(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name  string
		srv   *Server
		field string
	}{
		{"negative window", &Server{WindowSize: -1}, "window_size"},
		{"negative inbound window", &Server{InboundWindow: -3}, "inbound_window"},
		{"negative response timeout", &Server{ResponseTimeout: -time.Second}, "response_timeout"},
		{"negative enquire_link timeout", &Server{EnquireLinkTimeout: -time.Second}, "enquire_link_timeout"},
		{"negative write timeout", &Server{WriteTimeout: -time.Second}, "write_timeout"},
		{"negative binds per system_id", &Server{MaxBindsPerSystemID: -1}, "max_binds_per_system_id"},
		{"system_id over 15 characters", &Server{SystemID: "optgate-smsc-0001"}, "system_id"},
		{"system_id with NUL", &Server{SystemID: "opt\x00gate"}, "system_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			errc := make(chan error, 1)
			go func() { errc <- tt.srv.Serve(l) }()
			select {
			case err := <-errc:
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Serve error = %v, want ErrInvalidConfig", err)
				}
				if !strings.Contains(err.Error(), tt.field) {
					t.Errorf("Serve error %q does not name %s", err, tt.field)
				}
			case <-time.After(2 * time.Second):
				_ = tt.srv.Close()
				<-errc
				t.Fatal("Serve accepted the invalid config")
			}
			if _, err := l.Accept(); err == nil {
				t.Error("Serve left the listener open")
			}
		})
	}
}

func TestNewClientRejectsNegativeDurations(t *testing.T) {
	tests := []struct {
		field string
		set   func(*ClientConfig)
	}{
		{"response_timeout", func(c *ClientConfig) { c.ResponseTimeout = -time.Second }},
		{"enquire_link_timeout", func(c *ClientConfig) { c.EnquireLinkTimeout = -time.Second }},
		{"write_timeout", func(c *ClientConfig) { c.WriteTimeout = -time.Second }},
		{"dial_timeout", func(c *ClientConfig) { c.DialTimeout = -time.Second }},
		{"throttle_pause", func(c *ClientConfig) { c.ThrottlePause = -time.Second }},
		{"max_throttle_pause", func(c *ClientConfig) { c.MaxThrottlePause = -time.Second }},
		{"reconnect_delay", func(c *ClientConfig) { c.ReconnectDelay = -time.Second }},
		{"max_reconnect_delay", func(c *ClientConfig) { c.MaxReconnectDelay = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			cfg := testClientConfig("127.0.0.1:2775")
			tt.set(&cfg)
			_, err := NewClient(cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewClient error = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("NewClient error %q does not name %s", err, tt.field)
			}
		})
	}
	t.Run("negative enquire_link interval disables it", func(t *testing.T) {
		cfg := testClientConfig("127.0.0.1:2775")
		cfg.EnquireLinkInterval = -1
		if _, err := NewClient(cfg); err != nil {
			t.Errorf("NewClient: %v", err)
		}
	})
}
