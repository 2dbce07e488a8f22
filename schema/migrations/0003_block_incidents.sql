-- Block incidents: a receiving provider refusing one of our sending IPs
-- (kind replies: block-classified replies crossed the thresholds), or one
-- of our IPs listed on a DNS blocklist (kind dnsbl, provider = the zone).
-- An incident is written again as it changes; the row with the greatest
-- updated_at is the current one.
CREATE TABLE IF NOT EXISTS {{table "block_incidents"}} {{onCluster}}
(
    id           UUID,
    kind         LowCardinality(String),
    pool         LowCardinality(String),
    source_ip    LowCardinality(String),
    provider     LowCardinality(String),
    opened_at    DateTime64(6, 'UTC'),
    closed_at    DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    last_signal  DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    signals      UInt64,
    attempts     UInt64,
    category     LowCardinality(String),
    sample       String CODEC(ZSTD(1)),
    close_reason LowCardinality(String),
    updated_at   DateTime64(6, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "block_incidents" "updated_at"}}
PARTITION BY toYYYYMM(opened_at)
ORDER BY (opened_at, id)
{{ttl "block_incidents" "opened_at"}}
{{settings}};
{{distributed "block_incidents" "cityHash64(id)"}};
