package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxRedisAttempts bounds the retries of a step whose optimistic check
// failed because another writer changed the same entries in between.
const maxRedisAttempts = 16

// errRedisConflict reports a step that lost every retry to other writers.
var errRedisConflict = fmt.Errorf("gave up after %d attempts because concurrent writes changed the entries each time", maxRedisAttempts)

// luaResolveUnmatched is the Lua function that finds the unmatched entry
// of one lookup key: its own hash, or the hash an alias names.
const luaResolveUnmatched = `
local function resolve(um, alias)
  if redis.call('EXISTS', um) == 1 then return um end
  local a = redis.call('GET', alias)
  if a and redis.call('EXISTS', a) == 1 then return a end
  return nil
end
`

// putMessageScript stores a record and its carrier id keys, and removes
// the unmatched entries of those keys, but only when the unmatched entries
// are the ones the caller expects (hash names and receipt counts), because
// the caller applied their receipts to the record. It returns -1 when they
// differ, else the Seqs of the queued items.
// KEYS: msg, msgexp, umexp, seq, queues, m cid keys, m um keys, m uma
// keys, p expected um hashes, k item streams.
// ARGV: id, record JSON, expires µs, m, p, k, m cid values, p expected
// counts, three arguments per item.
var putMessageScript = redis.NewScript(luaEnqueue + luaResolveUnmatched + `
local m, p, k = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local found, nfound = {}, 0
for j = 1, m do
  local primary = resolve(KEYS[5 + m + j], KEYS[5 + 2 * m + j])
  if primary and not found[primary] then
    found[primary] = redis.call('HGET', primary, 'n')
    nfound = nfound + 1
  end
end
if nfound ~= p then return -1 end
for i = 1, p do
  if found[KEYS[5 + 3 * m + i]] ~= ARGV[6 + m + i] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
for j = 1, m do redis.call('SET', KEYS[5 + j], ARGV[6 + j]) end
for i = 1, p do
  local primary = KEYS[5 + 3 * m + i]
  for _, a in ipairs(cjson.decode(redis.call('HGET', primary, 'a'))) do redis.call('DEL', a) end
  redis.call('DEL', primary)
  redis.call('ZREM', KEYS[3], primary)
end
return enqueue(KEYS[4], KEYS[5], 6 + 3 * m + p, 7 + m + p, k)
`)

// unmatchedViewScript returns the unmatched entries of m lookup keys, each
// as {hash name, key index, count, receipt JSON...}, once per hash.
// KEYS: m um keys, m uma keys. ARGV: m.
var unmatchedViewScript = redis.NewScript(luaResolveUnmatched + `
local m = tonumber(ARGV[1])
local out, seen = {}, {}
for j = 1, m do
  local primary = resolve(KEYS[j], KEYS[m + j])
  if primary and not seen[primary] then
    seen[primary] = true
    local n = tonumber(redis.call('HGET', primary, 'n'))
    local e = {primary, j, n}
    for i = 1, n do e[#e + 1] = redis.call('HGET', primary, 'r' .. i) end
    out[#out + 1] = e
  end
end
return out
`)

// receiptScript looks a receipt up under its keys. It returns {"found",
// id, segment, record JSON} for the first key with a stored record, and
// otherwise keeps the receipt as unmatched under the first key, with
// aliases from the others, and returns {"kept"}, or {"full"} when
// MaxUnmatched entries exist already.
// KEYS: umexp, um hash of the first key, m cid keys, m uma keys.
// ARGV: m, keepUntil µs, max unmatched, carrier, receipt JSON, message key
// prefix.
var receiptScript = redis.NewScript(`
local m = tonumber(ARGV[1])
for j = 1, m do
  local t = redis.call('GET', KEYS[2 + j])
  if t then
    local sep = string.find(t, '\0', 1, true)
    local id = string.sub(t, 1, sep - 1)
    local rec = redis.call('GET', ARGV[6] .. id)
    if rec then return {'found', id, string.sub(t, sep + 1), rec} end
  end
end
local primary = KEYS[2]
local aliases = {}
if redis.call('EXISTS', primary) == 0 then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {'full'} end
  redis.call('HSET', primary, 'c', ARGV[4])
else
  aliases = cjson.decode(redis.call('HGET', primary, 'a'))
end
local known = {}
for _, a in ipairs(aliases) do known[a] = true end
for j = 2, m do
  local a = KEYS[2 + m + j]
  if not known[a] then
    aliases[#aliases + 1] = a
    known[a] = true
  end
  redis.call('SET', a, primary)
end
if #aliases == 0 then
  redis.call('HSET', primary, 'a', '[]')
else
  redis.call('HSET', primary, 'a', cjson.encode(aliases))
end
local n = redis.call('HINCRBY', primary, 'n', 1)
redis.call('HSET', primary, 'r' .. n, ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[2], primary)
return {'kept'}
`)

