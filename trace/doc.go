// Package trace tells what happened to one message, from every side
// mailtrace sees it: the milter's accept record (what the sending
// application handed to Postfix), the collector's record of the Postfix log
// (the queue, every delivery attempt of every recipient with the
// receiver's whole reply, the notifications Postfix sent about it), and the
// bounce reports that came back. A message is found by any of its
// identifiers through the id_lookup table: trace ID, Message-ID, queue ID,
// or a recipient address within a time range. A Reader (NewReader) reads
// them from one store; one serves every lookup of a process.
//
// Each fact keeps the precision of the clock it comes from (Stamp): the
// milter's microseconds, the log's whole seconds (maillog_file, BSD syslog)
// or microseconds (RFC 3339 syslog, journald), a report's Date header. A
// message's timeline puts its facts in causal order where clocks of
// different precision cannot (orderEvents).
//
// It also searches delivery attempts by sender (the application's, from
// the accept record, or the log's envelope sender, which is the VERP
// return path for classes with VERP), recipient, Subject, class, pool,
// source IP, provider, status and DSN code over a bounded time range, page
// by page, and exports such a search whole, for compliance.
//
// Every query is bounded in time and in rows, and every value a user gives
// reaches ClickHouse as a query parameter, never spliced into SQL.
package trace
