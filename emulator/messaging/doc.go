// Package messaging emulates Salesforce Messaging for In-App and Web
// (Enhanced Chat) for the org emulator: the SCRT host with its REST API under
// /iamessage/api/v2 and its Server-Sent Events stream at /eventrouter/v1/sse,
// Embedded Service deployments and messaging channels, User Verification
// keysets, a simulated Omni-Channel (routing rules, queues, agents with
// presence and capacity, scripted agents) and an agent console page.
//
// A Server is built from a Config and a Setup (usually the fixture's
// "messaging" section). Its Handler is served on its own listener, the SCRT
// URL; its AdminHandler is mounted by the emulator under /_emulator/messaging/
// behind the admin token. Time comes from an injected clock, so token expiry,
// keepalive pings and scripted agents are tested without sleeping.
//
// What it answers, and where it follows the official sample client rather
// than the documentation, is described in docs/emulator.md.
package messaging
