-- mailtrace's first tables. This file is a Go template rendered by package
-- schema: "table" names a table (its node-local twin on a cluster),
-- "onCluster" adds ON CLUSTER, "engine" picks the (Replicated) engine,
-- "distributed" adds the Distributed twin a cluster reads and writes
-- through, "ttl" is the retention and "settings" the table settings (retry
-- deduplication among them).

-- One row per message the milter saw: what the sending application handed
-- to Postfix, before any delivery attempt.
CREATE TABLE IF NOT EXISTS {{table "accept_records"}} {{onCluster}}
(
    time          DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    trace_id      UUID,
    host          LowCardinality(String),
    queue_id      String CODEC(ZSTD(1)),
    message_id    String CODEC(ZSTD(1)),
    sender        String CODEC(ZSTD(1)),
    recipients    Array(String) CODEC(ZSTD(1)),
    client_ip     String CODEC(ZSTD(1)),
    client_name   String CODEC(ZSTD(1)),
    helo          String CODEC(ZSTD(1)),
    sasl_user     LowCardinality(String),
    size          UInt64 CODEC(T64, ZSTD(1)),
    class         LowCardinality(String),
    pool          LowCardinality(String),
    subject       String CODEC(ZSTD(1)),
    from_header   String CODEC(ZSTD(1))
)
ENGINE = {{engine "ReplacingMergeTree" "accept_records"}}
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, queue_id, trace_id)
{{ttl "accept_records" "time"}}
{{settings}};

{{distributed "accept_records"}};

-- One row per delivery attempt of one recipient, as Postfix logged it.
-- event_id is derived from the log line, so a replayed log collapses onto
-- the rows it already made.
CREATE TABLE IF NOT EXISTS {{table "delivery_events"}} {{onCluster}}
(
    time               DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    event_id           UInt64,
    host               LowCardinality(String),
    queue_id           String CODEC(ZSTD(1)),
    trace_id           UUID,
    message_id         String CODEC(ZSTD(1)),
    sender             String CODEC(ZSTD(1)),
    recipient          String CODEC(ZSTD(1)),
    orig_recipient     String CODEC(ZSTD(1)),
    status             LowCardinality(String),
    dsn                LowCardinality(String),
    service            LowCardinality(String),
    relay_host         String CODEC(ZSTD(1)),
    relay_ip           String CODEC(ZSTD(1)),
    relay_port         UInt16,
    response           String CODEC(ZSTD(1)),
    delay              Float32,
    delay_before_queue Float32,
    delay_in_queue     Float32,
    delay_connect      Float32,
    delay_transmit     Float32,
    conn_use           UInt32,
    tls                String CODEC(ZSTD(1)),
    pool               LowCardinality(String),
    source_ip          LowCardinality(String),
    provider           LowCardinality(String),
    category           LowCardinality(String),
    is_block           UInt8
)
ENGINE = {{engine "ReplacingMergeTree" "delivery_events"}}
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, queue_id, time, event_id)
{{ttl "delivery_events" "time"}}
{{settings}};

{{distributed "delivery_events"}};

-- One row per recipient of a bounce report (DSN), complaint (ARF) or
-- auto-reply that came back, matched to its message where it could be.
CREATE TABLE IF NOT EXISTS {{table "bounces"}} {{onCluster}}
(
    time                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    event_id             UInt64,
    kind                 LowCardinality(String),
    matched_by           LowCardinality(String),
    trace_id             UUID,
    host                 LowCardinality(String),
    queue_id             String CODEC(ZSTD(1)),
    recipient            String CODEC(ZSTD(1)),
    action               LowCardinality(String),
    status               LowCardinality(String),
    diagnostic           String CODEC(ZSTD(1)),
    remote_mta           String CODEC(ZSTD(1)),
    reporting_mta        String CODEC(ZSTD(1)),
    category             LowCardinality(String),
    provider             LowCardinality(String),
    is_block             UInt8,
    feedback_type        LowCardinality(String),
    original_message_id  String CODEC(ZSTD(1)),
    original_envelope_id String CODEC(ZSTD(1)),
    report_sha256        FixedString(32)
)
ENGINE = {{engine "ReplacingMergeTree" "bounces"}}
PARTITION BY toYYYYMMDD(time)
ORDER BY (host, queue_id, time, event_id)
{{ttl "bounces" "time"}}
{{settings}};

{{distributed "bounces"}};

-- Every identifier a user may give (trace ID, Message-ID, queue ID,
-- recipient) mapped to its message and the time it was seen, filled by the
-- materialized views below.
CREATE TABLE IF NOT EXISTS {{table "id_lookup"}} {{onCluster}}
(
    id         String CODEC(ZSTD(1)),
    id_kind    LowCardinality(String),
    host       LowCardinality(String),
    queue_id   String CODEC(ZSTD(1)),
    trace_id   UUID,
    first_seen SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    last_seen  SimpleAggregateFunction(max, DateTime64(6, 'UTC'))
)
ENGINE = {{engine "AggregatingMergeTree" "id_lookup"}}
PARTITION BY toYYYYMM(first_seen)
ORDER BY (id, id_kind, host, queue_id, trace_id)
{{ttl "id_lookup" "first_seen"}}
{{settings}};

{{distributed "id_lookup"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "id_lookup_from_accept"}} {{onCluster}}
TO {{table "id_lookup"}}
AS SELECT
    ident.1 AS id,
    ident.2 AS id_kind,
    host,
    queue_id,
    trace_id,
    time AS first_seen,
    time AS last_seen
FROM {{table "accept_records"}}
ARRAY JOIN arrayConcat(
    [(toString(trace_id), 'trace_id'), (message_id, 'message_id'), (queue_id, 'queue_id')],
    arrayMap(r -> (lower(r), 'recipient'), recipients)) AS ident
WHERE ident.1 != '';

-- From the log, the lookup learns recipients (a message's log lines are
-- found by host and queue ID, the delivery table's own key). One row per
-- attempt: the lookup table collapses them.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "id_lookup_from_delivery"}} {{onCluster}}
TO {{table "id_lookup"}}
AS SELECT
    lower(recipient) AS id,
    'recipient' AS id_kind,
    host,
    queue_id,
    trace_id,
    time AS first_seen,
    time AS last_seen
FROM {{table "delivery_events"}}
WHERE recipient != '';

-- Attempts per minute by sending pool and IP, receiving provider and
-- outcome: what dashboards and block alerts read instead of raw events.
CREATE TABLE IF NOT EXISTS {{table "delivery_minutely"}} {{onCluster}}
(
    minute    DateTime('UTC') CODEC(Delta, ZSTD(1)),
    host      LowCardinality(String),
    pool      LowCardinality(String),
    source_ip LowCardinality(String),
    provider  LowCardinality(String),
    status    LowCardinality(String),
    category  LowCardinality(String),
    is_block  UInt8,
    attempts  UInt64
)
ENGINE = {{engine "SummingMergeTree" "delivery_minutely" "attempts"}}
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, host, pool, source_ip, provider, status, category, is_block)
{{ttl "delivery_minutely" "minute"}}
{{settings}};

{{distributed "delivery_minutely" "rand()"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "delivery_minutely_mv"}} {{onCluster}}
TO {{table "delivery_minutely"}}
AS SELECT
    toStartOfMinute(time) AS minute,
    host, pool, source_ip, provider, status, category, is_block,
    count() AS attempts
FROM {{table "delivery_events"}}
GROUP BY minute, host, pool, source_ip, provider, status, category, is_block;
