// Package messaging is a server-to-server client of Salesforce Messaging
// for In-App and Web (Enhanced Chat) API v2: it hands a conversation from a
// bot to a Salesforce agent and brings the agent's replies back.
//
// A Client is built from a Config (SCRT URL, org id, the Custom Client
// deployment's esDeveloperName, and the User Verification signing key, key
// id and issuer) and validated on construction. For each end user it keeps
// one Session: an access token minted with a short-lived RS256 identity
// token and minted again before it expires, and one SSE connection that
// carries every conversation of that user. The stream reconnects with
// backoff and Last-Event-Id, watches a heartbeat timeout, and each
// conversation treats an event as a doorbell: it reads the entries it has
// not delivered yet through list-entries, so an event lost in a gap, sent
// twice or delayed is still delivered exactly once and in transcript order.
//
// StartHandoff is the caller-facing shape: it opens the stream, creates the
// conversation with routing attributes, sends the bot's transcript as the
// first messages and returns a Handoff whose Events channel carries typed
// events (queued, agent joined, agent message, typing, transferred, agent
// left, ended, routing failed) until the handoff ends. Tokens and the
// stream stay hidden.
package messaging
