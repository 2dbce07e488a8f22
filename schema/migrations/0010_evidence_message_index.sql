-- A bundle (mailtrace evidence export) reads one message's records out
-- of logs of tens of millions: a bloom filter on the chain key lets the
-- store skip the granules that hold none of them, instead of reading the
-- whole message column. MATERIALIZE builds it for records already stored.
ALTER TABLE {{table "evidence_records"}} {{onCluster}}
    ADD INDEX IF NOT EXISTS message_bloom message TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE {{table "evidence_records"}} {{onCluster}}
    MATERIALIZE INDEX message_bloom;
