// Package header names the X-Mailtrace-* headers the milter writes into
// every message it sees, the contract between the parts that write, match
// and read them:
//
//   - the milter adds them (milter);
//   - Postfix's milter_header_checks match them, INFO-logging the trace ID
//     (postfixconf writes the rules, doctor checks them);
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
	// Pool is the dedicated-IP pool the message is sent through.
	Pool = "X-Mailtrace-Pool"
)

// The names lowercased, for a switch on a lowercased header name.
const (
	LowerID    = "x-mailtrace-id"
	LowerClass = "x-mailtrace-class"
	LowerPool  = "x-mailtrace-pool"
)
