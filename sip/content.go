package sip

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/text/encoding/ianaindex"
)

// Content types.
const (
	// contentText is the only MESSAGE body optgate sends to carriers
	// (RFC 3428 section 9 makes text/plain mandatory to support).
	contentText = "text/plain"
	// contentTextUTF8 is the Content-Type of the MESSAGE requests optgate
	// sends.
	contentTextUTF8 = "text/plain;charset=UTF-8"
	// contentOptIn is the INFO body that requests an opt-in for the
	// call's remote party.
	contentOptIn = "application/x-optgate-optin"
	// contentDTMFRelay and contentDTMF are the INFO bodies that carry a
	// key press: "Signal=1" lines, as many PBXs send, and a bare digit.
	contentDTMFRelay = "application/dtmf-relay"
	contentDTMF      = "application/dtmf"
)

// contentError is a body optgate cannot read. Accept, when set, is the
// Accept header of a 415 response.
type contentError struct {
	// status is 400 for a malformed header and 415 for an unsupported
	// type, charset or encoding (RFC 3261 section 21.4.13).
	status int
	accept string
	// acceptEncoding is set instead of accept for a Content-Encoding
	// optgate does not apply.
	acceptEncoding string
	err            error
}

func (e *contentError) Error() string { return e.err.Error() }

// errInvalidText marks a body that is not valid in its charset.
var errInvalidText = errors.New("body is not valid text in its charset")

// contentType returns the media type, lowercased, and the parameters of
// req's Content-Type, whose type and parameter names are case-insensitive
// and whose values may be quoted (RFC 3261 section 20.15, RFC 2045
// section 5.1). It returns "" when the header is missing.
func contentType(req *sip.Request) (string, map[string]string, error) {
	h := req.ContentType()
	if h == nil {
		return "", nil, nil
	}
	mediaType, params, err := mime.ParseMediaType(h.Value())
	if err != nil {
		return "", nil, fmt.Errorf("content-type %q: %w", h.Value(), err)
	}
	return mediaType, params, nil
}

// messageText returns the text of a MESSAGE body. The body must be
// text/plain in UTF-8, US-ASCII or another charset IANA registers, and
// must not be content-encoded.
func messageText(req *sip.Request) (string, error) {
	if enc := contentEncoding(req); enc != "" && !strings.EqualFold(enc, "identity") {
		return "", &contentError{status: 415, acceptEncoding: "identity",
			err: fmt.Errorf("content-encoding %q is not supported", enc)}
	}
	mediaType, params, err := contentType(req)
	if err != nil {
		return "", &contentError{status: 400, err: err}
	}
	body := req.Body()
	switch {
	case mediaType == "" && len(body) == 0:
		return "", nil
	case mediaType == "":
		// RFC 3261 section 20.15: a non-empty body needs a Content-Type.
		return "", &contentError{status: 415, accept: contentText, err: errors.New("body without content-type")}
	case mediaType != contentText:
		return "", &contentError{status: 415, accept: contentText,
			err: fmt.Errorf("content-type %s is not supported", mediaType)}
	}
	return decodeText(body, params["charset"])
}

// decodeText decodes body from charset. An empty charset is read as
// UTF-8, which many user agents send without saying so and which
// contains US-ASCII, the default of text/plain (RFC 2046 section 4.1.2).
func decodeText(body []byte, charset string) (string, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if !utf8.Valid(body) {
			return "", fmt.Errorf("%w: UTF-8", errInvalidText)
		}
		return string(body), nil
	}
	enc, err := ianaindex.MIME.Encoding(charset)
	if err != nil || enc == nil {
		return "", &contentError{status: 415, accept: contentTextUTF8,
			err: fmt.Errorf("charset %q is not supported", charset)}
	}
	// Decoders of x/text turn bytes the charset does not define into
	// U+FFFD, which is taken here as invalid input.
	text, err := enc.NewDecoder().Bytes(body)
	if err != nil || strings.ContainsRune(string(text), utf8.RuneError) {
		return "", fmt.Errorf("%w: %s", errInvalidText, charset)
	}
	return string(text), nil
}

// contentEncoding returns the Content-Encoding of req, long or compact
// form "e" (RFC 3261 section 7.3.3).
func contentEncoding(req *sip.Request) string {
	for _, name := range []string{"Content-Encoding", "e"} {
		if h := req.GetHeader(name); h != nil {
			return strings.TrimSpace(h.Value())
		}
	}
	return ""
}

// phoneNumber returns the phone number a tel: or sip: URI names: the
// subscriber part of a tel: URI, or the user part of a sip: or sips: URI,
// without parameters and visual separators (RFC 3966 section 5.1.1).
// It returns "" when the URI names no user. The number may be E.164 or
// national; the gateway normalizes and checks it.
func phoneNumber(u sip.Uri) string {
	var user string
	switch u.Scheme {
	case "tel":
		user = u.Raw()
	case "sip", "sips", "":
		user = u.User
		if unescaped, err := url.PathUnescape(user); err == nil {
			user = unescaped
		}
	default:
		return ""
	}
	if i := strings.IndexByte(user, ';'); i >= 0 {
		user = user[:i]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')', ' ':
			return -1
		}
		return r
	}, user)
}
