package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// maxJSONDepth bounds the nesting that checkJSONBody walks. The request
// bodies are flat objects, so anything deeper is rejected.
const maxJSONDepth = 32

// checkJSONBody reads the one JSON value in data the way a strict decoder
// would and reports what encoding/json alone lets through:
//   - a key that appears twice in one object, where encoding/json keeps
//     the last value;
//   - a top-level key that names a field of dst only when case is ignored,
//     such as "From" for "from", which encoding/json matches silently;
//   - a string with a \u escape of an unpaired UTF-16 surrogate (RFC 8259
//     section 8.2), which encoding/json turns into U+FFFD.
//
// Syntax errors are left to the decoder, which names them better; the
// walk stops at the first one.
func checkJSONBody(data []byte, dst any) *apiError {
	w := jsonWalker{dec: json.NewDecoder(bytes.NewReader(data)), data: data, fields: jsonFieldNames(dst)}
	e, _ := w.value("", 0)
	return e
}

type jsonWalker struct {
	dec  *json.Decoder
	data []byte
	// fields maps the lower-case form of each field name of the
	// destination struct to the name itself.
	fields map[string]string
}

// value walks one value whose key is field ("" at the top level and in
// arrays). It returns the first problem found, and false when the walk
// must stop.
func (w *jsonWalker) value(field string, depth int) (*apiError, bool) {
	if depth > maxJSONDepth {
		return apiErrorFor(codeInvalidRequest,
			fmt.Sprintf("the JSON body is nested more than %d levels deep", maxJSONDepth)), false
	}
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return nil, false
	}
	switch tok {
	case json.Delim('{'):
		return w.object(depth)
	case json.Delim('['):
		for w.dec.More() {
			if e, ok := w.value(field, depth+1); e != nil || !ok {
				return e, ok
			}
		}
		_, err = w.dec.Token()
		return nil, err == nil
	}
	if _, isString := tok.(string); isString {
		if off, bad := unpairedSurrogate(w.data[start:w.dec.InputOffset()]); bad {
			return unpairedSurrogateError(field, start+int64(off)), false
		}
	}
	return nil, true
}

// object walks the members of an object whose '{' was just read.
func (w *jsonWalker) object(depth int) (*apiError, bool) {
	seen := make(map[string]bool)
	for w.dec.More() {
		start := w.dec.InputOffset()
		tok, err := w.dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		if off, bad := unpairedSurrogate(w.data[start:w.dec.InputOffset()]); bad {
			return unpairedSurrogateError(key, start+int64(off)), false
		}
		if seen[key] {
			return fieldError(key, fmt.Sprintf("field %q appears more than once; send each field once", key)), false
		}
		seen[key] = true
		if depth == 0 {
			if name, ok := w.fields[strings.ToLower(key)]; ok && name != key {
				return fieldError(key, fmt.Sprintf(
					"unknown field %q; field names are case-sensitive, did you mean %q?", key, name)), false
			}
		}
		if e, ok := w.value(key, depth+1); e != nil || !ok {
			return e, ok
		}
	}
	_, err := w.dec.Token()
	return nil, err == nil
}

func unpairedSurrogateError(field string, offset int64) *apiError {
	msg := fmt.Sprintf("the JSON body has an unpaired UTF-16 surrogate escape at byte %d; "+
		"text must be valid Unicode", offset)
	if field == "" {
		return apiErrorFor(codeInvalidRequest, msg)
	}
	e := apiErrorFromStatus(StatusFor(CodeInvalidMessage), nil)
	e.Field = field
	e.Detail = fmt.Sprintf("field %s: %s", field, msg)
	return e
}

// unpairedSurrogate scans raw JSON text that holds at most one string for
// a \uD800-\uDFFF escape that is not a high surrogate directly followed
// by a low one, and returns the offset of the escape.
func unpairedSurrogate(raw []byte) (int, bool) {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escaped character, such as \\ or \"
			continue
		}
		c, ok := hex4(raw, i+2)
		if !ok {
			continue // the decoder reports the bad escape
		}
		switch {
		case c >= 0xDC00 && c <= 0xDFFF:
			return i, true
		case c >= 0xD800 && c <= 0xDBFF:
			low, ok := hex4(raw, i+8)
			if i+7 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' || !ok || low < 0xDC00 || low > 0xDFFF {
				return i, true
			}
			i += 11
		default:
			i += 5
		}
	}
	return 0, false
}

// hex4 decodes the four hex digits at raw[at:].
func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var c rune
	for _, b := range raw[at : at+4] {
		switch {
		case b >= '0' && b <= '9':
			c = c<<4 | rune(b-'0')
		case b >= 'a' && b <= 'f':
			c = c<<4 | rune(b-'a'+10)
		case b >= 'A' && b <= 'F':
			c = c<<4 | rune(b-'A'+10)
		default:
			return 0, false
		}
	}
	return c, true
}

// jsonFieldNames returns the JSON names of the fields of the struct dst
// points to, keyed by their lower-case form.
func jsonFieldNames(dst any) map[string]string {
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := make(map[string]string, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[strings.ToLower(name)] = name
	}
	return names
}
