// Package bounce takes in the reports that come back for sent mail —
// delivery status notifications, abuse complaints, automatic replies — and
// ties each to the message it is about.
//
// Reports arrive three ways: Postfix delivers the VERP bounce domain to an
// LMTP listener (RFC 2033, served with github.com/emersion/go-smtp), a
// watcher reads a Maildir where bounces land, and `mailtrace dsn ingest`
// reads files. Each report is parsed (package dsn), its diagnostics
// classified (package reply), matched, and stored in the bounces table,
// one row per recipient; a report is acknowledged only once stored, so
// Postfix keeps and retries what the store did not take.
//
// Matching goes by trust: the signed VERP return path the report was sent
// to (only mailtrace's key holders can make one), then the envelope ID
// Postfix passed on (RFC 3461 ENVID, echoed as Original-Envelope-Id), then
// the X-Mailtrace-ID header of the returned message, then its Message-ID.
// The last three can be copied by anyone who saw the message, so a report
// matched by them must also name one of the message's recipients. A report
// sent to a VERP address whose signature fails is a forgery: it is kept as
// unmatched, like reports that match nothing, and unmatched reports never
// change a message's status.
package bounce
