package smpp

import "sync"

// MaxSequenceNumber is the largest sequence_number SMPP 3.4 section 5.1.4
// allows. Sequence numbers run from 1 to this value; 0 is never used.
const MaxSequenceNumber = 0x7FFFFFFF

// Sequencer hands out request sequence numbers from 1 to
// MaxSequenceNumber and then wraps to 1. It never returns 0 or a value
// above MaxSequenceNumber. It is safe for concurrent use, and the zero value
// starts at 1.
//
// A Sequencer alone does not make numbers unique among requests still
// waiting for a response; the session skips a number that is still in use
// after a wrap.
type Sequencer struct {
	mu   sync.Mutex
	next uint32
}

// Next returns the next sequence number.
func (s *Sequencer) Next() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == 0 || s.next > MaxSequenceNumber {
		s.next = 1
	}
	n := s.next
	s.next++
	return n
}

// SetNext makes v the number that Next returns next. A v of 0 or above
// MaxSequenceNumber restarts the count at 1.
func (s *Sequencer) SetNext(v uint32) {
	s.mu.Lock()
	s.next = v
	s.mu.Unlock()
}
