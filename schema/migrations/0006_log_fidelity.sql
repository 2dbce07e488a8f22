-- What the log says that the first tables could not hold.
--
-- delivery_events.relay_path: a next hop over a UNIX-domain socket
-- (relay=host[private/dovecot-lmtp], host[/run/dovecot/lmtp]): a path, kept
-- apart from relay_ip. delivery_events.queued_as: the queue ID a content
-- filter or another Postfix instance on this host gave the message when
-- this attempt handed it over (status handoff): the recipient's outcome is
-- that of the next queue entry, not of this attempt.
ALTER TABLE {{table "delivery_events"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS relay_path String CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS queued_as String CODEC(ZSTD(1));
{{alterDistributed "delivery_events" "ADD COLUMN IF NOT EXISTS relay_path String, ADD COLUMN IF NOT EXISTS queued_as String"}};

-- messages.queued_from: the queue entry this one was handed over from (a
-- content filter's re-injection, another instance, postsuper -r);
-- messages.queued_as: the queue entries this one was handed over to.
ALTER TABLE {{table "messages"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS queued_from String CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS queued_as Array(String) CODEC(ZSTD(1));
{{alterDistributed "messages" "ADD COLUMN IF NOT EXISTS queued_from String, ADD COLUMN IF NOT EXISTS queued_as Array(String)"}};

-- Postfix lines about a message (they name a queue ID, or NOQUEUE) that
-- the collector did not understand: a line shape of another Postfix
-- version shows up here instead of vanishing. Bounded: the collector keeps
-- at most a few rows per kind of line and day, and rows leave 90 days after
-- they were written (seen), whatever the log's time.
CREATE TABLE IF NOT EXISTS {{table "unknown_lines"}} {{onCluster}}
(
    time     DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    seen     DateTime64(6, 'UTC'),
    host     LowCardinality(String),
    program  LowCardinality(String),
    queue_id String CODEC(ZSTD(1)),
    kind     LowCardinality(String),
    line     String CODEC(ZSTD(3))
)
ENGINE = {{engine "MergeTree" "unknown_lines"}}
PARTITION BY toYYYYMM(seen)
ORDER BY (kind, time)
TTL toDateTime(seen) + INTERVAL 90 DAY
{{settings}};
{{distributed "unknown_lines" "rand()"}};
