package gateway

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/optgate/optgate/smpp"
)

// checkMTText rejects the text of an MT that no subscriber should get.
// That is UCS-2 short_message octets with an unpaired UTF-16 surrogate,
// text that is not valid UTF-8, and text with a C0 control character other
// than tab, line feed and carriage return, because a NUL would reach the
// carrier. It is also text that is empty once white space and invisible
// format characters such as U+200B are set aside. Binary data and segments
// a business split itself (with a user data header) are passed on as they
// are, so they are not checked.
func checkMTText(mt MT, body content) error {
	if !body.isText {
		return nil
	}
	if mt.Data != nil && isUCS2Coding(mt.DataCoding) {
		if at, bad := unpairedUCS2(mt.Data); bad {
			return fmt.Errorf("the UCS-2 text has an unpaired UTF-16 surrogate at octet %d", at)
		}
	}
	return checkText(body.text)
}

// checkText checks decoded text; see checkMTText.
func checkText(text string) error {
	if !utf8.ValidString(text) {
		return errors.New("the text is not valid UTF-8")
	}
	visible := false
	for i, r := range text {
		switch {
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			return fmt.Errorf("the text has control character U+%04X at byte %d; "+
				"only tab, line feed and carriage return are allowed", r, i)
		case !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r):
			visible = true
		}
	}
	if !visible {
		return errors.New("the text is empty or only white space and invisible characters")
	}
	return nil
}

// isUCS2Coding reports the data_coding values whose short_message is
// UCS-2: 0x08 (SMPP 3.4 section 5.2.19) and the UCS-2 alphabet of the
// GSM 03.38 general data coding group without compression (3GPP TS
// 23.038 section 4).
func isUCS2Coding(c smpp.DataCoding) bool {
	return c == smpp.CodingUCS2 || (c >= 0x10 && c < 0x20 && (c>>2)&0x03 == 0x02)
}

// unpairedUCS2 returns the offset of the first UTF-16 surrogate in
// big-endian data that is not a high surrogate followed by a low one.
func unpairedUCS2(data []byte) (int, bool) {
	for i := 0; i+1 < len(data); i += 2 {
		u := uint16(data[i])<<8 | uint16(data[i+1])
		switch {
		case u >= 0xDC00 && u <= 0xDFFF:
			return i, true
		case u >= 0xD800 && u <= 0xDBFF:
			if i+3 >= len(data) {
				return i, true
			}
			low := uint16(data[i+2])<<8 | uint16(data[i+3])
			if low < 0xDC00 || low > 0xDFFF {
				return i, true
			}
			i += 2
		}
	}
	return 0, false
}
