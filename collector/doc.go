// Package collector turns the Postfix log into mailtrace's trace: it reads
// lines (following a live log across rotations, or importing old files),
// parses them (package postfixlog), correlates them into messages by host
// and queue ID, and writes every delivery attempt and every message to the
// store. Its position in each log is checkpointed only after the store has
// acknowledged everything before it, together with the messages still in
// Postfix's queue, so that a restart at any moment loses nothing and
// repeats nothing.
package collector
