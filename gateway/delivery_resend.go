package gateway

import "sync"

// sentItems records, per queue, the items this process handed to a
// target and has not seen leave the queue, because their response failed
// or never came, or their Ack failed. The target may have such an item
// already, so sending it again marks it with PossibleResend.
type sentItems struct {
	mu   sync.Mutex
	seqs map[string]map[uint64]struct{}
}

// mark records it as sent and sets it.PossibleResend when it was sent
// before. It reports whether it was not recorded yet.
func (s *sentItems) mark(it *Item) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.seqs[it.Queue]
	if _, ok := q[it.Seq]; ok {
		it.PossibleResend = true
		return false
	}
	if q == nil {
		if s.seqs == nil {
			s.seqs = map[string]map[uint64]struct{}{}
		}
		q = map[uint64]struct{}{}
		s.seqs[it.Queue] = q
	}
	q[it.Seq] = struct{}{}
	return true
}

// forget drops items that left the queue, or that were not sent after
// all.
func (s *sentItems) forget(queue string, seqs ...uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.seqs[queue]
	for _, seq := range seqs {
		delete(q, seq)
	}
	if len(q) == 0 {
		delete(s.seqs, queue)
	}
}

// forgetQueue drops every item of a queue that was found empty, such as
// after a sweep removed its items.
func (s *sentItems) forgetQueue(queue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seqs, queue)
}
