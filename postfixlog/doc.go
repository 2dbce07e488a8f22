// Package postfixlog reads Postfix's log: one line at a time, into a Record
// that says which host, program and process wrote it, which message (queue
// ID) it is about, and what it says — a client connection, a message
// accepted, a delivery attempt with the receiver's reply, a notification
// sent back, a warning.
//
// Postfix writes through syslog (BSD "Nov  5 03:04:05" or RFC 3339
// timestamps, as rsyslog does) or its own maillog_file (BSD style). The
// syslog name is "postfix/smtp" by default; each instance or master.cf
// service may set its own ("postfix-legal/smtp", "postfix/submission/smtpd"),
// which is how mailtrace knows which dedicated-IP pool sent an attempt.
//
// Parsing is hand-written over bytes, without regular expressions and
// without allocating: a Record's byte fields point into the line, which the
// caller must keep unchanged until it is done with the Record. Any bytes are
// accepted; what is not understood is kept as Kind Other or NotPostfix,
// never an error that stops the reader.
package postfixlog
