package consent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/consent/storetest"
	"github.com/optgate/optgate/internal/testredis"
)

// redisDirectives are the listpack settings the Redis store documents for
// operators.
var redisDirectives = []string{
	fmt.Sprintf("hash-max-listpack-entries %d", consent.RedisListpackEntries),
	fmt.Sprintf("hash-max-listpack-value %d", consent.RedisListpackValue),
}

// redisPrefixCount gives each store opened on a shared server its own keys.
var redisPrefixCount atomic.Int64

func openRedis(t *testing.T, srv *testredis.Server, opts consent.RedisOptions) *consent.RedisStore {
	t.Helper()
	if opts.URL == "" && opts.Universal == nil {
		opts.URL = srv.URL()
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = fmt.Sprintf("test%d:", redisPrefixCount.Add(1))
	}
	s, err := consent.OpenRedis(context.Background(), opts)
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisConformance(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	storetest.Run(t, func(t *testing.T) consent.Store {
		return openRedis(t, srv, consent.RedisOptions{})
	})
}

// TestRedisConformanceOneBucket puts every number of an account into one
// bucket hash, so records of different numbers share a key.
func TestRedisConformanceOneBucket(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	storetest.Run(t, func(t *testing.T) consent.Store {
		return openRedis(t, srv, consent.RedisOptions{ExpectedRecords: 1})
	})
}

var redisBase = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)

func redisEvent(kind consent.EventKind, number string, minute int) consent.Event {
	return consent.Event{
		Kind:     kind,
		Account:  storetest.Account,
		Number:   number,
		TollFree: storetest.TollFree,
		Text:     kind.String(),
		Source:   consent.SourceSMPP,
		Time:     redisBase.Add(time.Duration(minute) * time.Minute),
	}
}

func redisApply(t *testing.T, s consent.Store, ev consent.Event) consent.Applied {
	t.Helper()
	a, err := s.Apply(context.Background(), ev)
	if err != nil {
		t.Fatalf("apply %s to %s: %v", ev.Kind, ev.Number, err)
	}
	return a
}

func redisGet(t *testing.T, s consent.Store, number string) consent.Record {
	t.Helper()
	r, err := s.Get(context.Background(), storetest.Account, number)
	if err != nil {
		t.Fatalf("get %s: %v", number, err)
	}
	return r
}

// redisRedirectDialer dials whatever address addr holds, so a test can move the
// store's connections to a restarted server.
func redisRedirectDialer(addr *atomic.Value) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr.Load().(string))
	}
}

// redisTestEngine returns an engine over s with one account, id
// storetest.Account, that sends from storetest.TollFree.
func redisTestEngine(t *testing.T, s consent.Store) *consent.Engine {
	t.Helper()
	accounts, err := consent.NewAccountSet(consent.Account{
		ID:           storetest.Account,
		BusinessName: "Acme Dental",
		TollFree:     []consent.TollFreeNumber{{Number: storetest.TollFree, Greeting: true, Voicemail: true}},
		Template:     consent.Template{Details: "Appointment reminders."},
	})
	if err != nil {
		t.Fatalf("account set: %v", err)
	}
	e, err := consent.NewEngine(s, accounts, consent.Options{Now: func() time.Time { return redisBase }})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return e
}

