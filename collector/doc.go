// Package collector will hold mailtrace's Postfix log collector: it follows
// the Postfix log across rotations, parses every line, correlates lines into
// messages by host and queue ID, and writes each delivery attempt to the
// store, checkpointing only what the store has acknowledged. Not available
// in this version yet.
package collector
