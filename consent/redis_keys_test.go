package consent

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// crc16 is the CRC-16/XMODEM checksum (polynomial 0x1021, initial value 0)
// that Redis Cluster uses for key slots.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// clusterSlot returns the Redis Cluster hash slot of key: the CRC16 of the
// hash tag (the text between the first '{' and the next '}') if the tag is
// not empty, else of the whole key, modulo 16384.
func clusterSlot(key string) uint16 {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			key = key[open+1 : open+1+end]
		}
	}
	return crc16([]byte(key)) % 16384
}

func TestClusterSlotKnownValues(t *testing.T) {
	// CRC16 check value of the XMODEM variant, and slots that
	// CLUSTER KEYSLOT returns on Redis 7.0.
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#04x, want 0x31c3", got)
	}
	for key, want := range map[string]uint16{
		"foo":                  12182,
		"{user1000}.following": 3443,
		"{user1000}.followers": 3443,
		"foo{}{bar}":           8363,
	} {
		if got := clusterSlot(key); got != want {
			t.Errorf("slot of %q = %d, want %d", key, got, want)
		}
	}
}

func TestRedisKeysShareSlot(t *testing.T) {
	layouts := []redisLayout{{prefix: "optgate:"}, {prefix: ""}, {prefix: "a:b:"}}
	accounts := []string{"acct-1", "a{b", "}", "{}", "a}b{c", "%7B", "x:1", "{"}
	numbers := []string{"+12015550101", "+18885550100", "+1{2}", "}{", "12015550101", "+0123"}
	for _, l := range layouts {
		for _, account := range accounts {
			for _, number := range numbers {
				for _, buckets := range []uint32{1, 7, 15627} {
					p := l.locate(account, number, buckets)
					if a, r := clusterSlot(p.audit), clusterSlot(p.records); a != r {
						t.Errorf("prefix %q account %q number %q: audit key %q in slot %d, record key %q in slot %d",
							l.prefix, account, number, p.audit, a, p.records, r)
					}
					if !strings.HasPrefix(p.audit, l.prefix) || !strings.HasPrefix(p.records, l.prefix) {
						t.Errorf("keys %q and %q lack the prefix %q", p.records, p.audit, l.prefix)
					}
				}
			}
		}
	}
}

func TestRedisKeysDistinctAccounts(t *testing.T) {
	l := redisLayout{prefix: "optgate:"}
	accounts := []string{"a{", "a%7B", "a%257B", "a}", "a%7D", "a", "a:1", "a:1:1"}
	seen := map[string]string{}
	for _, account := range accounts {
		for bucket := range uint32(3) {
			key := l.recordsKey(account, bucket)
			if other, dup := seen[key]; dup {
				t.Errorf("account %q bucket %d and %s share key %q", account, bucket, other, key)
			}
			seen[key] = fmt.Sprintf("account %q bucket %d", account, bucket)
		}
	}
}

func TestRedisBucketsSpreadOverSlots(t *testing.T) {
	l := redisLayout{prefix: "optgate:"}
	slots := map[uint16]bool{}
	const buckets = 4001
	for b := range uint32(buckets) {
		slots[clusterSlot(l.recordsKey("acct-1", b))] = true
	}
	// 4001 keys thrown into 16384 slots land in about 3560 distinct ones.
	if len(slots) < 3300 {
		t.Errorf("%d buckets of one account use only %d cluster slots", buckets, len(slots))
	}
}

func TestBucketFieldRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		number := rapid.OneOf(
			rapid.StringMatching(`\+[1-9][0-9]{0,14}`),
			rapid.StringMatching(`\+1[2-9][0-9]{9}`),
			rapid.StringN(1, 32, 32).Filter(func(s string) bool { return !strings.ContainsRune(s, 0) }),
		).Draw(t, "number")
		buckets := rapid.Uint32Range(1, maxRedisBuckets).Draw(t, "buckets")
		bucket, field := bucketField(number, buckets)
		if bucket >= buckets {
			t.Fatalf("bucket %d of %q is not below the count %d", bucket, number, buckets)
		}
		got, err := fieldNumber(field, bucket, buckets)
		if err != nil {
			t.Fatalf("field %q of %q: %v", field, number, err)
		}
		if got != number {
			t.Fatalf("field %q in bucket %d/%d rebuilds %q, want %q", field, bucket, buckets, got, number)
		}
	})
}

func TestBucketFieldForms(t *testing.T) {
	for _, tc := range []struct {
		number  string
		buckets uint32
		bucket  uint32
		field   string
	}{
		{"+12015550101", 15627, 12015550101 % 15627, "768896"},
		{"+12015550101", 1, 0, "12015550101"},
		{"+999999999999999", 3, 0, "333333333333333"},
		{"+1", 7, 1, "0"},
		{"+0123", 7, 0, "~+0123"},
		{"+1234567890123456", 7, 0, "~+1234567890123456"},
		{"12015550101", 7, 0, "~12015550101"},
	} {
		bucket, field := bucketField(tc.number, tc.buckets)
		if field != tc.field {
			t.Errorf("field of %q with %d buckets = %q, want %q", tc.number, tc.buckets, field, tc.field)
		}
		if !strings.HasPrefix(field, rawFieldPrefix) && bucket != tc.bucket {
			t.Errorf("bucket of %q with %d buckets = %d, want %d", tc.number, tc.buckets, bucket, tc.bucket)
		}
	}
}

