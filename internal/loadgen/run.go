package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// sender delivers messages to the target over one protocol.
type sender interface {
	// send sends msg and returns the segments the target accepted and,
	// when the message failed, why.
	send(ctx context.Context, worker int, msg *message) (segments int, fail *failure)
	// receipts returns the delivery receipts received so far.
	receipts() int64
	// close ends the sessions, waiting for them until ctx ends.
	close(ctx context.Context) error
}

// message is one message to send.
type message struct {
	kind     Kind
	from, to int   // indexes into Config.From and Config.To
	ref      uint8 // concatenation reference of a long message
}

// failure is the reason a message failed. Its reason and status make up
// its key in the report.
type failure struct {
	reason string
	status string
	detail string
}

// Run sends the load cfg describes and returns the report. It binds or
// connects first, so connection setup is not part of the measurement,
// and returns an error when that fails or cfg is invalid. When ctx ends
// early, Run stops and returns the report of the messages sent so far.
//
// NOTE: each of the Binds*Window workers waits for its message's response
// before it starts the next, so a target that slows down also slows the
// load. The latencies then leave out the time a message would have waited
// to be sent (coordinated omission). Compare AckedPerSecond with
// TargetRate to see whether the target kept up.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	payloads, err := buildPayloads()
	if err != nil {
		return nil, err
	}
	for _, pid := range append([]int{cfg.ObservePID}, cfg.AlsoObservePIDs...) {
		if pid <= 0 {
			continue
		}
		if _, err := processCPU(pid); err != nil {
			return nil, fmt.Errorf("observe process %d: %w", pid, err)
		}
	}

	var s sender
	if cfg.httpMode() {
		s = newHTTPSender(cfg)
	} else {
		s, err = dialSMPP(ctx, cfg, payloads)
		if err != nil {
			return nil, err
		}
	}

	picker := newRecipientPicker(cfg.To.Len(), cfg.OptedInPercent)
	if cfg.Warmup > 0 {
		warm := cfg
		warm.Duration, warm.Messages = cfg.Warmup, 0
		(&runner{cfg: warm, sender: s, picker: picker}).run(ctx)
	}
	// NOTE: receipts of warm-up messages that arrive during the measured
	// run are counted in it.
	receiptsBefore := s.receipts()
	watches, err := watchProcesses(cfg)
	if err != nil {
		_ = closeSender(ctx, s, cfg.ResponseTimeout)
		return nil, err
	}
	startCPU := selfCPU()
	r := &runner{cfg: cfg, sender: s, picker: picker}
	rep := r.run(ctx)
	if rep.Acked > 0 {
		rep.LoadToolCPUPerMessage = (selfCPU() - startCPU).Seconds() * 1e6 / float64(rep.Acked)
	}
	for i, w := range watches {
		st := w.finish(rep.Acked)
		if i == 0 && cfg.ObservePID > 0 {
			rep.Process = st
		} else {
			rep.Also = append(rep.Also, *st)
		}
	}
	if cfg.Receipts && !cfg.httpMode() {
		waitReceipts(ctx, s, receiptsBefore+rep.Acked, cfg.ReceiptWait)
	}
	rep.Receipts = s.receipts() - receiptsBefore
	rep.Warmup = Seconds(cfg.Warmup.Seconds())

	if err := closeSender(ctx, s, cfg.ResponseTimeout); err != nil {
		return rep, err
	}
	return rep, nil
}

// watchProcesses starts watching Config.ObservePID, when set, and then
// AlsoObservePIDs.
func watchProcesses(cfg Config) ([]*processWatch, error) {
	var watches []*processWatch
	for _, pid := range append([]int{cfg.ObservePID}, cfg.AlsoObservePIDs...) {
		if pid <= 0 {
			continue
		}
		w, err := watchProcess(pid)
		if err != nil {
			for _, started := range watches {
				started.finish(0)
			}
			return nil, err
		}
		watches = append(watches, w)
	}
	return watches, nil
}

// closeSender closes the sender's connections, waiting up to timeout even
// when ctx has ended.
func closeSender(ctx context.Context, s sender, timeout time.Duration) error {
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := s.close(closeCtx); err != nil {
		return fmt.Errorf("close the connections: %w", err)
	}
	return nil
}

// runner runs the workers of one load and gathers their counts.
type runner struct {
	cfg    Config
	sender sender
	picker recipientPicker

	seq     atomic.Uint64 // messages started, which picks senders and references
	claimed atomic.Int64  // messages claimed against Config.Messages
	limiter *rate.Limiter // nil without a target rate
}

// workerStats are the counts of one worker, merged when the run ends.
type workerStats struct {
	submitted, acked, segments int64
	hist                       Histogram
	failures                   map[failure]int64
	examples                   map[failure]string
	last                       time.Time // time of the last response
}

