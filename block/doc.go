// Package block detects when a receiving provider starts refusing one of
// our dedicated sending IPs, and when one of them is listed on a DNS
// blocklist.
//
// Every delivery attempt the collector reads is observed with its pool,
// source IP, receiving provider and whether its reply is a block signal
// (package reply decides: block lists, reputation refusals). Per (pool,
// source IP, provider), over a sliding window, an incident opens when the
// block signals reach both a count and a share of the attempts, and it
// closes after a quiet period without block signals or after a run of
// successful deliveries. Thresholds are configurable; the defaults open
// on 5 block replies making at least 10% of the attempts within 10
// minutes, and close after 30 quiet minutes or 20 deliveries in a row.
//
// Separately, each pool's source IP is looked up on a schedule in DNS
// blocklists (RFC 5782: Spamhaus ZEN, Barracuda, SpamCop by default);
// a listing is an incident of kind dnsbl that closes when the listing goes.
//
// Incidents are stored (block_incidents), shown at /api/v1/blocks, exposed
// as mailtrace_block_active and mailtrace_dnsbl_listed, and posted to a
// webhook as signed JSON (HMAC-SHA256), retried with backoff from a queue
// that never holds up the collector.
package block
