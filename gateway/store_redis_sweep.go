package gateway

import (
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

// redisSweepBatch bounds the entries one sweep script removes, so that no
// script keeps Redis busy for long. Sweep runs the script again until a
// run removes fewer.
const redisSweepBatch = 1000

// addPartScript stores one segment and returns every stored segment once
// all have arrived, else nothing. A segment already stored is kept as it
// was.
// KEYS: part hash, partfirst. ARGV: seq, segment JSON, PartKey JSON, first
// seen (RFC 3339), first seen µs, total.
var addPartScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'k', ARGV[3], 'f', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[5], KEYS[1])
end
redis.call('HSETNX', KEYS[1], 's' .. ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) - 2 < tonumber(ARGV[6]) then return {} end
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 1) == 's' then out[#out + 1] = all[i + 1] end
end
return out
`)

// AddPart implements PartStore.
func (s *RedisStore) AddPart(ctx context.Context, p smpp.Part, now time.Time) ([]smpp.Part, bool, error) {
	c := smpp.ConcatInfo{Ref: p.Key.Ref, Total: p.Key.Total, Seq: p.Seq}
	if !c.Valid() {
		return nil, false, fmt.Errorf("add segment: %w: segment %d of %d", smpp.ErrInvalidSegment, p.Seq, p.Key.Total)
	}
	parts, err := s.addPart(ctx, p, now)
	if err != nil {
		return nil, false, fmt.Errorf("add segment %d of %d: %w", p.Seq, p.Key.Total, err)
	}
	return parts, parts != nil, nil
}

func (s *RedisStore) addPart(ctx context.Context, p smpp.Part, now time.Time) ([]smpp.Part, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	body := p.Body
	if body == nil {
		body = []byte{}
	}
	seg, err := json.Marshal(storedPart{Seq: p.Seq, Coding: p.Coding, Body: body})
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(p.Key)
	if err != nil {
		return nil, err
	}
	reply, err := s.runWrite(ctx, addPartScript, nil, []string{s.partKey(partKeyBytes(p.Key)), s.key("partfirst")},
		p.Seq, seg, key, now.Format(time.RFC3339Nano), micros(now), p.Key.Total).StringSlice()
	if err != nil {
		return nil, s.storeErr(err)
	}
	if len(reply) == 0 {
		return nil, nil
	}
	set := storedParts{Key: p.Key}
	if set.Parts, err = decodeStoredParts(reply); err != nil {
		return nil, err
	}
	return set.assembled().Parts, nil
}

// decodeStoredParts decodes stored segments and sorts them by sequence number.
func decodeStoredParts(raw []string) ([]storedPart, error) {
	parts := make([]storedPart, 0, len(raw))
	for _, v := range raw {
		var sp storedPart
		if err := json.Unmarshal([]byte(v), &sp); err != nil {
			return nil, fmt.Errorf("stored segment: %w", err)
		}
		parts = append(parts, sp)
	}
	slices.SortFunc(parts, func(a, b storedPart) int { return int(a.Seq) - int(b.Seq) })
	return parts, nil
}

// sweepMessagesScript deletes up to limit records that expired by now,
// with those of their carrier id keys that still point to them. It returns
// the number of ids it took from msgexp and the number of records deleted.
// KEYS: msgexp. ARGV: now µs, limit, message key prefix, cid key prefix.
var sweepMessagesScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local deleted = 0
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[3] .. id)
  if v then
    local ok, rec = pcall(cjson.decode, v)
    if ok and type(rec.segments) == 'table' and type(rec.carrier) == 'string' then
      for _, seg in ipairs(rec.segments) do
        if type(seg.keys) == 'table' then
          for _, k in ipairs(seg.keys) do
            local ck = ARGV[4] .. rec.carrier .. ':' .. k
            local t = redis.call('GET', ck)
            if t and string.sub(t, 1, #id + 1) == id .. '\0' then redis.call('DEL', ck) end
          end
        end
      end
    end
    redis.call('DEL', ARGV[3] .. id)
    deleted = deleted + 1
  end
  redis.call('ZREM', KEYS[1], id)
end
return {#ids, deleted}
`)

