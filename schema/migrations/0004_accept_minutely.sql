-- Messages the milter accepted per minute, host, class and pool: the
-- dashboards' volumes by class (attempts do not carry the class). It counts
-- from the migration on.
CREATE TABLE IF NOT EXISTS {{table "accept_minutely"}} {{onCluster}}
(
    minute     DateTime('UTC') CODEC(Delta, ZSTD(1)),
    host       LowCardinality(String),
    class      LowCardinality(String),
    pool       LowCardinality(String),
    messages   UInt64,
    recipients UInt64
)
ENGINE = {{engine "SummingMergeTree" "accept_minutely" "(messages, recipients)"}}
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, host, class, pool)
{{ttl "accept_minutely" "minute"}}
{{settings}};
{{distributed "accept_minutely" "rand()"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "accept_minutely_mv"}} {{onCluster}}
TO {{table "accept_minutely"}}
AS SELECT
    toStartOfMinute(time) AS minute,
    host, class, pool,
    count() AS messages,
    sum(length(recipients)) AS recipients
FROM {{table "accept_records"}}
GROUP BY minute, host, class, pool;

