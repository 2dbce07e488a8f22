// Package header names the X-Mailtrace-* headers the milter writes into
// every message it sees, the contract between the parts that write, match
// and read them:
//
//   - the milter adds them (milter), and notes the ones a message came
//     with;
//   - Postfix's milter_header_checks INFO-logs the trace ID (postfixconf
//     writes the rule, doctor checks it, and refuses the FILTER lines on
//     the pool header that earlier versions routed by);
//   - the collector reads them back from those log lines (collector);
//   - the bounce readers find the trace ID in the returned message's
//     headers (dsn).
//
// Header names are case-insensitive: compare with strings.EqualFold, or
// lowercase the name read and compare with the Lower* constants.
package header

const (
	// ID carries the message's trace ID (traceid, a UUIDv7), the same as
	// its DSN envelope ID (ENVID=).
	ID = "X-Mailtrace-ID"
	// Class is the message's class (milter.classes); a trusted sender may
	// set it (milter.class_header).
	Class = "X-Mailtrace-Class"
	// Pool is the dedicated-IP pool the message is sent through, for
	// people and the log: Postfix routes by the VERP envelope sender.
	Pool = "X-Mailtrace-Pool"
)

// The names lowercased, for a switch on a lowercased header name.
const (
	LowerID    = "x-mailtrace-id"
	LowerClass = "x-mailtrace-class"
	LowerPool  = "x-mailtrace-pool"
)