func TestFieldNumberRejects(t *testing.T) {
	for _, tc := range []struct {
		field   string
		bucket  uint32
		buckets uint32
	}{
		{"", 0, 7},
		{"-1", 0, 7},
		{"12a", 0, 7},
		{"0", 0, 7},                    // the number 0
		{"1000000000000000", 0, 1},     // 16 digits
		{"142857142857143", 0, 7},      // 15 digits times 7 overflows E.164
		{"18446744073709551615", 3, 7}, // uint64 overflow
		{"99999999999999999999", 1, 2}, // not a uint64
	} {
		if n, err := fieldNumber(tc.field, tc.bucket, tc.buckets); err == nil {
			t.Errorf("field %q in bucket %d/%d rebuilt %q, want an error", tc.field, tc.bucket, tc.buckets, n)
		}
	}
}

func TestRedisBucketCount(t *testing.T) {
	for _, tc := range []struct {
		expected int
		want     uint32
	}{
		{0, 1},
		{1, 1},
		{64, 1},
		{65, 3}, // 2 is even
		{640, 11},
		{1_000_000, 15627},
		{1 << 40, maxRedisBuckets - 3},
	} {
		got := redisBucketCount(tc.expected, RedisBucketLoad)
		if got != tc.want {
			t.Errorf("redisBucketCount(%d) = %d, want %d", tc.expected, got, tc.want)
		}
		if got%2 == 0 || got%5 == 0 {
			t.Errorf("redisBucketCount(%d) = %d shares a factor with 10", tc.expected, got)
		}
	}
}

// bucketLoads returns the number of records in each bucket.
func bucketLoads(numbers []string, buckets uint32) []int {
	loads := make([]int, buckets)
	for _, n := range numbers {
		b, _ := bucketField(n, buckets)
		loads[b]++
	}
	return loads
}

// sparseNumbers returns count distinct NANP numbers spread the way real
// subscriber lists are: a few hundred area codes, a few exchanges in each,
// random line numbers.
func sparseNumbers(rng *rand.Rand, count int) []string {
	seen := make(map[string]bool, count)
	out := make([]string, 0, count)
	for len(out) < count {
		area := 201 + rng.IntN(300)
		exchange := 200 + rng.IntN(20)*37
		n := fmt.Sprintf("+1%03d%03d%04d", area, exchange, rng.IntN(10000))
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func TestBucketLoadSparseNumbers(t *testing.T) {
	const count = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]string{
		"sparse": sparseNumbers(rng, count),
	}
	block := make([]string, count)
	sameEnding := make([]string, count)
	for i := range count {
		block[i] = fmt.Sprintf("+1201%07d", 5550000+i)
		// Every number ends in 00: a bucket count sharing a factor with
		// 10 would leave most buckets empty.
		sameEnding[i] = fmt.Sprintf("+1%08d00", 20155500+i*7)
	}
	cases["one block"] = block
	cases["same last digits"] = sameEnding

	buckets := redisBucketCount(count, RedisBucketLoad)
	for name, numbers := range cases {
		loads := bucketLoads(numbers, buckets)
		maxLoad, empty := 0, 0
		for _, n := range loads {
			maxLoad = max(maxLoad, n)
			if n == 0 {
				empty++
			}
		}
		// A Poisson spread with mean 64 over 3125 buckets stays below
		// about 100; 128 is the Redis default listpack limit.
		if maxLoad >= 110 {
			t.Errorf("%s: fullest of %d buckets holds %d numbers, want under 110 (mean %d)",
				name, buckets, maxLoad, count/int(buckets))
		}
		if empty > 0 {
			t.Errorf("%s: %d of %d buckets are empty", name, empty, buckets)
		}
	}
}

func TestGroupByBucket(t *testing.T) {
	l := redisLayout{prefix: "optgate:"}
	buckets := map[string]uint32{"a": 3, "b": 1, "none": 0}
	keys := []Key{
		{Account: "a", Number: "+12015550101"},
		{Account: "b", Number: "+12015550101"},
		{Account: "none", Number: "+12015550101"},
		{Account: "a", Number: "+12015550104"}, // same bucket as the first: 3 apart
		{Account: "a", Number: "+12015550102"},
		{Account: "b", Number: "+12015550199"},
		{Account: "a", Number: "+12015550101"}, // repeated key
	}
	reads := l.groupByBucket(keys, buckets)
	if len(reads) != 3 {
		t.Fatalf("%d bucket reads, want 3 (two buckets of a, one of b)", len(reads))
	}
	seen := make([]int, len(keys))
	for _, read := range reads {
		if len(read.fields) != len(read.places) {
			t.Fatalf("read of %s has %d fields for %d places", read.key, len(read.fields), len(read.places))
		}
		for j, place := range read.places {
			seen[place]++
			want := l.locateRecord(keys[place].Account, keys[place].Number, buckets[keys[place].Account])
			if read.key != want.records || read.fields[j] != want.field {
				t.Errorf("key %d read as %s field %s, want %s field %s", place, read.key, read.fields[j],
					want.records, want.field)
			}
		}
	}
	for i, n := range seen {
		want := 1
		if keys[i].Account == "none" {
			want = 0
		}
		if n != want {
			t.Errorf("key %d (%s %s) read %d times, want %d", i, keys[i].Account, keys[i].Number, n, want)
		}
	}
	if got := len(reads[0].places); got != 3 {
		t.Errorf("first bucket of a has %d keys, want 3", got)
	}
}