// sweepUnmatchedScript deletes up to limit unmatched entries whose time ran
// out and returns {entries taken, {receipt JSON...}}.
// KEYS: umexp. ARGV: now µs, limit.
var sweepUnmatchedScript = redis.NewScript(`
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, h in ipairs(names) do
  if redis.call('EXISTS', h) == 1 then
    local n = tonumber(redis.call('HGET', h, 'n')) or 0
    for i = 1, n do out[#out + 1] = redis.call('HGET', h, 'r' .. i) end
    local a = redis.call('HGET', h, 'a')
    if a then
      for _, k in ipairs(cjson.decode(a)) do
        if redis.call('GET', k) == h then redis.call('DEL', k) end
      end
    end
    redis.call('DEL', h)
  end
  redis.call('ZREM', KEYS[1], h)
end
return {#names, out}
`)

// sweepPartsScript deletes up to limit partial MO texts first seen before
// a time and returns {entries taken, {hash fields and values...}...}.
// KEYS: partfirst. ARGV: exclusive upper bound "(<µs>", limit.
var sweepPartsScript = redis.NewScript(`
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, h in ipairs(names) do
  local all = redis.call('HGETALL', h)
  if #all > 0 then out[#out + 1] = all end
  redis.call('DEL', h)
  redis.call('ZREM', KEYS[1], h)
end
return {#names, out}
`)

// sweepQueueScript dead-letters up to limit of the oldest items while the
// queue is longer than max, or while they were enqueued before a time.
// It returns the number moved.
// KEYS: stream, dead. ARGV: group, max (0 for none), enqueued-before µs
// (empty for none), reason JSON for length, reason JSON for age, now µs,
// limit.
var sweepQueueScript = redis.NewScript(luaDeadLetter + `
local max, limit = tonumber(ARGV[2]), tonumber(ARGV[7])
local n = redis.call('XLEN', KEYS[1])
local dropped = 0
local start = '-'
while dropped < limit do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then break end
  local stop = false
  for _, e in ipairs(batch) do
    local reason
    if max > 0 and n > max then
      reason = ARGV[4]
    elseif ARGV[3] ~= '' then
      local t
      for i = 1, #e[2], 2 do
        if e[2][i] == 't' then t = tonumber(e[2][i + 1]) end
      end
      if t == nil or t < tonumber(ARGV[3]) then reason = ARGV[5] end
    end
    if reason == nil or dropped >= limit then
      stop = true
      break
    end
    deadletter(KEYS[1], KEYS[2], ARGV[1], e[1], e[2], reason, ARGV[6])
    n = n - 1
    dropped = dropped + 1
  end
  if stop then break end
  start = '(' .. batch[#batch][1]
end
return dropped
`)

// sweepDeadScript deletes up to limit of the oldest dead letters stored
// before a time and returns the number deleted.
// KEYS: dead. ARGV: before µs, limit.
var sweepDeadScript = redis.NewScript(`
local n = 0
while n < tonumber(ARGV[2]) do
  local v = redis.call('LINDEX', KEYS[1], 0)
  if not v then break end
  local t = tonumber(string.match(v, '"time":(%-?%d+)'))
  if t and t >= tonumber(ARGV[1]) then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
`)

// Sweep implements Store. Each kind of entry is removed by its own
// scripts, so several instances may sweep at once: each expired entry is
// removed, and returned, by exactly one of them.
func (s *RedisStore) Sweep(ctx context.Context, limits SweepLimits) (SweepResult, error) {
	res, err := s.sweep(ctx, limits)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep gateway store: %w", err)
	}
	return res, nil
}

func (s *RedisStore) sweep(ctx context.Context, limits SweepLimits) (SweepResult, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return SweepResult{}, err
	}
	defer cancel()
	res := SweepResult{Dropped: map[string]int{}}
	if res.Messages, err = s.sweepMessages(ctx, limits.Now); err != nil {
		return res, fmt.Errorf("messages: %w", err)
	}
	if res.Unmatched, err = s.sweepUnmatched(ctx, limits.Now); err != nil {
		return res, fmt.Errorf("unmatched receipts: %w", err)
	}
	if !limits.PartsBefore.IsZero() {
		if res.Parts, err = s.sweepParts(ctx, limits.PartsBefore); err != nil {
			return res, fmt.Errorf("partial MO texts: %w", err)
		}
	}
	if err := s.sweepQueues(ctx, limits, res.Dropped); err != nil {
		return res, fmt.Errorf("queues: %w", err)
	}
	return res, nil
}

func (s *RedisStore) sweepMessages(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		reply, err := sweepMessagesScript.Run(ctx, s.rdb, []string{s.key("msgexp")},
			micros(now), redisSweepBatch, s.messageKey(""), s.key("cid", "")).Int64Slice()
		if err != nil {
			return total, s.storeErr(err)
		}
		total += int(reply[1])
		if reply[0] < redisSweepBatch {
			return total, nil
		}
	}
}

