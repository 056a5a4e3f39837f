package gateway

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Block is one message or opt-in request that the consent rules or
// optgate's own checks blocked.
type Block struct {
	Time    time.Time `json:"time"`
	Account string    `json:"account"`
	// Number is the recipient, masked as MaskNumber does.
	Number string `json:"number"`
	// Direction is mt for a text and request for an opt-in request.
	Direction string `json:"direction"`
	Reason    Code   `json:"reason"`
}

// BlockLog keeps the newest blocks in a ring of fixed size. It is safe
// for concurrent use. The zero value keeps nothing, so use NewBlockLog.
type BlockLog struct {
	mu    sync.Mutex
	ring  []Block
	next  int
	count int
}

// DefaultBlockLogSize is how many blocks NewBlockLog keeps when asked for
// no particular size.
const DefaultBlockLogSize = 500

// NewBlockLog returns a log of the size newest blocks. A size of 0 or
// less means DefaultBlockLogSize.
func NewBlockLog(size int) *BlockLog {
	if size <= 0 {
		size = DefaultBlockLogSize
	}
	return &BlockLog{ring: make([]Block, size)}
}

// Record adds a block, masking its number, and drops the oldest one when
// the log is full. A nil log records nothing.
func (l *BlockLog) Record(b Block) {
	if l == nil || len(l.ring) == 0 {
		return
	}
	b.Number = MaskNumber(b.Number)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = b
	l.next = (l.next + 1) % len(l.ring)
	l.count = min(l.count+1, len(l.ring))
}

// Recent returns at most n blocks, newest first.
func (l *BlockLog) Recent(n int) []Block {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(n, l.count)
	out := make([]Block, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	return out
}

// Limits of the limit parameter of GET /v1/blocks/recent.
const (
	defaultRecentBlocks = 100
	maxRecentBlocks     = DefaultBlockLogSize
)

// reasonCount is the number of blocks of one reason since the start.
type reasonCount struct {
	Direction string `json:"direction"`
	Reason    Code   `json:"reason"`
	Count     int64  `json:"count"`
}

// getRecentBlocks returns the newest blocks and the count of every block
// reason since the daemon started, for the operator.
func (a *HTTPAPI) getRecentBlocks(w http.ResponseWriter, r *http.Request, _ caller) {
	limit := defaultRecentBlocks
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRecentBlocks {
			a.writeError(w, r, fieldError("limit",
				fmt.Sprintf("invalid limit %q: use a whole number from 1 to %d", s, maxRecentBlocks)))
			return
		}
		limit = n
	}
	src := a.cfg.Console
	out := struct {
		// Recorded is false when the daemon keeps no BlockLog, so Blocks
		// is empty whatever was blocked.
		Recorded bool          `json:"recorded"`
		Blocks   []Block       `json:"blocks"`
		ByReason []reasonCount `json:"by_reason"`
	}{Recorded: src.Blocks != nil, Blocks: []Block{}, ByReason: blockCounts(src)}
	if b := src.Blocks.Recent(limit); b != nil {
		out.Blocks = b
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// blockCounts reads the blocked messages of optgate_gateway_messages_total
// by direction and reason, most frequent first.
func blockCounts(src ConsoleSources) []reasonCount {
	out := []reasonCount{}
	if src.Traffic == nil {
		return out
	}
	families, _ := src.Traffic.gather.Gather()
	for _, f := range families {
		if f.GetName() != "optgate_gateway_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := labelMap(m.GetLabel())
			if labels["outcome"] != outcomeBlocked || m.GetCounter().GetValue() == 0 {
				continue
			}
			out = append(out, reasonCount{
				Direction: labels["direction"], Reason: Code(labels["reason"]),
				Count: int64(m.GetCounter().GetValue()),
			})
		}
	}
	slices.SortFunc(out, func(x, y reasonCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Direction, y.Direction),
			cmp.Compare(x.Reason, y.Reason))
	})
	return out
}
