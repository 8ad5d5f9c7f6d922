package auth

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// maxSessionErrorBody caps how much of a 401 body Transport reads to look
// for INVALID_SESSION_ID; the caller still receives the whole body.
const maxSessionErrorBody = 64 << 10

// Transport is an [http.RoundTripper] that authenticates requests with the
// session from Source.
//
// It sets "Authorization: Bearer <access token>" on a clone of each request.
// When Salesforce answers 401 with errorCode INVALID_SESSION_ID (or the
// identity service 403 Bad_OAuth_Token, its answer to a dead session), Transport
// invalidates the session it used and, if the request has no body or its body
// can be obtained again through req.GetBody, obtains a new session and sends
// the request once more. Otherwise the 401 response is returned to the
// caller, its body intact. Requests built with [http.NewRequestWithContext]
// over a bytes.Reader, bytes.Buffer or strings.Reader have GetBody set.
//
// A 401 whose message says the session is not valid for the REST API is not
// treated as expiry: a new session would be refused the same way.
type Transport struct {
	// Source provides the session. Required.
	Source Source
	// Base sends the requests; nil means [http.DefaultTransport].
	Base http.RoundTripper

	// accepted is the access token of the last answer that was not a
	// refusal of the session: a session Salesforce accepted once and then
	// refuses has expired (or was logged out), which a new session cures.
	accepted atomic.Pointer[string]
}

// RoundTrip implements [http.RoundTripper].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Source == nil {
		closeRequestBody(req)
		return nil, errNoSource
	}
	ctx := req.Context()
	tok, err := t.Source.Token(ctx)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	canReplay := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.base().RoundTrip(withBearer(req, tok, req.Body))
	if err != nil {
		return resp, err
	}
	if !t.refused(resp, tok) {
		return resp, nil
	}
	if !canReplay {
		t.Source.Invalidate(tok)
		return resp, nil
	}
	// Renew and send again. The session handed out after the refusal may
	// be one another request renewed a moment earlier and that has since
	// expired too (requests share the session): if Salesforce had accepted
	// it, its refusal is an expiry, and one more renewal is tried. A new
	// session refused without ever being accepted is a policy: the answer
	// is returned, marked with RenewedHeader.
	for renewals := 1; ; renewals++ {
		t.Source.Invalidate(tok)
		body := req.Body
		if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
			if body, err = req.GetBody(); err != nil {
				return resp, nil
			}
		}
		fresh, err := t.Source.Token(ctx)
		if err != nil {
			closeBody(body)
			resp.Body.Close()
			return nil, err
		}
		resp.Body.Close()
		again, err := t.base().RoundTrip(withBearer(req, fresh, body))
		if err != nil {
			return nil, err
		}
		wasAccepted := t.wasAccepted(fresh)
		if t.refused(again, fresh) && renewals < maxRenewals && wasAccepted {
			resp, tok = again, fresh
			continue
		}
		again.Header.Set(RenewedHeader, "true")
		return again, nil
	}
}

// maxRenewals bounds the new sessions one request asks for.
const maxRenewals = 2

// refused reports whether resp refuses the session tok (see
// sessionExpired), and otherwise remembers tok as accepted.
func (t *Transport) refused(resp *http.Response, tok *Token) bool {
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && sessionExpired(resp) {
		return true
	}
	if p := t.accepted.Load(); p == nil || *p != tok.AccessToken {
		t.accepted.Store(&tok.AccessToken)
	}
	return false
}

func (t *Transport) wasAccepted(tok *Token) bool {
	p := t.accepted.Load()
	return p != nil && *p == tok.AccessToken
}

// RenewedHeader is set by [Transport] on the answer to a request it sent
// again with a new session after Salesforce refused the old one. When that
// answer is a 401 too, the renewal worked and Salesforce still refuses the
// new session: a policy, not an expiry (see rest.APIError.SessionRenewed).
const RenewedHeader = "Sfbridge-Session-Renewed"

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// withBearer returns a shallow clone of req with its own header map, the
// bearer header set and body as its body.
func withBearer(req *http.Request, tok *Token, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return r
}

// sessionExpired reports whether a 401 response says INVALID_SESSION_ID,
// or a 403 is the identity service's Bad_OAuth_Token.
// It reads at most maxSessionErrorBody bytes and puts them back in front of
// the rest of the body; a gzip-encoded body is inflated for the check.
func sessionExpired(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxSessionErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		// A client that asked for gzip (as the rest package does) gets
		// its error bodies compressed too; look inside, and leave the
		// compressed bytes for the caller.
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return false
		}
		head, _ = io.ReadAll(io.LimitReader(zr, maxSessionErrorBody)) // what could be inflated
	}
	if resp.StatusCode == http.StatusForbidden {
		// The identity service (/id/…, /services/oauth2/userinfo)
		// answers a dead session with 403 and this bare body.
		return strings.TrimSpace(string(head)) == badOAuthToken
	}
	return IsSessionExpired(head)
}

// badOAuthToken is the identity service's whole answer to a session that
// is no longer valid.
const badOAuthToken = "Bad_OAuth_Token"

// IsSessionExpired reports whether a Salesforce REST error body (a JSON
// array of {"message","errorCode"}) names INVALID_SESSION_ID, excluding the
// variant "This session is not valid for use with the REST API", which a new
// session does not cure.
func IsSessionExpired(body []byte) bool {
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	if err := json.Unmarshal(body, &errs); err != nil {
		// Some proxies and older endpoints wrap the error in an object.
		var one struct {
			Message   string `json:"message"`
			ErrorCode string `json:"errorCode"`
		}
		if err := json.Unmarshal(body, &one); err != nil {
			return false
		}
		errs = append(errs, one)
	}
	for _, e := range errs {
		if e.ErrorCode == "INVALID_SESSION_ID" && !strings.Contains(strings.ToLower(e.Message), "not valid for use with the rest api") {
			return true
		}
	}
	return false
}

func closeRequestBody(req *http.Request) { closeBody(req.Body) }

func closeBody(b io.ReadCloser) {
	if b != nil && b != http.NoBody {
		b.Close()
	}
}

// errNoSource is returned when a Transport has no Source.
var errNoSource = errors.New("auth: Transport.Source is nil")
