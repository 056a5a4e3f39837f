package consent

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis key layout. With the default prefix "optgate:", account "acct-1"
// and bucket 4711:
//
//	optgate:meta                           hash: format, and "buckets:<account>" = bucket count
//	optgate:{acct-1:4711}:c                hash: one field per number, value = encoded record
//	optgate:{acct-1:4711}:a:+12015550101   list: the number's audit entries, oldest first
//
// The part in braces is the Redis Cluster hash tag, so a number's record
// and its audit list always share one slot and one Lua script may change
// both. Braces and '%' in an account id are percent-encoded so that the id
// cannot end the hash tag early.
//
// A number in E.164 form ("+" and 1 to 15 digits, the first not 0) is read
// as the integer n of its digits. With the account's bucket count N, its
// bucket is n mod N and its field is n div N in decimal. Redis stores such
// a field as a small integer, and the number is rebuilt as field×N +
// bucket. Any other number string goes to the bucket of its FNV-1a hash,
// with the field "~" + number.
//
// N is kept coprime with 10, so numbers that share their last digits still
// spread over all buckets.

// rawFieldPrefix starts the field of a number that is not in E.164 form.
// It is not a digit, so Redis never stores such a field as an integer.
const rawFieldPrefix = "~"

// maxE164Digits is the maximum number of digits of an E.164 number.
const maxE164Digits = 15

// maxE164 is the smallest integer with more digits than an E.164 number.
const maxE164 = 1_000_000_000_000_000

// maxRedisBuckets bounds an account's bucket count.
const maxRedisBuckets = 1 << 24

// redisLayout builds the keys of one store.
type redisLayout struct {
	prefix string
}

// redisPair is the location of one (account, number) pair: its bucket,
// keys and hash field.
type redisPair struct {
	bucket uint32
	// records is the key of the bucket's record hash.
	records string
	field   string
	// audit is the key of the pair's audit list.
	audit string
}

func (l redisLayout) metaKey() string { return l.prefix + "meta" }

// bucketsField is the field of the meta hash that holds the account's
// bucket count.
func bucketsField(account string) string { return "buckets:" + account }

func (l redisLayout) recordsKey(account string, bucket uint32) string {
	var digits [10]byte
	number := strconv.AppendUint(digits[:0], uint64(bucket), 10)
	var b strings.Builder
	b.Grow(len(l.prefix) + len(account) + len(number) + len("{:}:c"))
	b.WriteString(l.prefix)
	b.WriteByte('{')
	writeKeyAccount(&b, account)
	b.WriteByte(':')
	b.Write(number)
	b.WriteString("}:c")
	return b.String()
}

// locate returns the keys and field of a pair in an account with the given
// bucket count.
func (l redisLayout) locate(account, number string, buckets uint32) redisPair {
	p := l.locateRecord(account, number, buckets)
	// The audit key is the record key with "c" replaced.
	p.audit = p.records[:len(p.records)-1] + "a:" + number
	return p
}

// locateRecord is locate without the audit key, for reads of records.
func (l redisLayout) locateRecord(account, number string, buckets uint32) redisPair {
	bucket, field := bucketField(number, buckets)
	return redisPair{bucket: bucket, records: l.recordsKey(account, bucket), field: field}
}

// bucketField returns the bucket and hash field of a number.
func bucketField(number string, buckets uint32) (uint32, string) {
	if n, ok := e164Integer(number); ok {
		return uint32(n % uint64(buckets)), strconv.FormatUint(n/uint64(buckets), 10)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(number))
	return h.Sum32() % buckets, rawFieldPrefix + number
}

// fieldNumber rebuilds the number stored under field in the given bucket.
func fieldNumber(field string, bucket, buckets uint32) (string, error) {
	if raw, ok := strings.CutPrefix(field, rawFieldPrefix); ok {
		return raw, nil
	}
	q, err := strconv.ParseUint(field, 10, 64)
	n := q*uint64(buckets) + uint64(bucket)
	if err != nil || q >= maxE164/uint64(buckets)+1 || n == 0 || n >= maxE164 {
		return "", fmt.Errorf("invalid record field %q in bucket %d", field, bucket)
	}
	return "+" + strconv.FormatUint(n, 10), nil
}

// e164Integer returns the digits of an E.164 number as an integer.
func e164Integer(number string) (uint64, bool) {
	if len(number) < 2 || len(number) > 1+maxE164Digits || number[0] != '+' || number[1] == '0' {
		return 0, false
	}
	var n uint64
	for i := 1; i < len(number); i++ {
		c := number[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// writeKeyAccount writes the account id with '{', '}' and '%' encoded as
// %7B, %7D and %25.
func writeKeyAccount(b *strings.Builder, account string) {
	for i := 0; i < len(account); i++ {
		switch c := account[i]; c {
		case '{', '}', '%':
			fmt.Fprintf(b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
}

// redisBucketCount returns the bucket count for an account expected to hold
// the given number of records: about one bucket per targetLoad records,
// rounded up to a count coprime with 10.
func redisBucketCount(expected, targetLoad int) uint32 {
	n := (max(expected, 1) + targetLoad - 1) / targetLoad
	if n > maxRedisBuckets-3 {
		// 2^24 - 3 ends in 3, so it is already coprime with 10.
		n = maxRedisBuckets - 3
	}
	for n%2 == 0 || n%5 == 0 {
		n++
	}
	return uint32(n)
}

// bucketRead is one HMGET of a GetMany call: the fields read from one
// bucket hash, and the places of their keys in the call's result.
type bucketRead struct {
	key    string
	fields []string
	places []int
	cmd    *redis.SliceCmd
}

// groupByBucket groups keys by bucket hash, in order of first appearance.
// Keys of accounts with no bucket count (0) are left out, because such
// accounts have no records.
func (l redisLayout) groupByBucket(keys []Key, buckets map[string]uint32) []bucketRead {
	pairs := make([]redisPair, len(keys))
	group := make([]int, len(keys))
	index := make(map[string]int, len(keys))
	var reads []bucketRead
	var sizes []int
	for i, k := range keys {
		n := buckets[k.Account]
		if n == 0 {
			group[i] = -1
			continue
		}
		pairs[i] = l.locateRecord(k.Account, k.Number, n)
		g, ok := index[pairs[i].records]
		if !ok {
			g = len(reads)
			index[pairs[i].records] = g
			reads = append(reads, bucketRead{key: pairs[i].records})
			sizes = append(sizes, 0)
		}
		group[i] = g
		sizes[g]++
	}

	// Carve every group's fields and places out of two shared slices. The
	// capacity limits keep one group's appends out of the next group.
	fields := make([]string, 0, len(keys))
	places := make([]int, 0, len(keys))
	offset := 0
	for g, size := range sizes {
		reads[g].fields = fields[offset : offset : offset+size]
		reads[g].places = places[offset : offset : offset+size]
		offset += size
	}
	for i, g := range group {
		if g >= 0 {
			reads[g].fields = append(reads[g].fields, pairs[i].field)
			reads[g].places = append(reads[g].places, i)
		}
	}
	return reads
}
