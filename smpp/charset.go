package smpp

import "fmt"

// DataCoding is the data_coding field of submit_sm, deliver_sm and data_sm
// (SMPP 3.4 section 5.2.19). It names the character set of short_message
// and message_payload.
type DataCoding byte

// data_coding values from SMPP 3.4 section 5.2.19. Values from 0xC0 up
// follow the GSM 03.38 (3GPP TS 23.038 section 4) data coding groups.
const (
	CodingDefault          DataCoding = 0x00 // SMSC default alphabet, per-peer (see DefaultAlphabet)
	CodingIA5              DataCoding = 0x01 // IA5 (CCITT T.50), which is ASCII
	CodingOctetUnspecified DataCoding = 0x02 // 8-bit binary
	CodingLatin1           DataCoding = 0x03 // ISO-8859-1
	CodingBinary           DataCoding = 0x04 // 8-bit binary
	CodingJIS              DataCoding = 0x05 // JIS X 0208-1990
	CodingCyrillic         DataCoding = 0x06 // ISO-8859-5
	CodingHebrew           DataCoding = 0x07 // ISO-8859-8
	CodingUCS2             DataCoding = 0x08 // UCS2 (ISO/IEC-10646), big-endian
	CodingPictogram        DataCoding = 0x09 // pictogram encoding
	CodingISO2022JP        DataCoding = 0x0A // ISO-2022-JP (music codes)
	CodingExtendedKanji    DataCoding = 0x0D // extended Kanji JIS (X 0212-1990)
	CodingKSC5601          DataCoding = 0x0E // KS C 5601
)

// String returns the data_coding value with its SMPP 3.4 name.
func (c DataCoding) String() string {
	switch c {
	case CodingDefault:
		return "0x00 (default alphabet)"
	case CodingIA5:
		return "0x01 (IA5)"
	case CodingOctetUnspecified, CodingBinary:
		return fmt.Sprintf("0x%02x (8-bit binary)", byte(c))
	case CodingLatin1:
		return "0x03 (Latin-1)"
	case CodingCyrillic:
		return "0x06 (Cyrillic)"
	case CodingHebrew:
		return "0x07 (Latin/Hebrew)"
	case CodingUCS2:
		return "0x08 (UCS2)"
	}
	return fmt.Sprintf("0x%02x", byte(c))
}

// alphabet is the character set a data_coding value selects once the
// per-peer meaning of 0x00 and the GSM 03.38 coding groups are resolved.
type alphabet uint8

const (
	alphabetUnsupported alphabet = iota
	alphabetGSM7
	alphabetIA5
	alphabetLatin1
	alphabetBinary
	alphabetCyrillic
	alphabetHebrew
	alphabetUCS2
)

// alphabetOf resolves c to an alphabet. Values 0x00-0x0F keep their SMPP 3.4
// meaning. SMPP 3.4 reserves 0x10-0xBF, but some SMSCs pass GSM 03.38 values
// through, so those are read per 3GPP TS 23.038 section 4 too. In the general
// data coding groups (00xx and 01xx) bits 3-2 name the alphabet. The message
// waiting groups 0xC0-0xEF name it by range. In the data coding/message
// class group 0xF0-0xFF bit 2 selects 8-bit data.
func alphabetOf(c DataCoding, def DefaultAlphabet) alphabet {
	switch {
	case c == CodingDefault:
		if def == DefaultLatin1 {
			return alphabetLatin1
		}
		if def == DefaultIA5 {
			return alphabetIA5
		}
		return alphabetGSM7
	case c == CodingIA5:
		return alphabetIA5
	case c == CodingOctetUnspecified, c == CodingBinary:
		return alphabetBinary
	case c == CodingLatin1:
		return alphabetLatin1
	case c == CodingCyrillic:
		return alphabetCyrillic
	case c == CodingHebrew:
		return alphabetHebrew
	case c == CodingUCS2:
		return alphabetUCS2
	case c >= 0x10 && c <= 0x7F:
		if c&0x20 != 0 {
			// Bit 5 marks text compressed with the TS 23.042 algorithm.
			return alphabetUnsupported
		}
		return generalGroupAlphabet(c)
	case c >= 0xC0 && c <= 0xDF:
		return alphabetGSM7
	case c >= 0xE0 && c <= 0xEF:
		return alphabetUCS2
	case c >= 0xF0:
		if c&0x04 != 0 {
			return alphabetBinary
		}
		return alphabetGSM7
	}
	return alphabetUnsupported
}

// generalGroupAlphabet reads bits 3-2 of a general data coding group value.
func generalGroupAlphabet(c DataCoding) alphabet {
	switch (c >> 2) & 0x03 {
	case 0:
		return alphabetGSM7
	case 1:
		return alphabetBinary
	case 2:
		return alphabetUCS2
	}
	return alphabetUnsupported
}

// Segment capacities of the SMS user data field: 140 octets
// (3GPP TS 23.040 section 9.2.3.24), which hold 160 septets.
const (
	maxUserDataOctets  = 140
	maxUserDataSeptets = 160
)

// CountSegments reports how many SMS segments text needs in the smallest
// encoding that holds it, and that encoding's data_coding value.
//
// The encoding is the GSM 03.38 default alphabet (CodingDefault) when every
// character is in its basic or extension table, else UCS2 (CodingUCS2). A
// text that fits one segment (160 septets or 70 UCS2 code units) needs one.
// A longer one is counted as SplitText splits it with an 8-bit reference
// concatenation header: 153 septets or 67 code units per segment, with no
// escape sequence or surrogate pair split. An empty text needs one segment. The count is not limited to 255, the most a concatenated message
// can have.
func CountSegments(text string) (segments int, coding DataCoding) {
	if septets, ok := gsmSeptetCount(text); ok {
		if septets <= maxUserDataSeptets {
			return 1, CodingDefault
		}
		return countGreedy(text, gsmCost, septetCapacity(concatUDHLen)), CodingDefault
	}
	units := ucs2UnitCount(text)
	if units <= maxUserDataOctets/2 {
		return 1, CodingUCS2
	}
	return countGreedy(text, ucs2Cost, (maxUserDataOctets-concatUDHLen)/2), CodingUCS2
}

// countGreedy counts the segments of capacity units that text fills when
// each rune costs cost(r) units and is never split.
func countGreedy(text string, cost func(rune) int, capacity int) int {
	segments, used := 1, 0
	for _, r := range text {
		c := cost(r)
		if used+c > capacity {
			segments++
			used = 0
		}
		used += c
	}
	return segments
}

// septetCapacity returns how many septets follow a UDH of udhLen octets
// (including its length octet) in one segment. The UDH is padded with fill
// bits to a septet boundary (3GPP TS 23.040 section 9.2.3.24).
func septetCapacity(udhLen int) int {
	if udhLen == 0 {
		return maxUserDataSeptets
	}
	return (maxUserDataOctets*8 - septetAlign(udhLen)*7) / 7
}

// septetAlign returns how many septets a UDH of udhLen octets and its fill
// bits occupy.
func septetAlign(udhLen int) int {
	return (udhLen*8 + 6) / 7
}

// ucs2Cost returns the UTF-16 code units r takes: 2 for a surrogate pair.
func ucs2Cost(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// ucs2UnitCount returns the UTF-16 code units of text.
func ucs2UnitCount(text string) int {
	n := 0
	for _, r := range text {
		n += ucs2Cost(r)
	}
	return n
}
