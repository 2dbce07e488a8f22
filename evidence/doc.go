// Package evidence keeps mailtrace's evidence ledger: a tamper-evident,
// append-only record of every fact mailtrace stores about a message.
//
// Each fact becomes one evidence record shaped after the evidence of
// ETSI EN 319 522 (Electronic Registered Delivery Services, parts 1 and 3):
// EvidenceIdentifier, ERDSEventId (the ETSI event URI where one fits,
// http://uri.etsi.org/19522/Event/SubmissionAcceptance,
// SubmissionRejection, RelayToNonERDS, RelayToNonERDSFailure, and
// urn:mailtrace:event:... for facts ETSI does not name), EventTime,
// EvidenceIssuerDetails, SenderDetails, RecipientDetails,
// MessageIdentifier, SubmissionTime and EventReasons, plus the raw facts
// (the log line, the receiver's whole reply, the report's SHA-256).
//
// A record is serialized as canonical JSON (RFC 8785, JSON Canonicalization
// Scheme) and hashed with SHA-256; the record names its format version and
// hash algorithm. Records of one message form a chain: each carries the
// hash of the previous record of the same message, and a closing record
// fixes the number of records and the last hash when the message reaches
// its final state. A later fact reopens the chain and a new closing record
// follows; nothing is rewritten.
//
// All records of one origin (one Postfix host) are the leaves of one
// append-only Merkle tree hashed as in RFC 6962 and RFC 9162 (leaf =
// SHA-256(0x00 || record), node = SHA-256(0x01 || left || right)), built
// with golang.org/x/mod/sumdb/tlog. The tree's stored hashes are kept with
// the records, so that inclusion and consistency proofs can be made for
// any record at any later time.
//
// The tree is published as checkpoints in the C2SP tlog-checkpoint format
// (https://c2sp.org/tlog-checkpoint): signed notes (golang.org/x/mod/sumdb/note)
// with Ed25519 keys, and each checkpoint is time-stamped by an RFC 3161
// time-stamp authority.
//
// A fact is appended exactly once: its fact ID is derived from what it is
// (a log line's host, queue ID and bytes; a report's SHA-256; a milter
// accept's trace ID), so replaying a log, a spool or a report appends
// nothing new.
package evidence
