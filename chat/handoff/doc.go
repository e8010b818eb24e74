// Package handoff hands conversations from the bot to human agents and back: the lifecycle state machine
// (bot → queued → assigned → resolved, with return-to-bot and transfer), the per-skill queue ordered by
// priority and waiting time, auto-assignment that respects each agent's status, capacity and skills,
// manual claims with exactly one winner, requeueing when an agent goes offline or does not answer, queue
// positions with estimated waits, outbound webhooks, agent accounts and console sessions, canned
// responses, notes, the unanswered inbox and reports.
//
// Assignment decisions live behind the Dispatcher interface: *Engine is the in-process implementation
// for one node; a cluster-wide one (NATS + PostgreSQL) can replace it without touching its callers.
//
// The package does not import package chat: chat calls into it through the hooks it declares, and it
// reaches the customer's connections through the Customers interface declared here.
package handoff