// sweepReply splits the {taken, {values...}} reply of a sweep script.
func sweepReply(reply []any) (int64, []any, error) {
	if len(reply) != 2 {
		return 0, nil, fmt.Errorf("unexpected sweep reply %v", reply)
	}
	taken, _ := reply[0].(int64)
	values, _ := reply[1].([]any)
	return taken, values, nil
}

func (s *RedisStore) sweepUnmatched(ctx context.Context, now time.Time) ([]CarrierReceipt, error) {
	var out []CarrierReceipt
	for {
		reply, err := sweepUnmatchedScript.Run(ctx, s.rdb, []string{s.key("umexp")},
			micros(now), redisSweepBatch).Slice()
		if err != nil {
			return out, s.storeErr(err)
		}
		taken, values, err := sweepReply(reply)
		if err != nil {
			return out, err
		}
		for _, v := range values {
			str, _ := v.(string)
			var r CarrierReceipt
			if err := json.Unmarshal([]byte(str), &r); err != nil {
				return out, fmt.Errorf("unmatched receipt: %w", err)
			}
			out = append(out, r)
		}
		if taken < redisSweepBatch {
			return out, nil
		}
	}
}

func (s *RedisStore) sweepParts(ctx context.Context, before time.Time) ([]smpp.Assembled, error) {
	var out []smpp.Assembled
	bound := "(" + strconv.FormatInt(micros(before), 10)
	for {
		reply, err := sweepPartsScript.Run(ctx, s.rdb, []string{s.key("partfirst")}, bound, redisSweepBatch).Slice()
		if err != nil {
			return out, s.storeErr(err)
		}
		taken, values, err := sweepReply(reply)
		if err != nil {
			return out, err
		}
		for _, v := range values {
			fields, _ := v.([]any)
			a, err := decodePartHash(fields)
			if err != nil {
				return out, err
			}
			out = append(out, a)
		}
		if taken < redisSweepBatch {
			return out, nil
		}
	}
}

// decodePartHash decodes the HGETALL reply of a part hash.
func decodePartHash(fields []any) (smpp.Assembled, error) {
	var set storedParts
	var segments []string
	for i := 0; i+1 < len(fields); i += 2 {
		name, _ := fields[i].(string)
		value, _ := fields[i+1].(string)
		switch {
		case name == "k":
			if err := json.Unmarshal([]byte(value), &set.Key); err != nil {
				return smpp.Assembled{}, fmt.Errorf("stored segments: %w", err)
			}
		case name == "f":
			t, err := time.Parse(time.RFC3339Nano, value)
			if err != nil {
				return smpp.Assembled{}, fmt.Errorf("stored segments: %w", err)
			}
			set.FirstSeen = t
		case strings.HasPrefix(name, "s"):
			segments = append(segments, value)
		}
	}
	var err error
	if set.Parts, err = decodeStoredParts(segments); err != nil {
		return smpp.Assembled{}, err
	}
	return set.assembled(), nil
}

func (s *RedisStore) sweepQueues(ctx context.Context, limits SweepLimits, dropped map[string]int) error {
	queues, err := s.rdb.SMembers(ctx, s.key("queues")).Result()
	if err != nil {
		return s.storeErr(err)
	}
	slices.Sort(queues)
	maxReason, _ := json.Marshal(fmt.Sprintf("queue held more than %d items", limits.MaxItems))
	ageReason, _ := json.Marshal("not delivered before the retention limit")
	before := ""
	if !limits.ItemsBefore.IsZero() {
		before = strconv.FormatInt(micros(limits.ItemsBefore), 10)
	}
	for _, q := range queues {
		for limits.MaxItems > 0 || before != "" {
			n, err := sweepQueueScript.Run(ctx, s.rdb, []string{s.streamKey(q), s.deadKey(q)},
				s.opts.Group, max(limits.MaxItems, 0), before, maxReason, ageReason,
				micros(limits.Now), redisSweepBatch).Int()
			if err != nil {
				return s.storeErr(err)
			}
			if n > 0 {
				dropped[q] += n
			}
			if n < redisSweepBatch {
				break
			}
		}
		if limits.DeadBefore.IsZero() {
			continue
		}
		for {
			n, err := sweepDeadScript.Run(ctx, s.rdb, []string{s.deadKey(q)},
				micros(limits.DeadBefore), redisSweepBatch).Int()
			if err != nil {
				return s.storeErr(err)
			}
			if n < redisSweepBatch {
				break
			}
		}
	}
	return nil
}
