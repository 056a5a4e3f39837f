package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/optgate/optgate/smpp"
)

// Kind is a type of message in the load.
type Kind int

// Message kinds.
const (
	// KindGSM7 is a one-segment text in the GSM 03.38 default alphabet,
	// sent with data_coding 0.
	KindGSM7 Kind = iota
	// KindUCS2 is a one-segment text with characters outside the GSM
	// alphabet, sent as UCS2 with data_coding 8.
	KindUCS2
	// KindLong is a GSM 7-bit text of three segments. Over SMPP each
	// segment is its own submit_sm with a concatenation header (3GPP TS
	// 23.040 section 9.2.3.24.1); over HTTP it is one request.
	KindLong
	kindCount
)

var kindNames = [kindCount]string{"gsm7", "ucs2", "long"}

// String returns the name ParseMix reads: gsm7, ucs2 or long.
func (k Kind) String() string {
	if k < 0 || k >= kindCount {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// The texts of each kind. The long text is 400 GSM characters, which
// takes three segments of at most 153 septets.
var (
	textGSM7 = "Your order 4711 is ready for pickup at Main St until 6 pm. Questions? Call us."
	textUCS2 = "Ваш заказ 4711 готов к выдаче до 18:00 ✓"
	textLong = strings.Repeat("Your weekly offer: two coffees for the price of one, every "+
		"weekday before 10 am at all stores. ", 5)[:400]
)

// Text returns the text a message of kind k carries.
func (k Kind) Text() string {
	switch k {
	case KindUCS2:
		return textUCS2
	case KindLong:
		return textLong
	}
	return textGSM7
}

// Mix is the share of each message kind in the load, in percent. The
// shares add up to 100.
type Mix [kindCount]int

// DefaultMix is all one-segment GSM 7-bit texts.
var DefaultMix = Mix{KindGSM7: 100}

// ParseMix reads a mix such as "gsm7=80,ucs2=10,long=10". Kinds left out
// get 0%, and the percentages must add up to 100.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := [kindCount]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not KIND=PERCENT, such as gsm7=80", s, part)
		}
		k, err := parseKind(strings.TrimSpace(name))
		if err != nil {
			return Mix{}, fmt.Errorf("mix %q: %w", s, err)
		}
		if seen[k] {
			return Mix{}, fmt.Errorf("mix %q: %s is given twice", s, k)
		}
		seen[k] = true
		p, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || p < 0 || p > 100 {
			return Mix{}, fmt.Errorf("mix %q: %s=%s is not a percentage from 0 to 100", s, k, value)
		}
		m[k] = p
	}
	if err := m.Validate(); err != nil {
		return Mix{}, fmt.Errorf("mix %q: %w", s, err)
	}
	return m, nil
}

func parseKind(name string) (Kind, error) {
	for k, n := range kindNames {
		if strings.EqualFold(name, n) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown message kind %q (want gsm7, ucs2 or long)", name)
}

// Validate checks that every share is between 0 and 100 and that they add
// up to 100.
func (m Mix) Validate() error {
	sum := 0
	for k, p := range m {
		if p < 0 || p > 100 {
			return fmt.Errorf("%s=%d is not a percentage from 0 to 100", Kind(k), p)
		}
		sum += p
	}
	if sum != 100 {
		return fmt.Errorf("the percentages add up to %d, want 100", sum)
	}
	return nil
}

// String returns the mix in the form ParseMix reads, without the kinds at
// 0%.
func (m Mix) String() string {
	var parts []string
	for k, p := range m {
		if p > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", Kind(k), p))
		}
	}
	return strings.Join(parts, ",")
}

// pick draws a kind with the mix's probabilities.
func (m Mix) pick(rng *rand.Rand) Kind {
	n := rng.IntN(100)
	for k, p := range m {
		if n < p {
			return Kind(k)
		}
		n -= p
	}
	return KindGSM7
}

// payload is the encoded form of one kind for SMPP: its data_coding and
// the short_message of each segment.
type payload struct {
	coding   smpp.DataCoding
	segments []smpp.Segment
}

// fixedRef is the reference number the payload templates are built with;
// each long message gets its own reference when it is sent.
type fixedRef struct{}

func (fixedRef) NextRef() uint16 { return 0 }

// buildPayloads encodes the text of every kind once, so that the load
// tool spends its CPU on sending rather than encoding.
func buildPayloads() ([kindCount]payload, error) {
	var out [kindCount]payload
	codings := [kindCount]smpp.DataCoding{
		KindGSM7: smpp.CodingDefault, KindUCS2: smpp.CodingUCS2, KindLong: smpp.CodingDefault,
	}
	for k := range kindCount {
		segs, err := smpp.SplitText(k.Text(), codings[k], smpp.SplitOptions{Refs: fixedRef{}})
		if err != nil {
			return out, fmt.Errorf("encode the %s text: %w", k, err)
		}
		out[k] = payload{coding: codings[k], segments: segs}
	}
	if n := len(out[KindLong].segments); n != 3 {
		return out, fmt.Errorf("the long text takes %d segments, want 3", n)
	}
	return out, nil
}

// udhRefOffset is the position of the 8-bit reference number in a
// short_message that starts with a concatenation header: the UDH length,
// the IEI 0x00, the IE length, then the reference (3GPP TS 23.040 section
// 9.2.3.24.1).
const udhRefOffset = 3

// withRef returns a copy of a segment's short_message with its 8-bit
// concatenation reference set to ref.
func withRef(seg smpp.Segment, ref uint8) []byte {
	if !seg.UDHI {
		return seg.Data
	}
	data := append([]byte(nil), seg.Data...)
	data[udhRefOffset] = ref
	return data
}
