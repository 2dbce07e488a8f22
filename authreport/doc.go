// Package authreport takes in the reports receivers send back about our
// sender authentication: DMARC aggregate reports (RFC 9990, RFC 7489
// appendix C) and failure reports (RFC 9991, RFC 6591), read by package
// dmarcrpt, and SMTP TLS reports (RFC 8460), read by package tlsrpt.
//
// Reports arrive as mail to the rua=, ruf= and TLS-RPT addresses (through
// the same LMTP and Maildir intake as bounces) or as files. Read finds them
// whatever their wrapping: an .xml, .xml.gz, .zip or gzip-in-gzip
// attachment or message body, application/tlsrpt+gzip or +json, a
// message/feedback-report part, or the document itself; CRLF or LF line
// ends. Decompression is capped (MaxUnpacked, shared by every layer of one
// file) and archive nesting bounded, so a bomb is refused with its reason
// rather than read.
//
// Stored, each aggregate record becomes a row with its reporter, day and the
// pool its source IP belongs to (or none), so that DKIM, SPF and DMARC
// results can be shown per reporter, day and pool, sources that are in no
// pool but send as our domains stand out, and a reporter's counts can be
// set against our own deliveries to that provider. A report is stored once
// per (reporter, report ID), however often it arrives.
package authreport
