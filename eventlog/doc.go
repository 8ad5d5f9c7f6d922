// Package eventlog turns Salesforce Event Monitoring data into ECS events.
//
// [Reader] converts the CSV body of an EventLogFile as it downloads, one row
// at a time in constant memory, into events shaped like the documents of
// Elastic's Salesforce integration (event.dataset salesforce.login,
// salesforce.logout, salesforce.apex, ... so its dashboards work on them).
// [ObjectEvent] does the same for records of the SetupAuditTrail, LoginHistory
// and Real-Time Event Monitoring objects read with SOQL. [Scanner] is the CSV
// reader underneath: encoding/csv's rules, several times its speed.
//
// Every event has a stable event.id (see the recipe at idPrefixRequest in
// id.go, and docs/eventlogs.md): the same when a file is downloaded again or
// regenerated with the same rows, so a sink can deliver at least once and
// still store each event once.
package eventlog
