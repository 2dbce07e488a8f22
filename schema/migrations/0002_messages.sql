-- The collector's side of each message, read from the Postfix log: one row
-- per message instance (host, queue ID, first seen), written when its first
-- queue manager line is read and again, complete, when it leaves the queue.
-- The later row replaces the earlier (version = last_seen).
CREATE TABLE IF NOT EXISTS {{table "messages"}} {{onCluster}}
(
    first_seen        DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    last_seen         DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    host              LowCardinality(String),
    queue_id          String CODEC(ZSTD(1)),
    trace_id          UUID,
    message_id        String CODEC(ZSTD(1)),
    sender            String CODEC(ZSTD(1)),
    size              UInt64 CODEC(T64, ZSTD(1)),
    nrcpt             UInt32,
    origin            LowCardinality(String),
    client_host       String CODEC(ZSTD(1)),
    client_ip         String CODEC(ZSTD(1)),
    sasl_user         LowCardinality(String),
    pool              LowCardinality(String),
    recipients        Array(String) CODEC(ZSTD(1)),
    statuses          Array(LowCardinality(String)),
    parent_queue_id   String CODEC(ZSTD(1)),
    notification      LowCardinality(String),
    children          Array(String) CODEC(ZSTD(1)),
    state             LowCardinality(String)
)
ENGINE = {{engine "ReplacingMergeTree" "messages" "last_seen"}}
PARTITION BY toYYYYMMDD(first_seen)
ORDER BY (host, queue_id, first_seen)
{{ttl "messages" "first_seen"}}
{{settings}};

{{distributed "messages"}};

-- The lookup learns every message's identifiers from the log too, so that a
-- message that never passed the milter can be found by any of them.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "id_lookup_from_messages"}} {{onCluster}}
TO {{table "id_lookup"}}
AS SELECT
    ident.1 AS id,
    ident.2 AS id_kind,
    host,
    queue_id,
    trace_id,
    first_seen,
    last_seen
FROM {{table "messages"}}
ARRAY JOIN arrayConcat(
    [(if(trace_id = toUUID('00000000-0000-0000-0000-000000000000'), '', toString(trace_id)), 'trace_id'),
     (message_id, 'message_id'), (queue_id, 'queue_id')],
    arrayMap(r -> (lower(r), 'recipient'), recipients)) AS ident
WHERE ident.1 != '';

-- Where each log source has been read up to (offset), committed only once
-- the store holds every event before that point, with the collector's open
-- messages at that point (state). Before inserting the lines up to
-- pending_end, the collector records that end: after a crash it reads
-- those lines again into exactly the same blocks, which the store's
-- deduplication then ignores. For journald, cursor is the journal's own
-- position of the last entry read.
CREATE TABLE IF NOT EXISTS {{table "collector_checkpoints"}} {{onCluster}}
(
    source      String,
    updated     DateTime64(6, 'UTC'),
    fingerprint String,
    file_id     String,
    offset      UInt64,
    lines       UInt64,
    pending_end UInt64,
    cursor      String,
    state       String CODEC(ZSTD(3))
)
ENGINE = {{engine "ReplacingMergeTree" "collector_checkpoints" "updated"}}
ORDER BY (source, fingerprint)
{{settings}};

{{distributed "collector_checkpoints" "cityHash64(source)"}};