func TestRedisFailsClosedWhileDown(t *testing.T) {
	// Both servers share a data directory and fsync every write, so the
	// second one starts with the first one's data.
	persist := append([]string{"dir " + t.TempDir(), "appendonly yes", "appendfsync always"}, redisDirectives...)
	srv := testredis.Start(t, persist...)
	var addr atomic.Value
	addr.Store(srv.Addr)
	s := openRedis(t, srv, consent.RedisOptions{
		Universal: &redis.UniversalOptions{Addrs: []string{srv.Addr}, Dialer: redisRedirectDialer(&addr)},
		Timeout:   500 * time.Millisecond,
	})
	number := storetest.Number
	redisApply(t, s, redisEvent(consent.EventRequest, number, 1))
	redisApply(t, s, redisEvent(consent.EventYes, number, 2))
	redisApply(t, s, redisEvent(consent.EventStop, number, 3))
	redisApply(t, s, redisEvent(consent.EventRequest, storetest.OtherNumber, 1))
	redisApply(t, s, redisEvent(consent.EventYes, storetest.OtherNumber, 2))
	engine := redisTestEngine(t, s)
	ctx := context.Background()
	mt := consent.MT{Account: storetest.Account, From: storetest.TollFree, To: storetest.OtherNumber}
	if d := engine.CheckMT(ctx, mt); !d.Allowed {
		t.Fatalf("MT to an opted-in number blocked before redis stopped: %+v", d)
	}

	srv.Stop()
	if d := engine.CheckMT(ctx, mt); d.Allowed || d.Reason != consent.ReasonStoreUnavailable || !d.Temporary {
		t.Errorf("MT with redis down: %+v, want a temporary block as store_unavailable", d)
	}
	if r, err := s.Get(ctx, storetest.Account, number); err == nil {
		t.Errorf("Get with redis down returned %+v and no error", r)
	} else if errors.Is(err, consent.ErrClosed) {
		t.Errorf("Get with redis down: %v, want a connection error, not ErrClosed", err)
	}
	keys := []consent.Key{{Account: storetest.Account, Number: number}}
	if recs, err := s.GetMany(ctx, keys); err == nil {
		t.Errorf("GetMany with redis down returned %+v and no error", recs)
	}
	if _, err := s.Apply(ctx, redisEvent(consent.EventResume, number, 4)); err == nil {
		t.Error("Apply with redis down returned no error")
	}
	if _, err := s.History(ctx, storetest.Account, number); err == nil {
		t.Error("History with redis down returned no error")
	}

	restarted := testredis.Start(t, persist...)
	addr.Store(restarted.Addr)
	if d := engine.CheckMT(ctx, mt); !d.Allowed {
		t.Errorf("MT to an opted-in number after restart: %+v, want allowed", d)
	}
	r := redisGet(t, s, number)
	if r.State != consent.StateOptedOut || r.Seq != 3 {
		t.Fatalf("after restart: record %+v, want opted out with seq 3", r)
	}
	a := redisApply(t, s, redisEvent(consent.EventResume, number, 5))
	if a.After.State != consent.StateOptedIn {
		t.Errorf("UNSTOP after restart: state %s, want opted_in", a.After.State)
	}
	h, err := s.History(ctx, storetest.Account, number)
	if err != nil {
		t.Fatalf("history after restart: %v", err)
	}
	if len(h) != 4 || h[3].Seq != 4 {
		t.Errorf("history after restart has %d entries, want 4 ending with seq 4", len(h))
	}
}