// commitRecordScript writes a changed record and queues items, but only
// when the stored record is still the one the caller read. It returns -1
// when it changed, else the Seqs of the items.
// KEYS: msg, msgexp, seq, queues, k item streams.
// ARGV: record JSON read, new record JSON, expires µs, id, k, three
// arguments per item.
var commitRecordScript = redis.NewScript(luaEnqueue + `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return enqueue(KEYS[3], KEYS[4], 5, 6, tonumber(ARGV[5]))
`)

// keptReceipt reports the reply of receiptScript that stored the receipt
// as unmatched. The others only read.
func keptReceipt(reply any) bool {
	r, ok := reply.([]any)
	return ok && len(r) > 0 && r[0] == "kept"
}

// conflicted reports a script reply of -1.
func conflicted(reply any) bool {
	n, ok := reply.(int64)
	return ok && n == -1
}

// lookupKey is one carrier id key of a message: its segment and key.
type lookupKey struct {
	segment int
	key     string
}

// PutMessage implements IDMap.
func (s *RedisStore) PutMessage(ctx context.Context, rec MessageRecord, match ReceiptFunc) ([]Item, int, error) {
	if rec.ID == "" || (rec.Carrier == "" && len(rec.Segments) > 0) {
		return nil, 0, fmt.Errorf("put message: missing id or carrier")
	}
	if err := checkCarrier(rec.Carrier); err != nil {
		return nil, 0, fmt.Errorf("put message %s: %w", rec.ID, err)
	}
	items, receipts, err := s.putMessage(ctx, rec, match)
	if err != nil {
		return nil, 0, fmt.Errorf("put message %s: %w", rec.ID, err)
	}
	return items, receipts, nil
}

func (s *RedisStore) putMessage(ctx context.Context, rec MessageRecord, match ReceiptFunc) ([]Item, int, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()

	var lookups []lookupKey
	var cids, ums, aliases []string
	var targets []any
	for i, seg := range rec.Segments {
		for _, k := range seg.Keys {
			lookups = append(lookups, lookupKey{segment: i, key: k})
			cids = append(cids, s.carrierIDKey(rec.Carrier, k))
			ums = append(ums, s.unmatchedKey(rec.Carrier, k))
			aliases = append(aliases, s.aliasKey(rec.Carrier, k))
			targets = append(targets, rec.ID+"\x00"+strconv.Itoa(i))
		}
	}

	// The first attempt expects no unmatched receipts, the usual case. When
	// some exist, they are read, applied to a fresh copy of rec, and the
	// write is tried again expecting exactly them.
	r := rec
	var items []Item
	var expected []string
	var counts []any
	receipts := 0
	for range maxRedisAttempts {
		v, err := json.Marshal(r)
		if err != nil {
			return nil, 0, err
		}
		streams, itemArgs, err := s.itemArgs(items)
		if err != nil {
			return nil, 0, err
		}
		keys := []string{s.messageKey(r.ID), s.key("msgexp"), s.key("umexp"), s.key("seq"), s.key("queues")}
		keys = append(append(append(append(append(keys, cids...), ums...), aliases...), expected...), streams...)
		args := []any{r.ID, v, micros(r.Expires), len(cids), len(expected), len(items)}
		args = append(append(append(args, targets...), counts...), itemArgs...)
		reply, err := s.runWrite(ctx, putMessageScript, wroteUnlessConflict, keys, args...).Result()
		if err != nil {
			return nil, 0, s.storeErr(err)
		}
		if !conflicted(reply) {
			if err := setSeqs(items, reply); err != nil {
				return nil, 0, err
			}
			return items, receipts, nil
		}

		entries, err := s.unmatchedView(ctx, ums, aliases)
		if err != nil {
			return nil, 0, err
		}
		r = rec
		r.Segments = append([]SegmentRecord(nil), rec.Segments...)
		items, expected, counts, receipts = nil, nil, nil, 0
		for _, e := range entries {
			expected = append(expected, e.hash)
			counts = append(counts, strconv.Itoa(len(e.receipts)))
			for _, cr := range e.receipts {
				// A stale receipt is dropped with its entry: it belongs
				// to an older message.
				if staleKeptReceipt(&r, cr) {
					continue
				}
				receipts++
				if match != nil {
					items = append(items, match(&r, lookups[e.index].segment, cr)...)
				}
			}
		}
	}
	return nil, 0, errRedisConflict
}

// unmatchedView is one unmatched entry found for a message's keys.
type unmatchedView struct {
	hash     string
	index    int // index of the lookup key that found it
	receipts []CarrierReceipt
}

