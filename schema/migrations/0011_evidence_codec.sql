-- evidence_records holds each record's canonical JSON (about 1 KB per
-- delivery attempt, most of its members repeated from record to record):
-- ZSTD keeps it in a fraction of LZ4's bytes, so that inserting and
-- merging a log of millions of records writes and rereads far less.
-- Hashes are random bytes no codec shrinks: stored as they are.
ALTER TABLE {{table "evidence_records"}} {{onCluster}}
    MODIFY COLUMN record String CODEC(ZSTD(1));

ALTER TABLE {{table "evidence_records"}} {{onCluster}}
    MODIFY COLUMN record_hash FixedString(32) CODEC(NONE);

ALTER TABLE {{table "evidence_records"}} {{onCluster}}
    MODIFY COLUMN tree_hashes Array(String) CODEC(NONE);
