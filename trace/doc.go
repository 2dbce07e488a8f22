// Package trace tells what happened to one message, from every side
// mailtrace sees it: the milter's accept record (what the sending
// application handed to Postfix), the collector's record of the Postfix log
// (the queue, every delivery attempt of every recipient with the
// receiver's whole reply, the notifications Postfix sent about it), and the
// bounce reports that came back. A message is found by any of its
// identifiers through the id_lookup table: trace ID, Message-ID, queue ID,
// or a recipient address within a time range.
//
// It also searches delivery attempts by sender, recipient, class, pool,
// source IP, provider, status and DSN code over a bounded time range, page
// by page, and exports such a search whole, for compliance.
//
// Every query is bounded in time and in rows, and every value a user gives
// reaches ClickHouse as a query parameter, never spliced into SQL.
package trace
