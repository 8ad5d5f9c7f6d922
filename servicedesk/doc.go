// Package servicedesk is what a service-desk assistant does in a customer's
// Service Cloud, over an sfbridge REST client: watch Cases and their
// comments without missing or repeating a change ([Watcher]), identify
// employees by email ([Employees]), and open, read and comment on Cases
// ([Cases]).
//
// The watcher polls Case and CaseComment by SystemModstamp with queryAll
// (so deletes and undeletes show up as rows with IsDeleted), both queries
// batched into one composite request: an idle poll costs one API call.
// Each poll re-reads an overlap window before its watermark, because a
// record's SystemModstamp is taken when its transaction starts and the
// record becomes visible only when it commits; versions already seen are
// recognised by (Id, SystemModstamp) against the last version kept in the
// state store, which is also what changed fields are diffed against.
// Events, the new versions and the watermark are committed in one
// transaction of the state store (the events into its outbox) under a
// fenced lease, and delivered from the outbox afterwards: a crash loses
// nothing, and a delivery that is repeated after a crash carries the same
// event ids, so an idempotent sink (see [NDJSONSink]) writes each event
// exactly once.
//
// Time comes from an internal/clock.Clock and retries go through
// internal/backoff. The package reads no environment and prints nothing.
package servicedesk
