// Package dmarcrpt reads the DMARC reports receivers send to a domain's
// rua= and ruf= addresses: aggregate reports (RFC 9990, the XML schema in
// namespace urn:ietf:params:xml:ns:dmarc-2.0; RFC 7489 appendix C; and the
// pre-RFC "draft" schema without a namespace, version 0.1 or 1.0) and
// failure reports (RFC 9991, which adds Identity-Alignment to RFC 6591's
// Authentication Failure Reporting Format).
//
// Reporters stray from every schema: namespaces or none, XSD text around the
// <feedback> root, upper- or mixed-case result words ("Pass", "HardFail"),
// numbers with trailing spaces, empty elements, a TAB before every newline,
// charsets other than UTF-8. The reader matches elements by local name
// whatever their namespace, trims every value, lower-cases result and
// disposition words (keeping words outside the schema as given, lower-cased),
// and refuses, with the reason, only what cannot be counted: no <feedback>
// element, XML that does not parse, no report ID, no date range, no policy
// domain, a count that is not a number.
//
// Reading is streaming (ReadAggregate calls back per record), so that a
// report of a hundred thousand records costs the memory of one record.
// Decompressing attachments (gzip, zip) is the caller's job: the authreport
// package finds reports in messages and files.
package dmarcrpt
