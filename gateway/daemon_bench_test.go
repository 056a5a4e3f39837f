package gateway

import (
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// BenchmarkDaemonSubmit measures one business submit_sm through a whole
// in-process optgate: bind, consent check, carrier submit to the built-in
// simulator and id map write, until the business has submit_sm_resp.
func BenchmarkDaemonSubmit(b *testing.B) {
	f := newDaemonFixture(b, daemonOptions{config: func(c *config.Config) {
		c.Carriers[0].Window = 20
		c.Logging.MaskNumbers = true
	}})
	f.setState(sub1, consent.StateOptedIn)
	biz := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, st := biz.submit(b, submitSM(b, acmeTollFree, sub1, "Your table is ready", 0)); st != smpp.StatusOK {
				b.Fatalf("status %v", st)
			}
		}
	})
	b.Run("window10", func(b *testing.B) {
		b.SetParallelism(5)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sm := submitSM(b, acmeTollFree, sub1, "Your table is ready", 0)
				if _, st := biz.submit(b, sm); st != smpp.StatusOK {
					b.Errorf("status %v", st)
					return
				}
			}
		})
	})
}
