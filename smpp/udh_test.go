package smpp

import (
	"bytes"
	"errors"
	"testing"
)

// Regression: an SMSC sent UDHI with an empty short_message and put the
// header and text in message_payload; the header must be read from there.
func TestRegressionUDHInPayload(t *testing.T) {
	payload := append([]byte{0x05, 0x00, 0x03, 0xAB, 0x02, 0x01}, "Hello from part one"...)
	ud, err := ParseUserData(CodingDefault, payload, true, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := ud.Header.Concat()
	if !ok {
		t.Fatal("no concatenation element")
	}
	if c != (ConcatInfo{Ref: 0xAB, Total: 2, Seq: 1}) {
		t.Errorf("concat = %+v, want ref 0xAB part 1 of 2", c)
	}
	text, err := ud.Text(CodingDefault, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if text != "Hello from part one" {
		t.Errorf("text = %q", text)
	}
}

func TestParseUDH(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		concat *ConcatInfo
		ports  *PortInfo
		rest   string
		count  int
	}{
		{"concat 8-bit", []byte{0x05, 0x00, 0x03, 0x01, 0x03, 0x02, 'x'},
			&ConcatInfo{Ref: 1, Total: 3, Seq: 2}, nil, "x", 1},
		{"concat 16-bit", []byte{0x06, 0x08, 0x04, 0xAB, 0xCD, 0x02, 0x02},
			&ConcatInfo{Ref: 0xABCD, Total: 2, Seq: 2}, nil, "", 1},
		{"ports 8-bit", []byte{0x04, 0x04, 0x02, 0xF5, 0x00}, nil,
			&PortInfo{Destination: 0xF5, Source: 0}, "", 1},
		{"ports 16-bit and concat", []byte{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0,
			0x00, 0x03, 0x09, 0x02, 0x01, 0xAA},
			&ConcatInfo{Ref: 9, Total: 2, Seq: 1},
			&PortInfo{Destination: 0x0B84, Source: 0x23F0, Wide: true}, "\xaa", 2},
		{"unknown element skipped", []byte{0x08, 0x24, 0x01, 0x01, 0x00, 0x03, 0x05, 0x02, 0x02, 'y'},
			&ConcatInfo{Ref: 5, Total: 2, Seq: 2}, nil, "y", 2},
		{"last concat wins", []byte{0x0A, 0x00, 0x03, 0x01, 0x02, 0x01, 0x00, 0x03, 0x02, 0x02, 0x02},
			&ConcatInfo{Ref: 2, Total: 2, Seq: 2}, nil, "", 2},
		{"seq zero ignored", []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x00}, nil, nil, "", 1},
		{"seq past total ignored", []byte{0x05, 0x00, 0x03, 0x01, 0x02, 0x03}, nil, nil, "", 1},
		{"wrong concat length ignored", []byte{0x04, 0x00, 0x02, 0x01, 0x02}, nil, nil, "", 1},
		{"empty header", []byte{0x00, 'z'}, nil, nil, "z", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rest, err := ParseUDH(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Elements) != tt.count {
				t.Errorf("elements = %d, want %d", len(h.Elements), tt.count)
			}
			if string(rest) != tt.rest {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
			c, ok := h.Concat()
			if ok != (tt.concat != nil) || (ok && c != *tt.concat) {
				t.Errorf("Concat() = %+v, %v; want %+v", c, ok, tt.concat)
			}
			p, ok := h.Ports()
			if ok != (tt.ports != nil) || (ok && p != *tt.ports) {
				t.Errorf("Ports() = %+v, %v; want %+v", p, ok, tt.ports)
			}
			if h.Len() != len(tt.in)-len(rest) {
				t.Errorf("Len() = %d, want %d", h.Len(), len(tt.in)-len(rest))
			}
			enc, err := h.Bytes()
			if err != nil || !bytes.Equal(enc, tt.in[:len(tt.in)-len(rest)]) {
				t.Errorf("Bytes() = % x, %v; want % x", enc, err, tt.in[:len(tt.in)-len(rest)])
			}
		})
	}
}

func TestParseUDHMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"length past data", []byte{0x05, 0x00, 0x03, 0xAB}},
		{"element past header", []byte{0x03, 0x00, 0x03, 0xAB, 0x02, 0x01}},
		{"element without length", []byte{0x01, 0x00, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseUDH(tt.in)
			if !errors.Is(err, ErrInvalidUDH) {
				t.Errorf("error = %v, want ErrInvalidUDH", err)
			}
			_, err = ParseUserData(CodingDefault, tt.in, true, TextOptions{})
			if !errors.Is(err, ErrInvalidUDH) {
				t.Errorf("ParseUserData error = %v, want ErrInvalidUDH", err)
			}
		})
	}
}

func TestUDHBytesLimits(t *testing.T) {
	big := UDH{Elements: []InformationElement{{ID: 0x70, Data: make([]byte, 256)}}}
	if _, err := big.Bytes(); err == nil {
		t.Error("Bytes() accepted a header over 139 octets")
	}
	wide := UDH{Elements: []InformationElement{{ID: 0x70, Data: make([]byte, 137)}}}
	if enc, err := wide.Bytes(); err != nil || len(enc) != 140 {
		t.Errorf("139-octet header: %d octets, %v", len(enc), err)
	}
}

func TestConcatUDH(t *testing.T) {
	c := ConcatInfo{Ref: 0x1234, Total: 3, Seq: 2}
	narrow, err := ConcatUDH(c, false).Bytes()
	if err != nil || !bytes.Equal(narrow, []byte{0x05, 0x00, 0x03, 0x34, 0x03, 0x02}) {
		t.Errorf("8-bit header % x, %v", narrow, err)
	}
	wide, err := ConcatUDH(c, true).Bytes()
	if err != nil || !bytes.Equal(wide, []byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02}) {
		t.Errorf("16-bit header % x, %v", wide, err)
	}
}

func FuzzParseUDH(f *testing.F) {
	f.Add([]byte{0x05, 0x00, 0x03, 0xAB, 0x02, 0x01, 'H', 'i'}, false)
	f.Add([]byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01, 0x90, 0x69}, true)
	f.Add([]byte{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x09, 0x02, 0x01}, false)
	f.Add([]byte{0x05, 0x00, 0x03, 0xAB}, false)
	f.Add([]byte{0xFF}, true)
	f.Fuzz(func(t *testing.T, data []byte, packed bool) {
		h, rest, err := ParseUDH(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidUDH) {
				t.Fatalf("error %v does not wrap ErrInvalidUDH", err)
			}
			return
		}
		header := data[:len(data)-len(rest)]
		if h.Len() != len(header) {
			t.Fatalf("Len() = %d, header is %d octets", h.Len(), len(header))
		}
		if enc, err := h.Bytes(); err == nil && !bytes.Equal(enc, header) {
			t.Fatalf("Bytes() = % x, parsed % x", enc, header)
		}
		if c, ok := h.Concat(); ok && !c.Valid() {
			t.Fatalf("Concat() returned invalid %+v", c)
		}
		h.Ports()
		ud, err := ParseUserData(CodingDefault, data, true, TextOptions{Packed: packed})
		if err != nil {
			t.Fatalf("ParseUserData failed after ParseUDH passed: %v", err)
		}
		if _, err := ud.Text(CodingDefault, TextOptions{Packed: packed}); err != nil && packed {
			t.Fatalf("unpacked septets failed to decode: %v", err)
		}
	})
}