func (s *RedisStore) unmatchedView(ctx context.Context, ums, aliases []string) ([]unmatchedView, error) {
	reply, err := unmatchedViewScript.Run(ctx, s.rdb, append(append([]string(nil), ums...), aliases...), len(ums)).Slice()
	if err != nil {
		return nil, s.storeErr(err)
	}
	out := make([]unmatchedView, 0, len(reply))
	for _, raw := range reply {
		e, ok := raw.([]any)
		if !ok || len(e) < 3 {
			return nil, fmt.Errorf("unexpected unmatched entry %v", raw)
		}
		hash, _ := e[0].(string)
		index, _ := e[1].(int64)
		v := unmatchedView{hash: hash, index: int(index) - 1}
		for _, r := range e[3:] {
			str, _ := r.(string)
			var cr CarrierReceipt
			if err := json.Unmarshal([]byte(str), &cr); err != nil {
				return nil, fmt.Errorf("unmatched receipt in %s: %w", hash, err)
			}
			v.receipts = append(v.receipts, cr)
		}
		out = append(out, v)
	}
	return out, nil
}

// Message implements IDMap.
func (s *RedisStore) Message(ctx context.Context, id string) (MessageRecord, error) {
	rec, err := s.message(ctx, id)
	if err != nil {
		return MessageRecord{}, fmt.Errorf("read message %s: %w", id, err)
	}
	return rec, nil
}

func (s *RedisStore) message(ctx context.Context, id string) (MessageRecord, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return MessageRecord{}, err
	}
	defer cancel()
	v, err := s.rdb.Get(ctx, s.messageKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return MessageRecord{}, ErrNotFound
	}
	if err != nil {
		return MessageRecord{}, s.storeErr(err)
	}
	var rec MessageRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return MessageRecord{}, err
	}
	return rec, nil
}

// ApplyReceipt implements IDMap. fn may run more than once when another
// instance changes the same record at the same time; only the items of
// its last run are queued.
func (s *RedisStore) ApplyReceipt(ctx context.Context, keys []string, r CarrierReceipt, keepUntil time.Time,
	fn ReceiptFunc) ([]Item, error) {
	if len(keys) == 0 || r.Carrier == "" {
		return nil, fmt.Errorf("apply receipt: missing carrier or id")
	}
	if err := checkCarrier(r.Carrier); err != nil {
		return nil, fmt.Errorf("apply receipt %s: %w", r.ID, err)
	}
	items, err := s.applyReceipt(ctx, keys, r, keepUntil, fn)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("apply receipt %s from %s: %w", r.ID, r.Carrier, err)
	}
	return items, nil
}

func (s *RedisStore) applyReceipt(ctx context.Context, keys []string, r CarrierReceipt, keepUntil time.Time,
	fn ReceiptFunc) ([]Item, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	receipt, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	lookupKeys := []string{s.key("umexp"), s.unmatchedKey(r.Carrier, keys[0])}
	for _, k := range keys {
		lookupKeys = append(lookupKeys, s.carrierIDKey(r.Carrier, k))
	}
	for _, k := range keys {
		lookupKeys = append(lookupKeys, s.aliasKey(r.Carrier, k))
	}

	for range maxRedisAttempts {
		reply, err := s.runWrite(ctx, receiptScript, keptReceipt, lookupKeys,
			len(keys), micros(keepUntil), s.opts.MaxUnmatched, r.Carrier, receipt, s.messageKey("")).StringSlice()
		if err != nil {
			return nil, s.storeErr(err)
		}
		switch reply[0] {
		case "kept":
			return nil, ErrNotFound
		case "full":
			return nil, errUnmatchedFull
		}
		if len(reply) != 4 {
			return nil, fmt.Errorf("unexpected lookup reply %q", reply)
		}
		items, done, err := s.commitReceipt(ctx, reply[1], reply[2], reply[3], r, fn)
		if err != nil || done {
			return items, err
		}
	}
	return nil, errRedisConflict
}

// commitReceipt runs fn on the record read and writes the result, unless
// the record changed since. It reports whether the write happened.
func (s *RedisStore) commitReceipt(ctx context.Context, id, segment, old string, r CarrierReceipt,
	fn ReceiptFunc) ([]Item, bool, error) {
	var rec MessageRecord
	if err := json.Unmarshal([]byte(old), &rec); err != nil {
		return nil, false, fmt.Errorf("message %s: %w", id, err)
	}
	seg, err := strconv.Atoi(segment)
	if err != nil || seg < 0 || seg >= len(rec.Segments) {
		return nil, false, fmt.Errorf("message %s: carrier id key names segment %q of %d",
			id, segment, len(rec.Segments))
	}
	items := fn(&rec, seg, r)
	v, err := json.Marshal(rec)
	if err != nil {
		return nil, false, err
	}
	streams, itemArgs, err := s.itemArgs(items)
	if err != nil {
		return nil, false, err
	}
	keys := append([]string{s.messageKey(id), s.key("msgexp"), s.key("seq"), s.key("queues")}, streams...)
	args := append([]any{old, v, micros(rec.Expires), id, len(items)}, itemArgs...)
	reply, err := s.runWrite(ctx, commitRecordScript, wroteUnlessConflict, keys, args...).Result()
	if err != nil {
		return nil, false, s.storeErr(err)
	}
	if conflicted(reply) {
		return nil, false, nil
	}
	if err := setSeqs(items, reply); err != nil {
		return nil, false, err
	}
	return items, true, nil
}
