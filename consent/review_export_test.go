package consent_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// stalledWriter blocks every Write until released, like an HTTP client
// that stopped reading the export.
type stalledWriter struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	return len(p), nil
}

// TestExportDoesNotStallOptOuts checks that an export whose reader has
// stopped reading does not delay opt-outs: the embedded store cannot grow
// its file while a read transaction is open.
func TestExportDoesNotStallOptOuts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var csvText strings.Builder
	for i := range 300 {
		fmt.Fprintf(&csvText, "+1201555%04d,opted_in\n", 100+i)
	}
	if _, err := f.e.ImportCSV(ctx, acme, strings.NewReader(csvText.String())); err != nil {
		t.Fatal(err)
	}

	w := &stalledWriter{started: make(chan struct{}), release: make(chan struct{})}
	exported := make(chan error, 1)
	go func() { exported <- f.e.ExportCSV(ctx, acme, w) }()
	<-w.started

	// Opt-outs with enough audit text (a long reply, say) to make the store
	// file grow several times.
	long := strings.Repeat("Please stop. ", 700)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			ev := consent.Event{Kind: consent.EventStop, Account: acme, Number: fmt.Sprintf("+1202555%04d", 100+i),
				TollFree: tfAcme, Text: long, Source: consent.SourceSMPP, Time: noon}
			if _, err := f.store.Apply(ctx, ev); err != nil {
				t.Errorf("STOP %d: %v", i, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("opt-outs still wait 10s after an export stalled")
	}
	close(w.release)
	<-done
	if err := <-exported; err != nil {
		t.Errorf("export: %v", err)
	}
}

// TestBoltRecordsAcrossBatches checks that Records visits each of more
// records than one read transaction holds exactly once, while fn writes to
// the store.
func TestBoltRecordsAcrossBatches(t *testing.T) {
	s := openBolt(t)
	ctx := context.Background()
	const n = 2345
	events := make([]consent.Event, 0, n)
	for i := range n {
		events = append(events, consent.Event{Kind: consent.EventImport, Import: consent.StateOptedIn,
			Account: acme, Number: fmt.Sprintf("+1201%03d%04d", 200+i/1000, i%1000), Time: noon})
	}
	if _, err := s.ApplyBatch(ctx, events); err != nil {
		t.Fatal(err)
	}
	other := consent.Event{Kind: consent.EventStop, Account: acme + "0", Number: subscriber, Time: noon}
	if _, err := s.Apply(ctx, other); err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	err := s.Records(ctx, acme, func(number string, r consent.Record) error {
		seen[number]++
		if r.State != consent.StateOptedIn {
			t.Errorf("%s visited in state %s, want opted_in", number, r.State)
		}
		// A write from fn neither deadlocks nor changes what is visited.
		if len(seen)%100 != 0 {
			return nil
		}
		ev := consent.Event{Kind: consent.EventStop, Account: acme, Number: number, Time: noon.Add(time.Minute)}
		_, err := s.Apply(ctx, ev)
		return err
	})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(seen) != n {
		t.Errorf("Records visited %d numbers, want %d", len(seen), n)
	}
	for number, count := range seen {
		if count != 1 {
			t.Errorf("Records visited %s %d times", number, count)
		}
	}
}
