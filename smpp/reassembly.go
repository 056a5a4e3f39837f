package smpp

import (
	"container/list"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// Reassembly defaults, used where ReassemblyConfig leaves a field zero.
const (
	DefaultReassemblyTimeout  = 3 * time.Minute
	DefaultReassemblyMaxSets  = 10000
	DefaultReassemblyMaxBytes = 16 << 20
)

// ErrInvalidSegment means a segment's numbers cannot place it: a total or
// sequence number of 0, or a sequence number above the total.
var ErrInvalidSegment = errors.New("smpp: invalid segment number")

// ErrSegmentTooLarge means one segment body is larger than the
// reassembler's whole byte budget.
var ErrSegmentTooLarge = errors.New("smpp: segment larger than the reassembly byte limit")

// PartKey identifies the message a segment belongs to. Segments join when
// every field is equal.
type PartKey struct {
	// Session names the peer or session the segment came from, so equal
	// references from different SMSCs stay apart.
	Session     string
	Source      string // source_addr
	Destination string // destination_addr
	Ref         uint16 // concatenation reference or sar_msg_ref_num
	Total       uint8  // segment count
}

// Part is one incoming segment.
type Part struct {
	Key    PartKey
	Seq    uint8      // 1-based segment number
	Coding DataCoding // data_coding of the segment
	// Body is the encoded text after any header, as UserData.Body holds
	// it: GSM 7-bit text one septet per octet. Add copies it.
	Body []byte
}

// Assembled is a complete message, or the segments received of a dropped
// one.
type Assembled struct {
	Key PartKey
	// Parts are the segments that arrived, in sequence order.
	Parts []Part
	// FirstSeen is when the first segment arrived.
	FirstSeen time.Time
}

// Complete reports whether every segment is present.
func (a Assembled) Complete() bool {
	return len(a.Parts) == int(a.Key.Total)
}

// Missing returns the sequence numbers that did not arrive.
func (a Assembled) Missing() []uint8 {
	var missing []uint8
	next := 0
	for seq := 1; seq <= int(a.Key.Total); seq++ {
		if next < len(a.Parts) && int(a.Parts[next].Seq) == seq {
			next++
			continue
		}
		missing = append(missing, uint8(seq))
	}
	return missing
}

// Body returns the bodies of the present segments joined in order.
func (a Assembled) Body() []byte {
	n := 0
	for _, p := range a.Parts {
		n += len(p.Body)
	}
	out := make([]byte, 0, n)
	for _, p := range a.Parts {
		out = append(out, p.Body...)
	}
	return out
}

// Text decodes the message. When all segments share a data_coding the
// joined bodies are decoded at once, so an escape or surrogate pair that a
// sender split across segments still decodes. Otherwise each segment is
// decoded alone. It ignores opts.Packed, because Part.Body holds GSM 7-bit
// text unpacked.
func (a Assembled) Text(opts TextOptions) (string, error) {
	opts.Packed = false
	if len(a.Parts) == 0 {
		return "", nil
	}
	same := true
	for _, p := range a.Parts[1:] {
		same = same && p.Coding == a.Parts[0].Coding
	}
	if same {
		return DecodeText(a.Parts[0].Coding, a.Body(), opts)
	}
	text := ""
	for _, p := range a.Parts {
		s, err := DecodeText(p.Coding, p.Body, opts)
		if err != nil {
			return "", fmt.Errorf("segment %d: %w", p.Seq, err)
		}
		text += s
	}
	return text, nil
}

// DropReason is the reason a reassembler dropped an incomplete message.
type DropReason uint8

// Reasons for dropping an incomplete message.
const (
	DropExpired DropReason = iota + 1 // its timeout passed
	DropEvicted                       // room was needed for newer segments
)

func (d DropReason) String() string {
	switch d {
	case DropExpired:
		return "expired"
	case DropEvicted:
		return "evicted"
	}
	return fmt.Sprintf("DropReason(%d)", uint8(d))
}

// ReassemblyConfig configures a Reassembler. Zero fields take defaults.
type ReassemblyConfig struct {
	// Timeout is how long an incomplete message waits for its missing
	// segments, counted from its first segment. Default: 3 minutes.
	Timeout time.Duration
	// MaxSets is how many incomplete messages are held at once, and also
	// how many completed ones are remembered for duplicate detection.
	// Default: 10000.
	MaxSets int
	// MaxBytes bounds the stored segment bodies, in octets. Default: 16 MiB.
	// NOTE: the bookkeeping of each stored segment is not counted. It is
	// 88 octets on a 64-bit build, up to twice that while the segment list
	// grows, so many tiny segments hold more memory than MaxBytes suggests.
	MaxBytes int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// OnDrop, when set, receives each incomplete message that expires or
	// is evicted, so the caller can log it or deliver it partially. It is
	// called without locks held, so it may call the Reassembler.
	OnDrop func(Assembled, DropReason)
}

// ReassemblyStats are a Reassembler's counters.
type ReassemblyStats struct {
	Open       int    // incomplete messages held
	Bytes      int    // octets of segment bodies held
	Completed  uint64 // messages completed, single-segment ones included
	Duplicates uint64 // segments dropped because their number had arrived
	Expired    uint64 // incomplete messages dropped after Timeout
	Evicted    uint64 // incomplete messages dropped to stay within limits
}

// Reassembler joins the segments of concatenated messages, from UDH or SAR
// TLVs alike, arriving in any order. Duplicates are dropped, including
// copies that arrive within Timeout after their message completed, as when
// an SMSC resends a segment whose deliver_sm_resp it missed. It holds at
// most MaxSets incomplete messages and MaxBytes octets; when full it evicts
// the oldest message. It is safe for concurrent use.
//
// Expired messages are dropped when Add or Sweep next runs; call Sweep
// periodically so they are reported without waiting for more traffic.
type Reassembler struct {
	cfg  ReassemblyConfig
	seed maphash.Seed

	mu    sync.Mutex
	sets  map[PartKey]*partSet
	order *list.List // *partSet, oldest first
	// done remembers recently completed messages, so a late copy of one of
	// their segments is recognised as a duplicate.
	done      map[PartKey]*completedSet
	doneOrder *list.List // *completedSet, oldest first
	stats     ReassemblyStats
}

// completedSet is a completed message: when it completed and a hash of
// each segment body, indexed by Seq-1.
type completedSet struct {
	key    PartKey
	at     time.Time
	hashes []uint64
	elem   *list.Element
}

// partSet is one incomplete message. It grows with the segments that
// arrived, not with the total the sender announced, so a peer that opens
// many messages of 255 segments and sends one of each costs little.
type partSet struct {
	key       PartKey
	firstSeen time.Time
	parts     []Part    // in arrival order
	seen      [4]uint64 // bit Seq-1 is set once that segment arrived
	elem      *list.Element
}

// has reports whether segment seq arrived.
func (s *partSet) has(seq uint8) bool {
	i := seq - 1
	return s.seen[i/64]&(1<<(i%64)) != 0
}

func (s *partSet) add(p Part) {
	i := p.Seq - 1
	s.seen[i/64] |= 1 << (i % 64)
	s.parts = append(s.parts, p)
}

// dropped is a message removed under the lock and reported after it.
type dropped struct {
	msg    Assembled
	reason DropReason
}

// NewReassembler returns a Reassembler with cfg's zero fields set to the
// defaults.
func NewReassembler(cfg ReassemblyConfig) *Reassembler {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReassemblyTimeout
	}
	if cfg.MaxSets <= 0 {
		cfg.MaxSets = DefaultReassemblyMaxSets
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultReassemblyMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reassembler{
		cfg:       cfg,
		seed:      maphash.MakeSeed(),
		sets:      make(map[PartKey]*partSet),
		order:     list.New(),
		done:      make(map[PartKey]*completedSet),
		doneOrder: list.New(),
	}
}

// Add stores p and returns the whole message once its last segment
// arrives, or nil while segments are missing. A segment whose number has
// already arrived is dropped and counted, and so is an identical copy of a
// segment of a message completed less than Timeout ago. A segment with the
// key of such a message but a different body starts a new message, because
// senders reuse reference numbers. A message of one segment is returned at
// once. Add returns an error wrapping ErrInvalidSegment for
// impossible numbers and ErrSegmentTooLarge for a body over MaxBytes.
func (r *Reassembler) Add(p Part) (*Assembled, error) {
	c := ConcatInfo{Ref: p.Key.Ref, Total: p.Key.Total, Seq: p.Seq}
	if !c.Valid() {
		return nil, fmt.Errorf("%w: segment %d of %d", ErrInvalidSegment, p.Seq, p.Key.Total)
	}
	if len(p.Body) > r.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: %d octets, limit %d", ErrSegmentTooLarge, len(p.Body), r.cfg.MaxBytes)
	}
	// Keep a copy, so the caller may reuse its buffer.
	p.Body = append(make([]byte, 0, len(p.Body)), p.Body...)
	now := r.cfg.Now()
	if p.Key.Total == 1 {
		r.mu.Lock()
		r.stats.Completed++
		r.mu.Unlock()
		return &Assembled{Key: p.Key, Parts: []Part{p}, FirstSeen: now}, nil
	}

	r.mu.Lock()
	drops := r.expireLocked(now, nil)
	msg := r.addLocked(p, now, &drops)
	r.mu.Unlock()
	r.report(drops)
	return msg, nil
}

