package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/smpp"
)

// luaEnqueue is the Lua function that appends items to their streams.
// Scripts that queue items include it. The stream keys of count items
// start at KEYS[k], and their arguments (queue, item JSON, enqueued time
// in µs) at ARGV[a]. It returns the Seq of each item.
const luaEnqueue = `
local function enqueue(seqs, queues, k, a, count)
  local out = {}
  for i = 0, count - 1 do
    local q = ARGV[a + 3 * i]
    local seq = redis.call('HINCRBY', seqs, q, 1)
    redis.call('XADD', KEYS[k + i], seq .. '-0', 'd', ARGV[a + 3 * i + 1], 't', ARGV[a + 3 * i + 2])
    redis.call('SADD', queues, q)
    out[#out + 1] = seq
  end
  return out
end
`

// enqueueScript deletes finished partial MO texts and queues items.
// KEYS: seq, queues, partfirst, the f part hashes, the item streams.
// ARGV: f, item count, then three arguments per item.
var enqueueScript = redis.NewScript(luaEnqueue + `
local f, k = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, f do
  redis.call('DEL', KEYS[3 + i])
  redis.call('ZREM', KEYS[3], KEYS[3 + i])
end
return enqueue(KEYS[1], KEYS[2], 4 + f, 3, k)
`)

// peekScript takes or renews the queue's lease and returns up to n
// entries as id, item JSON, read-before triples: the consumer's pending
// entries first, with read-before "1" because this consumer or one it
// took them over from read them already, then new ones with "0". It returns nothing while another consumer holds the
// lease. On taking the lease it claims every pending entry of the group,
// because the previous holder gave the lease up or let it run out.
// KEYS: stream, lease. ARGV: group, consumer, n, lease in ms.
var peekScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return {} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
if not holder then
  redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
  local cursor = '0-0'
  for i = 1, 100 do
    cursor = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, cursor, 'COUNT', 1000, 'JUSTID')[1]
    if cursor == '0-0' then break end
  end
