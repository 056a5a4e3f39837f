package consent

import (
	"sync"
	"sync/atomic"
)

// indexShards spreads one account's records over independently locked
// maps, so parallel readers on several cores rarely share a lock.
const indexShards = 64

// recordIndex is the in-memory copy of every record of the embedded store,
// grouped by account. The account table is copied on write, so reads take
// no lock to find an account.
type recordIndex struct {
	mu       sync.Mutex // serializes additions to the account table
	accounts atomic.Pointer[map[string]*accountRecords]
}

type accountRecords struct {
	shards [indexShards]indexShard
}

type indexShard struct {
	mu sync.RWMutex
	// nums holds the records of E.164 numbers, keyed by their digits as an
	// integer: integer keys need no string comparison, which would read the
	// key's bytes from another cache line. other holds any other key.
	nums  map[uint64]Record
	other map[string]Record
	// Padding keeps neighbouring shard locks on separate cache lines.
	_ [24]byte
}

func newRecordIndex() *recordIndex {
	ix := &recordIndex{}
	ix.accounts.Store(&map[string]*accountRecords{})
	return ix
}

// numberKey returns the digits of an E.164 number ("+" and 1 to 15 digits,
// the first not 0) as an integer. Distinct numbers give distinct integers.
func numberKey(number string) (uint64, bool) {
	if len(number) < 2 || len(number) > 16 || number[0] != '+' || number[1] == '0' {
		return 0, false
	}
	var k uint64
	for i := 1; i < len(number); i++ {
		c := number[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + uint64(c-'0')
	}
	return k, true
}

// shard returns the shard of a number and its integer key, if it has one.
// The last digits of phone numbers are spread evenly, so the integer
// modulo the shard count spreads them too.
func (acc *accountRecords) shard(number string) (*indexShard, uint64, bool) {
	if k, ok := numberKey(number); ok {
		return &acc.shards[k%indexShards], k, true
	}
	var h uint
	for i := 0; i < len(number); i++ {
		h = h*31 + uint(number[i])
	}
	return &acc.shards[h%indexShards], 0, false
}

func (ix *recordIndex) get(k Key) Record {
	acc := (*ix.accounts.Load())[k.Account]
	if acc == nil {
		return Record{}
	}
	sh, n, ok := acc.shard(k.Number)
	sh.mu.RLock()
	var r Record
	if ok {
		r = sh.nums[n]
	} else {
		r = sh.other[k.Number]
	}
	sh.mu.RUnlock()
	return r
}

// account returns the records of the account, adding the account first if
// needed.
func (ix *recordIndex) account(name string) *accountRecords {
	if acc := (*ix.accounts.Load())[name]; acc != nil {
		return acc
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := *ix.accounts.Load()
	if acc := old[name]; acc != nil {
		return acc
	}
	acc := &accountRecords{}
	for i := range acc.shards {
		acc.shards[i].nums = make(map[uint64]Record)
		acc.shards[i].other = make(map[string]Record)
	}
	table := make(map[string]*accountRecords, len(old)+1)
	for k, v := range old {
		table[k] = v
	}
	table[name] = acc
	ix.accounts.Store(&table)
	return acc
}

func (ix *recordIndex) put(k Key, r Record) {
	sh, n, ok := ix.account(k.Account).shard(k.Number)
	sh.mu.Lock()
	if ok {
		sh.nums[n] = r
	} else {
		sh.other[k.Number] = r
	}
	sh.mu.Unlock()
}

// putNewer stores r unless the index already holds a later version of the
// record. Two commits to one pair may reach the index in either order, and
// Seq grows with every commit.
func (ix *recordIndex) putNewer(k Key, r Record) {
	sh, n, ok := ix.account(k.Account).shard(k.Number)
	sh.mu.Lock()
	if ok {
		if old, found := sh.nums[n]; !found || old.Seq < r.Seq {
			sh.nums[n] = r
		}
	} else if old, found := sh.other[k.Number]; !found || old.Seq < r.Seq {
		sh.other[k.Number] = r
	}
	sh.mu.Unlock()
}
