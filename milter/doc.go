// Package milter is mailtrace's Postfix milter (the Sendmail mail filter
// protocol, version 6, that Postfix speaks: MILTER_README). Postfix hands
// every message it accepts to the milter before queueing it; the milter
//
//   - stamps it with a trace ID (package traceid), written as the
//     X-Mailtrace-ID header and as the DSN envelope ID (ENVID=, RFC 3461
//     section 4.4) with RET=HDRS, so that receivers' bounce reports carry the
//     ID back as Original-Envelope-Id;
//   - classifies it (legal, collections, transactional, marketing...) by the
//     rules of the config file; for a class with VERP it replaces the
//     envelope sender with a signed return path that names the class's
//     dedicated-IP pool (PREFIX-POOL-TOKEN@BOUNCE-DOMAIN, package verp),
//     which Postfix's sender_dependent_default_transport_maps routes to the
//     pool's transport wherever Postfix would use its default transport
//     (every other route, local, virtual, relay_domains, transport_maps,
//     stays as it was; see package postfixconf). Classes without VERP
//     leave as Postfix routes them. X-Mailtrace-Class and X-Mailtrace-Pool
//     headers say what was decided; they route nothing;
//   - records what was accepted (an accept record: queue ID, envelope,
//     client, class, pool, Subject...) for the store, through a bounded
//     in-memory queue and an on-disk spool, so that records survive a store
//     outage and are stored once when it returns.
//
// It must never hold up mail. The decision is made at the end of the
// headers from what is kept in memory (Postfix does not send the body); it
// never waits on the store; a failing rule, a full queue or a broken spool
// does not change the answer, which is the configured policy (accept and
// stamp by default). Postfix is told to accept when the milter cannot be
// reached at all (default_action=accept, see deploy/postfix).
package milter