// addLocked stores p and returns the message when p completes it.
func (r *Reassembler) addLocked(p Part, now time.Time, drops *[]dropped) *Assembled {
	s := r.sets[p.Key]
	if s != nil && s.has(p.Seq) {
		r.stats.Duplicates++
		return nil
	}
	if c := r.done[p.Key]; c != nil && s == nil {
		if c.hashes[p.Seq-1] == maphash.Bytes(r.seed, p.Body) {
			r.stats.Duplicates++
			return nil
		}
		r.forgetCompletedLocked(c)
	}

	// Make room, then find or start the message's set.
	for r.stats.Bytes+len(p.Body) > r.cfg.MaxBytes {
		*drops = append(*drops, r.removeLocked(r.order.Front().Value.(*partSet), DropEvicted))
	}
	if s == nil || r.sets[p.Key] != s {
		for len(r.sets) >= r.cfg.MaxSets {
			*drops = append(*drops, r.removeLocked(r.order.Front().Value.(*partSet), DropEvicted))
		}
		s = &partSet{key: p.Key, firstSeen: now}
		s.elem = r.order.PushBack(s)
		r.sets[p.Key] = s
	}

	s.add(p)
	r.stats.Bytes += len(p.Body)
	if len(s.parts) < int(p.Key.Total) {
		return nil
	}
	r.forgetLocked(s)
	r.rememberCompletedLocked(s, now)
	r.stats.Completed++
	msg := s.assembled()
	return &msg
}

