// Package botapi is the bot-facing HTTP API of the sfbridge daemon: employee
// lookup, cases and comments, search over the synced knowledge copy, a
// server-sent-events stream of case, comment and knowledge events replayed
// from the state journal, and live-agent handoffs whose events are written to
// the journal by a per-org [Pump] and read from it by any replica.
//
// The daemon mounts [API.Handler] behind its own bearer authentication and
// runs one [Pump] per org that has messaging configured, under the lease
// state.PipelineLease(org, "messaging") that the pump takes itself.
// The routes, bodies and error codes are described in docs/api.md and in
// docs/openapi.yaml.
package botapi
