// Package wire is Gregor's side of the Kafka wire protocol: framing, request and response
// headers, and the API registry that maps an API key and version to its handler.
//
// A frame is a big-endian int32 size followed by that many bytes. A request frame holds
//
//	request header v0: api_key int16, api_version int16, correlation_id int32
//	request header v1: v0 + client_id nullable string (int16 length)
//	request header v2: v1 + tagged fields (used by flexible versions)
//
// then the body, decoded with kmsg. A response frame holds the correlation id, tagged fields
// for flexible versions (never for ApiVersions, whose response header is always v0), and the
// body. Encoding and decoding of bodies is kmsg's job; this package only does what surrounds
// them.
package wire
