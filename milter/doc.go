// Package milter will hold mailtrace's Postfix milter: it stamps every
// message with a trace ID (X-Mailtrace-ID header and DSN envelope ID,
// RFC 3461), classifies it (legal, collections, transactional, marketing...)
// and picks its dedicated-IP pool, and records what Postfix accepted, all
// without ever holding up mail. Not available in this version yet.
package milter