func (r *runner) run(ctx context.Context) *Report {
	cfg := r.cfg
	if cfg.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}

	// New messages start until issueCtx ends. The messages in flight then
	// get ResponseTimeout to finish before sendCtx ends too.
	issueCtx, stopIssuing := context.WithCancel(ctx)
	defer stopIssuing()
	if cfg.Duration > 0 {
		issueCtx, stopIssuing = context.WithTimeout(ctx, cfg.Duration)
		defer stopIssuing()
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	var drain sync.WaitGroup
	defer drain.Wait()
	drain.Go(func() {
		<-issueCtx.Done()
		t := time.NewTimer(cfg.ResponseTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			stopSending()
		case <-sendCtx.Done():
		}
	})

	workers := cfg.Binds * cfg.Window
	stats := make([]*workerStats, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		stats[w] = &workerStats{failures: map[failure]int64{}, examples: map[failure]string{}}
		wg.Go(func() { r.work(issueCtx, sendCtx, w, stats[w]) })
	}
	wg.Wait()
	stopIssuing()
	stopSending()
	return r.report(start, stats)
}

// work sends messages one after another until issueCtx ends or the
// message count is reached.
func (r *runner) work(issueCtx, sendCtx context.Context, worker int, st *workerStats) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(worker)))
	for issueCtx.Err() == nil {
		if r.limiter != nil && r.limiter.Wait(issueCtx) != nil {
			return
		}
		if r.cfg.Messages > 0 && r.claimed.Add(1) > r.cfg.Messages {
			return
		}
		n := r.seq.Add(1) - 1
		msg := message{
			kind: r.cfg.Mix.pick(rng),
			from: int(n % uint64(r.cfg.From.Len())),
			to:   r.picker.pick(rng),
			ref:  uint8(n),
		}
		st.submitted++
		begin := time.Now()
		segments, fail := r.sender.send(sendCtx, worker, &msg)
		st.last = time.Now()
		st.segments += int64(segments)
		if fail == nil {
			st.acked++
			st.hist.Record(st.last.Sub(begin))
			continue
		}
		key := failure{reason: fail.reason, status: fail.status}
		st.failures[key]++
		if _, ok := st.examples[key]; !ok && fail.detail != "" {
			st.examples[key] = fail.detail
		}
	}
}

func (r *runner) report(start time.Time, stats []*workerStats) *Report {
	cfg := r.cfg
	rep := &Report{
		Mode:           "smpp",
		Target:         cfg.Addr,
		SystemID:       cfg.SystemID,
		Binds:          cfg.Binds,
		Window:         cfg.Window,
		TargetRate:     cfg.Rate,
		Mix:            cfg.Mix.String(),
		OptedInPercent: cfg.OptedInPercent,
		Recipients:     cfg.To.String(),
		Senders:        cfg.From.String(),
		Errors:         []ErrorCount{},
	}
	if cfg.httpMode() {
		rep.Mode, rep.Target, rep.SystemID = "http", cfg.HTTPURL, ""
	}

	var hist Histogram
	end := start
	counts := map[failure]*ErrorCount{}
	for _, st := range stats {
		rep.Submitted += st.submitted
		rep.Acked += st.acked
		rep.Segments += st.segments
		hist.Merge(&st.hist)
		if st.last.After(end) {
			end = st.last
		}
		for key, n := range st.failures {
			ec := counts[key]
			if ec == nil {
				ec = &ErrorCount{Reason: key.reason, Status: key.status, Example: st.examples[key]}
				counts[key] = ec
			}
			ec.Count += n
		}
	}
	for _, ec := range counts {
		rep.Errors = append(rep.Errors, *ec)
	}
	sortErrors(rep.Errors)
	rep.Failed = rep.Submitted - rep.Acked
	if rep.Submitted == 0 {
		end = time.Now()
	}
	elapsed := end.Sub(start)
	rep.Elapsed = Seconds(elapsed.Seconds())
	if elapsed > 0 {
		rep.SubmittedPerSecond = float64(rep.Submitted) / elapsed.Seconds()
		rep.AckedPerSecond = float64(rep.Acked) / elapsed.Seconds()
	}
	rep.Latency = summarize(&hist)
	return rep
}

// receiptSettle is how long waitReceipts waits for more receipts once it
// has the number it wants, because a target may send one receipt per
// segment.
const receiptSettle = 300 * time.Millisecond

// waitReceipts waits until the sender has received at least want receipts
// and no more came for receiptSettle, or until limit passes.
func waitReceipts(ctx context.Context, s sender, want int64, limit time.Duration) {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := s.receipts(), time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := s.receipts()
		if n != last {
			last, lastChange = n, time.Now()
			continue
		}
		if n >= want && time.Since(lastChange) >= receiptSettle {
			return
		}
	}
}