func TestRedisTimeoutBoundsCalls(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{Timeout: 100 * time.Millisecond})
	redisApply(t, s, redisEvent(consent.EventStop, storetest.Number, 1))

	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	const pause = 3 * time.Second
	if err := admin.ClientPause(context.Background(), pause).Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}

	start := time.Now()
	_, err := s.Get(context.Background(), storetest.Account, storetest.Number)
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get while redis is paused: %v, want context.DeadlineExceeded", err)
	}
	// The check is against the pause, not a speed target: a call that
	// ignored the timeout would wait for the whole pause.
	if elapsed >= pause {
		t.Errorf("Get returned after %s, the whole pause", elapsed)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Apply(ctx, redisEvent(consent.EventResume, storetest.Number, 2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Apply with a 50ms context while redis is paused: %v, want context.DeadlineExceeded", err)
	}
}

func TestRedisBucketCountKept(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	const prefix = "kept:"
	small := openRedis(t, srv, consent.RedisOptions{KeyPrefix: prefix, ExpectedRecords: 100})
	numbers := []string{"+12015550101", "+12015550102", "+442071838750", "+12015550199"}
	for i, n := range numbers {
		redisApply(t, small, redisEvent(consent.EventStop, n, i))
	}

	// A store configured for a much larger account finds the same records,
	// because the account's bucket count was recorded at its first write.
	core, logs := observer.New(zap.InfoLevel)
	large := openRedis(t, srv, consent.RedisOptions{
		KeyPrefix: prefix, ExpectedRecords: 10_000_000, Logger: zap.New(core),
	})
	for _, n := range numbers {
		if r := redisGet(t, large, n); r.State != consent.StateOptedOut {
			t.Errorf("%s: state %s in a store configured with more buckets, want opted_out", n, r.State)
		}
	}
	redisApply(t, large, redisEvent(consent.EventHelp, numbers[0], 10))
	if got := logs.FilterMessage("account keeps the bucket count recorded in redis").Len(); got != 1 {
		t.Errorf("logged the kept bucket count %d times, want 1", got)
	}
	visited := 0
	err := large.Records(context.Background(), storetest.Account, func(string, consent.Record) error {
		visited++
		return nil
	})
	if err != nil || visited != len(numbers) {
		t.Errorf("Records visited %d numbers (error %v), want %d", visited, err, len(numbers))
	}
}

func TestRedisRecordsRebuildsNumbers(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{ExpectedRecords: 500})
	want := map[string]bool{}
	for i := range 300 {
		n := fmt.Sprintf("+1%03d555%04d", 201+i%97, i)
		want[n] = true
	}
	// Numbers outside E.164 are kept under their own text.
	for _, n := range []string{"+0123", "12015550101", "+1{2}3", "+1234567890123456"} {
		want[n] = true
	}
	i := 0
	for n := range want {
		redisApply(t, s, redisEvent(consent.EventStop, n, i))
		i++
	}

	got := map[string]bool{}
	err := s.Records(context.Background(), storetest.Account, func(number string, r consent.Record) error {
		if got[number] {
			t.Errorf("Records visited %s twice", number)
		}
		got[number] = true
		if r.State != consent.StateOptedOut {
			t.Errorf("%s: state %s, want opted_out", number, r.State)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}

	for n := range want {
		if !got[n] {
			t.Errorf("Records skipped %s", n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Records visited %d numbers, want %d", len(got), len(want))
	}
}

// TestRedisConflictsLoseNoEvent runs many writers on one number with only
// one retry each: some calls give up, and every call that returned success
// is in the history exactly once.
func TestRedisConflictsLoseNoEvent(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{MaxConflicts: 1})
	const workers, each = 8, 25
	var mu sync.Mutex
	var ok []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := redisEvent(consent.EventHelp, storetest.Number, 0)
				ev.Text = fmt.Sprintf("HELP %d/%d", w, i)
				if _, err := s.Apply(context.Background(), ev); err != nil {
					if !strings.Contains(err.Error(), "gave up after 2 attempts") {
						t.Errorf("apply %s: %v", ev.Text, err)
					}
					continue
				}
				mu.Lock()
				ok = append(ok, ev.Text)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	h, err := s.History(context.Background(), storetest.Account, storetest.Number)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	if len(h) != len(ok) {
		t.Errorf("history has %d entries, %d applies succeeded", len(h), len(ok))
	}
	inHistory := map[string]int{}
	for i, e := range h {
		inHistory[e.Text]++
		if e.Seq != uint32(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
	}
	for _, text := range ok {
		if inHistory[text] != 1 {
			t.Errorf("%q is in the history %d times, want 1", text, inHistory[text])
		}
	}
	if r := redisGet(t, s, storetest.Number); int(r.Seq) != len(h) {
		t.Errorf("record seq %d, history length %d", r.Seq, len(h))
	}
}

func TestRedisUnknownAccountReadsEmpty(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{})
	ctx := context.Background()
	if r := redisGet(t, s, storetest.Number); !r.IsZero() {
		t.Errorf("Get on an account never written: %+v, want the zero record", r)
	}
	recs, err := s.GetMany(ctx, []consent.Key{{Account: "nobody", Number: storetest.Number}})
	if err != nil || len(recs) != 1 || !recs[0].IsZero() {
		t.Errorf("GetMany on an account never written: %+v, %v", recs, err)
	}
	called := false
	err = s.Records(ctx, "nobody", func(string, consent.Record) error { called = true; return nil })
	if err != nil || called {
		t.Errorf("Records on an account never written: called %v, error %v", called, err)
	}
	if h, err := s.History(ctx, "nobody", storetest.Number); err != nil || len(h) != 0 {
		t.Errorf("History on an account never written: %d entries, %v", len(h), err)
	}
}

func TestRedisInvalidKeysRejected(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{})
	ctx := context.Background()
	for _, k := range []consent.Key{
		{Account: "", Number: storetest.Number},
		{Account: "a\x00b", Number: storetest.Number},
		{Account: storetest.Account, Number: ""},
		{Account: storetest.Account, Number: strings.Repeat("1", 40)},
	} {
		if _, err := s.Get(ctx, k.Account, k.Number); err == nil {
			t.Errorf("Get(%q, %q) accepted an invalid key", k.Account, k.Number)
		}
		if _, err := s.GetMany(ctx, []consent.Key{k}); err == nil {
			t.Errorf("GetMany(%q, %q) accepted an invalid key", k.Account, k.Number)
		}
		if _, err := s.History(ctx, k.Account, k.Number); err == nil {
			t.Errorf("History(%q, %q) accepted an invalid key", k.Account, k.Number)
		}
	}
	if err := s.Records(ctx, "", func(string, consent.Record) error { return nil }); err == nil {
		t.Error("Records accepted an empty account id")
	}
}

func TestOpenRedisRejectsOptions(t *testing.T) {
	for name, opts := range map[string]consent.RedisOptions{
		"no address":             {},
		"brace in prefix":        {URL: "redis://127.0.0.1:1/0", KeyPrefix: "og:{x}:"},
		"negative expected":      {URL: "redis://127.0.0.1:1/0", ExpectedRecords: -1},
		"zero account expected":  {URL: "redis://127.0.0.1:1/0", AccountExpectedRecords: map[string]int{"a": 0}},
		"negative conflicts":     {URL: "redis://127.0.0.1:1/0", MaxConflicts: -2},
		"bad URL scheme":         {URL: "http://127.0.0.1:1/0"},
		"negative wait replicas": {URL: "redis://127.0.0.1:1/0", WaitReplicas: -1},
		"negative wait timeout":  {URL: "redis://127.0.0.1:1/0", WaitReplicas: 1, WaitTimeout: -time.Second},
		"wait beyond timeout": {URL: "redis://127.0.0.1:1/0", WaitReplicas: 1,
			WaitTimeout: 2 * time.Second, Timeout: time.Second},
		"wait beyond read timeout": {WaitReplicas: 1, WaitTimeout: time.Second,
			Universal: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}, ReadTimeout: time.Second}},
	} {
		if s, err := consent.OpenRedis(context.Background(), opts); err == nil {
			_ = s.Close()
			t.Errorf("%s: OpenRedis accepted %+v", name, opts)
		}
	}
}