// rememberCompletedLocked records a completed message for duplicate
// detection, keeping at most MaxSets of them.
func (r *Reassembler) rememberCompletedLocked(s *partSet, now time.Time) {
	c := &completedSet{key: s.key, at: now, hashes: make([]uint64, s.key.Total)}
	for _, p := range s.parts {
		c.hashes[p.Seq-1] = maphash.Bytes(r.seed, p.Body)
	}
	for len(r.done) >= r.cfg.MaxSets {
		r.forgetCompletedLocked(r.doneOrder.Front().Value.(*completedSet))
	}
	c.elem = r.doneOrder.PushBack(c)
	r.done[c.key] = c
}

func (r *Reassembler) forgetCompletedLocked(c *completedSet) {
	delete(r.done, c.key)
	r.doneOrder.Remove(c.elem)
}

// Sweep drops the incomplete messages whose timeout has passed, reports
// them to OnDrop and returns how many it dropped.
func (r *Reassembler) Sweep() int {
	r.mu.Lock()
	drops := r.expireLocked(r.cfg.Now(), nil)
	r.mu.Unlock()
	r.report(drops)
	return len(drops)
}

// Stats returns a snapshot of the counters.
func (r *Reassembler) Stats() ReassemblyStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Open = len(r.sets)
	return s
}

// expireLocked removes the incomplete messages older than the timeout,
// oldest first, and the completed-message records older than the timeout.
func (r *Reassembler) expireLocked(now time.Time, drops []dropped) []dropped {
	for e := r.doneOrder.Front(); e != nil; e = r.doneOrder.Front() {
		c := e.Value.(*completedSet)
		if now.Sub(c.at) < r.cfg.Timeout {
			break
		}
		r.forgetCompletedLocked(c)
	}
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		s := e.Value.(*partSet)
		if now.Sub(s.firstSeen) < r.cfg.Timeout {
			break
		}
		drops = append(drops, r.removeLocked(s, DropExpired))
	}
	return drops
}

// removeLocked drops an incomplete message and counts it.
func (r *Reassembler) removeLocked(s *partSet, reason DropReason) dropped {
	r.forgetLocked(s)
	if reason == DropExpired {
		r.stats.Expired++
	} else {
		r.stats.Evicted++
	}
	return dropped{msg: s.assembled(), reason: reason}
}

// forgetLocked unlinks s and releases its bytes.
func (r *Reassembler) forgetLocked(s *partSet) {
	delete(r.sets, s.key)
	r.order.Remove(s.elem)
	for _, p := range s.parts {
		r.stats.Bytes -= len(p.Body)
	}
}

// report hands dropped messages to OnDrop.
func (r *Reassembler) report(drops []dropped) {
	if r.cfg.OnDrop == nil {
		return
	}
	for _, d := range drops {
		r.cfg.OnDrop(d.msg, d.reason)
	}
}

// assembled returns the parts that arrived, in sequence order.
func (s *partSet) assembled() Assembled {
	parts := slices.SortedFunc(slices.Values(s.parts), func(a, b Part) int {
		return int(a.Seq) - int(b.Seq)
	})
	return Assembled{Key: s.key, Parts: parts, FirstSeen: s.firstSeen}
}
