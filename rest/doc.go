// Package rest is a client for the Salesforce REST API, built on an
// [auth.Source] session.
//
// A [Client] has one service per area of the API, in the style of go-github:
//
//   - [QueryService] runs SOQL. [QueryService.Records] and the generic
//     [Query] and [QueryAll] return an [iter.Seq2] that decodes each page as
//     a stream of records and fetches the next page while the caller works
//     on the current one (never more than one page ahead); page-level access
//     is [QueryService.Page] and [QueryService.NextPage]. [QueryWith] takes
//     the caller's decoder, which gets each record's bytes straight from the
//     page (for rows rendered in one pass, as `sfbridge query` does).
//   - [SObjectsService] creates, reads, updates, upserts and deletes records
//     and describes objects; it also lists updated and deleted ids.
//   - [CompositeService] sends composite requests and sObject collections.
//   - [LimitsService] reads /limits; [IdentityService] reads the identity of
//     the session's user.
//
// The instance URL comes from the session, so a client follows its token.
// The API version is the highest one the instance offers at
// /services/data/ unless pinned with [WithAPIVersion]. Responses are
// requested gzip-compressed and decompressed here. Every response's
// Sforce-Limit-Info header is parsed; [Client.APIUsage] returns the latest.
//
// Failures from Salesforce are [*APIError] values carrying the status, the
// method, the URL without credentials and Salesforce's error list;
// errors.Is matches them against the [ErrorCode] constants such as
// [ErrInvalidSession] or [ErrMalformedQuery].
//
// Transient failures — 5xx and UNABLE_TO_LOCK_ROW answers to idempotent
// requests, a connection that failed before the request was fully sent — are
// retried with jittered exponential backoff that stops when the context is
// done. REQUEST_LIMIT_EXCEEDED is never retried, and a POST (which may
// create records) is retried only when it surely did not reach Salesforce:
// any answer, even UNABLE_TO_LOCK_ROW, is returned to the caller. An
// expired session (401 INVALID_SESSION_ID) is renewed by [auth.Transport],
// which replays the request once; in the middle of a query the next page is
// fetched again from the same locator. A page whose body ends early is
// fetched again and the records already delivered are skipped, so a query
// returns every record in order or fails with an error.
//
// The package reads no environment variables and prints nothing.
package rest
