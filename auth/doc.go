// Package auth authenticates to Salesforce with the OAuth 2.0 JWT bearer
// flow (RFC 7523): it signs an RS256 assertion with the integration's private
// key, exchanges it at /services/oauth2/token for an access token, caches the
// session and re-authenticates when Salesforce reports the session expired.
//
// The pieces compose like this:
//
//   - [Token] is one Salesforce session: access token, instance URL and the
//     org and user ids parsed from the identity URL.
//   - [Source] yields the current session and lets a caller drop a session
//     that Salesforce refused ([Source.Invalidate]).
//   - [CachedSource] caches a session minted by any function and makes
//     refreshes single-flight.
//   - [TokenSource] is the JWT bearer flow itself, built from a validated
//     [Config]; it is a [Source].
//   - [Transport] is an [net/http.RoundTripper] that adds the bearer header
//     and, when a call fails with 401 INVALID_SESSION_ID, invalidates the
//     session and replays the request once.
//
// Salesforce returns no expires_in for this grant and every exchange counts as
// a login (3,600 per user per hour), so a session is reused until Salesforce
// refuses it rather than refreshed on a timer.
//
// The package reads no environment variables. The default HTTP client uses
// [net/http.ProxyFromEnvironment], so HTTPS_PROXY, HTTP_PROXY and NO_PROXY are
// honoured with the standard library's semantics; pass a Config.HTTPClient to
// choose otherwise.
package auth