func TestOpenRedisUnreachable(t *testing.T) {
	port, err := testredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	opts := consent.RedisOptions{URL: "redis://" + addr + "/0", Timeout: 500 * time.Millisecond}
	s, err := consent.OpenRedis(context.Background(), opts)
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenRedis succeeded with nothing listening")
	}
	// The error names the address and what to check, not only a
	// deadline.
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the address %s", err, addr)
	}
	if !strings.Contains(err.Error(), "check that redis-server runs there") {
		t.Errorf("error %q does not say what to check", err)
	}
}

func TestOpenRedisRejectsOtherFormat(t *testing.T) {
	srv := testredis.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.HSet(context.Background(), "future:meta", "format", "9").Err(); err != nil {
		t.Fatal(err)
	}
	s, err := consent.OpenRedis(context.Background(), consent.RedisOptions{URL: srv.URL(), KeyPrefix: "future:"})
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenRedis accepted data in format 9")
	}
	if !strings.Contains(err.Error(), "format") {
		t.Errorf("error %q does not mention the format", err)
	}
}

func TestOpenRedisWarnsAboutSettings(t *testing.T) {
	srv := testredis.Start(t, "hash-max-listpack-entries 32", "hash-max-listpack-value 16")
	core, logs := observer.New(zap.InfoLevel)
	openRedis(t, srv, consent.RedisOptions{Logger: zap.New(core)})
	warnings := map[string]bool{}
	for _, e := range logs.FilterLevelExact(zap.WarnLevel).All() {
		setting, _ := e.ContextMap()["setting"].(string)
		warnings[e.Message+" "+setting] = true
	}
	for _, want := range []string{
		"redis setting too low for compact consent records hash-max-listpack-entries",
		"redis setting too low for compact consent records hash-max-listpack-value",
		"redis appendonly is off: consent changes since the last snapshot are lost if redis stops ",
	} {
		if !warnings[want] {
			t.Errorf("no warning %q; got %v", want, warnings)
		}
	}

	quiet := testredis.Start(t, append([]string{"appendonly yes"}, redisDirectives...)...)
	core, logs = observer.New(zap.InfoLevel)
	openRedis(t, quiet, consent.RedisOptions{Logger: zap.New(core)})
	if n := logs.FilterLevelExact(zap.WarnLevel).Len(); n != 0 {
		t.Errorf("%d warnings with the recommended settings: %v", n, logs.All())
	}
}

func TestRedisCloseTwice(t *testing.T) {
	srv := testredis.Start(t)
	s := openRedis(t, srv, consent.RedisOptions{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetMany(context.Background(), nil); !errors.Is(err, consent.ErrClosed) {
		t.Errorf("GetMany after Close: %v, want ErrClosed", err)
	}
	if _, err := s.History(context.Background(), storetest.Account, storetest.Number); !errors.Is(err, consent.ErrClosed) {
		t.Errorf("History after Close: %v, want ErrClosed", err)
	}
}

func ExampleOpenRedis() {
	ctx := context.Background()
	store, err := consent.OpenRedis(ctx, consent.RedisOptions{
		URL:             "redis://127.0.0.1:6379/0",
		ExpectedRecords: 2_000_000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	rec, err := store.Get(ctx, "acct-1", "+12015550101")
	if err != nil {
		// Fail closed: block the message as store_unavailable.
		fmt.Println(consent.ReasonStoreUnavailable)
		return
	}
	fmt.Println(rec.MTReason())
}
