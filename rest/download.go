package rest

import (
	"context"
	"net/http"
)

// Download GETs a resource whose body is not JSON, such as the LogFile blob
// of an EventLogFile (/services/data/vNN.0/sobjects/EventLogFile/{Id}/LogFile),
// and returns the response for the caller to stream: the body is
// decompressed as it is read (the request asks for gzip), and nothing is
// buffered. The caller closes the body.
//
// The request goes through the client's retry policy until the response
// headers arrive (5xx and network failures are retried, a 401 renews the
// session once through the authenticating transport); a failure while the
// body is read is the caller's to handle, typically by downloading again.
// The client's WithTimeout, when set, bounds the whole exchange, body
// included: leave it unset for large blobs and bound silence with ctx.
func (c *Client) Download(ctx context.Context, path string) (*http.Response, error) {
	return c.send(ctx, &request{method: http.MethodGet, path: path, header: http.Header{"Accept": {"*/*"}}})
}
