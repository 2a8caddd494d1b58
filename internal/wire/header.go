package wire

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrMalformed means a request could not be parsed; the connection must be closed.
var ErrMalformed = errors.New("wire: malformed request")

// Header is a parsed request header.
type Header struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      *string
	// Flexible reports whether the request (and so its response) uses tagged fields.
	Flexible bool
}

// ParseHeader decodes the request header at the start of frame and returns it with the
// remaining body bytes. It needs the API key and version to know the header's version, so an
// unknown key is an error; an unknown version of a known key is not (the caller decides).
func ParseHeader(frame []byte) (Header, []byte, error) {
	b := kbin.Reader{Src: frame}
	h := Header{APIKey: b.Int16(), APIVersion: b.Int16(), CorrelationID: b.Int32()}
	if !b.Ok() {
		return h, nil, fmt.Errorf("%w: short header", ErrMalformed)
	}
	req := kmsg.RequestForKey(h.APIKey)
	if req == nil {
		return h, nil, fmt.Errorf("%w: unknown api key %d", ErrMalformed, h.APIKey)
	}
	req.SetVersion(h.APIVersion)
	h.Flexible = req.IsFlexible()
	// ControlledShutdown v0 is the one request without a client id (header v0).
	if !(h.APIKey == kmsg.ControlledShutdown.Int16() && h.APIVersion == 0) {
		h.ClientID = b.NullableString()
	}
	if h.Flexible {
		skipTags(&b)
	}
	if !b.Ok() {
		return h, nil, fmt.Errorf("%w: bad header for api key %d v%d", ErrMalformed, h.APIKey, h.APIVersion)
	}
	return h, b.Src, nil
}

// AppendResponseHeader appends the response header for a request with header h: the
// correlation id, then an empty tag buffer if the response is flexible. ApiVersions responses
// always use header v0 so that a client can read them before it knows the broker's versions.
func AppendResponseHeader(dst []byte, h Header) []byte {
	dst = kbin.AppendInt32(dst, h.CorrelationID)
	if h.Flexible && h.APIKey != kmsg.ApiVersions.Int16() {
		dst = kbin.AppendUvarint(dst, 0)
	}
	return dst
}

// skipTags skips a tagged-field section. Unlike kmsg.SkipTags it stops as soon as the bytes
// run out, so a forged tag count of four billion costs nothing.
func skipTags(b *kbin.Reader) {
	for n := b.Uvarint(); n > 0 && b.Ok(); n-- {
		b.Uvarint() // tag
		b.Span(int(b.Uvarint()))
	}
}