end
local n = tonumber(ARGV[3])
local out = {}
local function collect(reply, before)
  if not reply then return end
  for _, e in ipairs(reply[1][2]) do
    if e[2] then
      local f = e[2]
      for i = 1, #f, 2 do
        if f[i] == 'd' then
          out[#out + 1] = e[1]
          out[#out + 1] = f[i + 1]
          out[#out + 1] = before
        end
      end
    else
      -- The entry was deleted after this consumer read it.
      redis.call('XACK', KEYS[1], ARGV[1], e[1])
    end
  end
end
collect(redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n, 'STREAMS', KEYS[1], '0'), '1')
if #out / 3 < n then
  collect(redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n - #out / 3, 'STREAMS', KEYS[1], '>'), '0')
end
return out
`)

// ackScript removes entries and renews the lease of their holder.
// KEYS: stream, lease. ARGV: group, consumer, lease in ms, then the entry
// ids. A script runs atomically, so the entries go together.
var ackScript = redis.NewScript(`
local ids = {unpack(ARGV, 4)}
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
local n = redis.call('XDEL', KEYS[1], unpack(ids))
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return n
`)

// luaDeadLetter is the Lua function that moves one stream entry to the
// dead letters, which is a list of JSON objects (seq, time in µs, reason,
// item). reason must be JSON-encoded already.
const luaDeadLetter = `
local function deadletter(stream, dead, group, id, fields, reason, now)
  local d
  for i = 1, #fields, 2 do
    if fields[i] == 'd' then d = fields[i + 1] end
  end
  local seq = string.match(id, '^(%d+)')
  redis.call('RPUSH', dead, '{"seq":' .. seq .. ',"time":' .. now .. ',"reason":' .. reason .. ',"item":' .. d .. '}')
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end
`

// deadLetterScript moves one entry to the dead letters.
// KEYS: stream, dead, lease. ARGV: group, entry id, reason JSON, time in
// µs, consumer, lease in ms.
var deadLetterScript = redis.NewScript(luaDeadLetter + `
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 0 then return 0 end
deadletter(KEYS[1], KEYS[2], ARGV[1], ARGV[2], e[1][2], ARGV[3], ARGV[4])
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
return 1
`)

// releaseScript deletes the lease when the consumer holds it.
// KEYS: lease. ARGV: consumer.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// entryID returns the stream entry id of a Seq.
func entryID(seq uint64) string { return strconv.FormatUint(seq, 10) + "-0" }

// entrySeq returns the Seq of a stream entry id.
func entrySeq(id string) (uint64, error) {
	ms, _, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stream entry id %q is not an optgate sequence number", id)
	}
	return seq, nil
}

// itemArgs returns the stream keys and script arguments of items.
func (s *RedisStore) itemArgs(items []Item) ([]string, []any, error) {
	keys := make([]string, 0, len(items))
	args := make([]any, 0, 3*len(items))
	for i, it := range items {
		if it.Queue == "" {
			return nil, nil, fmt.Errorf("item %d has no queue", i)
		}
		// The entry id carries the Seq, so the stored JSON has none.
		it.Seq = 0
		v, err := json.Marshal(it)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, s.streamKey(it.Queue))
		args = append(args, it.Queue, v, micros(it.Enqueued))
	}
	return keys, args, nil
}

// setSeqs copies the Seqs a script returned into items.
func setSeqs(items []Item, reply any) error {
	seqs, ok := reply.([]any)
	if !ok || len(seqs) != len(items) {
		return fmt.Errorf("unexpected script reply %v for %d items", reply, len(items))
	}
	for i, v := range seqs {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("unexpected sequence number %v", v)
		}
		items[i].Seq = uint64(n)
	}
	return nil
}

// Enqueue implements Queue.
func (s *RedisStore) Enqueue(ctx context.Context, items []Item, finished ...smpp.PartKey) ([]Item, error) {
	out, err := s.enqueue(ctx, items, finished)
	if err != nil {
		return nil, fmt.Errorf("enqueue %d items: %w", len(items), err)
	}
	return out, nil
}

func (s *RedisStore) enqueue(ctx context.Context, items []Item, finished []smpp.PartKey) ([]Item, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	streams, itemArgs, err := s.itemArgs(items)
	if err != nil {
		return nil, err
	}
	keys := []string{s.key("seq"), s.key("queues"), s.key("partfirst")}
	for _, k := range finished {
		keys = append(keys, s.partKey(partKeyBytes(k)))
	}
	keys = append(keys, streams...)
	args := append([]any{len(finished), len(items)}, itemArgs...)
	reply, err := s.runWrite(ctx, enqueueScript, nil, keys, args...).Result()
	if err != nil {
		return nil, s.storeErr(err)
	}
	out := slices.Clone(items)
	if err := setSeqs(out, reply); err != nil {
		return nil, err
	}
	return out, nil
}

// Peek implements Queue. It returns the items this consumer may deliver:
// nothing while another consumer holds the queue's lease, which is what
// keeps one queue in order across instances. Entries that were pending
// already, read by this consumer before or taken over from another one,
// get PossibleResend. Items it returns stay
// pending for this consumer until Ack or DeadLetter, or until another
// consumer takes the lease over.
func (s *RedisStore) Peek(ctx context.Context, queue string, n int) ([]Item, error) {
	items, err := s.peek(ctx, queue, n)
	if err != nil {
		return nil, fmt.Errorf("peek queue %s: %w", queue, err)
	}
	return items, nil
}

func (s *RedisStore) peek(ctx context.Context, queue string, n int) ([]Item, error) {
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	reply, err := peekScript.Run(ctx, s.rdb, []string{s.streamKey(queue), s.leaseKey(queue)},
		s.opts.Group, s.opts.Consumer, n, s.opts.Lease.Milliseconds()).StringSlice()
	if err != nil {
		return nil, s.storeErr(err)
	}
	items := make([]Item, 0, len(reply)/3)
	for i := 0; i+2 < len(reply); i += 3 {
		seq, err := entrySeq(reply[i])
		if err != nil {
			return nil, err
		}
		var it Item
		if err := json.Unmarshal([]byte(reply[i+1]), &it); err != nil {
			return nil, fmt.Errorf("item %d: %w", seq, err)
		}
		it.Seq, it.Queue = seq, queue
		it.PossibleResend = reply[i+2] == "1"
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.Seq, b.Seq) })
	if len(items) > n {
		items = items[:n]
	}
	return items, nil
}

// Ack implements Queue. Acknowledging an item that is gone is not an
// error. One script removes all seqs.
func (s *RedisStore) Ack(ctx context.Context, queue string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	ctx, cancel, err := s.begin(ctx)
	if err == nil {
		defer cancel()
		args := make([]any, 0, 3+len(seqs))
		args = append(args, s.opts.Group, s.opts.Consumer, s.opts.Lease.Milliseconds())
		for _, seq := range seqs {
			args = append(args, entryID(seq))
		}
		err = ackScript.Run(ctx, s.rdb, []string{s.streamKey(queue), s.leaseKey(queue)}, args...).Err()
		err = s.storeErr(err)
	}
	if err != nil {
		return fmt.Errorf("ack %s of queue %s: %w", describeSeqs(seqs), queue, err)
	}
	return nil
}

// DeadLetter implements Queue.
func (s *RedisStore) DeadLetter(ctx context.Context, queue string, seq uint64, reason string) error {
	ctx, cancel, err := s.begin(ctx)
	if err == nil {
		defer cancel()
		r, _ := json.Marshal(reason)
		err = deadLetterScript.Run(ctx, s.rdb,
			[]string{s.streamKey(queue), s.deadKey(queue), s.leaseKey(queue)},
			s.opts.Group, entryID(seq), r, micros(time.Now()), s.opts.Consumer, s.opts.Lease.Milliseconds()).Err()
		err = s.storeErr(err)
	}
	if err != nil {
		return fmt.Errorf("dead-letter item %d of queue %s: %w", seq, queue, err)
	}
	return nil
}

// redisDeadLetter is one element of a dead letter list.
type redisDeadLetter struct {
	Seq    uint64 `json:"seq"`
	Time   int64  `json:"time"`
	Reason string `json:"reason"`
	Item   Item   `json:"item"`
}

// DeadLetters returns the dead letters of a queue, oldest first, with
// their reasons, for operators and tests.
func (s *RedisStore) DeadLetters(ctx context.Context, queue string) ([]Item, []string, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read dead letters of queue %s: %w", queue, err)
	}
	defer cancel()
	raw, err := s.rdb.LRange(ctx, s.deadKey(queue), 0, -1).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("read dead letters of queue %s: %w", queue, s.storeErr(err))
	}
	var items []Item
	var reasons []string
	for _, v := range raw {
		var d redisDeadLetter
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return nil, nil, fmt.Errorf("read dead letters of queue %s: %w", queue, err)
		}
		d.Item.Seq, d.Item.Queue = d.Seq, queue
		items = append(items, d.Item)
		reasons = append(reasons, d.Reason)
	}
	return items, reasons, nil
}

// Release gives up this consumer's lease of a queue, so that another
// instance can take the queue over at once, with the entries this one read
// but did not deliver. The dispatcher calls it after a failed delivery,
// such as when the account is bound to another instance.
func (s *RedisStore) Release(ctx context.Context, queue string) error {
	ctx, cancel, err := s.begin(ctx)
	if err == nil {
		defer cancel()
		err = s.storeErr(releaseScript.Run(ctx, s.rdb, []string{s.leaseKey(queue)}, s.opts.Consumer).Err())
	}
	if err != nil {
		return fmt.Errorf("release queue %s: %w", queue, err)
	}
	return nil
}

// Depths implements Queue. It reads the stream lengths from Redis, so it
// counts the items every instance queued; it returns nil when Redis does
// not respond within Timeout.
func (s *RedisStore) Depths() map[string]int {
	if s.closed.Load() {
		return nil
	}
	// Queue.Depths takes no context, because metrics scrapes call it.
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	queues, err := s.rdb.SMembers(ctx, s.key("queues")).Result()
	if err != nil {
		return nil
	}
	pipe := s.rdb.Pipeline()
	lens := make([]*redis.IntCmd, len(queues))
	for i, q := range queues {
		lens[i] = pipe.XLen(ctx, s.streamKey(q))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil
	}
	out := make(map[string]int, len(queues))
	for i, q := range queues {
		if n := lens[i].Val(); n > 0 {
			out[q] = int(n)
		}
	}
	return out
}
