// Package dsn reads the reports that come back for mail we sent: delivery
// status notifications (RFC 3464, and RFC 6533's message/global-delivery-
// status), the non-standard bounces many MTAs still send (Exim with
// X-Failed-Recipients, qmail, old Exchange and GroupWise, Gmail's and
// Yahoo's notices, IMail, and so on), abuse complaints in the Abuse
// Reporting Format (RFC 5965) and automatic replies (RFC 3834), which are
// not bounces and are kept apart.
//
// Parse reads one report (a whole message, MIME parsed with
// github.com/emersion/go-message) into a Report: its kind, the per-message
// fields (Reporting-MTA, Original-Envelope-Id), one Recipient per address
// it reports on (action, enhanced status code, diagnostic, remote MTA), and
// what it tells about the original message: the headers it returned
// (Message-ID, X-Mailtrace-ID). Matching a report to the message it is
// about is the bounce package's job.
//
// Reports come from strangers and can be hostile: Parse bounds the size of
// the message, the depth and number of MIME parts and the length of every
// field it keeps, and returns an error for what it cannot read rather than
// guessing.
package dsn
