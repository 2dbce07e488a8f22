-- The evidence ledger (package evidence): one append-only Merkle log per
-- origin (one Postfix host), its signed checkpoints and their RFC 3161
-- time stamps.
--
-- The tables are plain MergeTree, never Replacing: a second row for the
-- same log index is a forgery or a fault that `mailtrace evidence verify`
-- must see, not one that a merge should hide. They have no TTL: evidence
-- is kept until it is removed on purpose, since a tree cannot be verified
-- with its first records gone.

-- evidence_records: one row per record. record is its canonical JSON
-- (RFC 8785), record_hash its SHA-256; tree_hashes are the Merkle tree's
-- stored hashes this record completes (golang.org/x/mod/sumdb/tlog's
-- StoredHashes: the leaf hash first, then each subtree it closes), from
-- which inclusion and consistency proofs are made for any record.
CREATE TABLE IF NOT EXISTS {{table "evidence_records"}} {{onCluster}}
(
    origin      LowCardinality(String),
    log_index   UInt64,
    fact_id     String,
    message     String,
    event       LowCardinality(String),
    time        DateTime64(6, 'UTC'),
    record_hash FixedString(32),
    record      String,
    tree_hashes Array(String)
)
ENGINE = {{engine "MergeTree" "evidence_records"}}
PARTITION BY intDiv(log_index, 10000000)
ORDER BY (origin, log_index)
{{settings}};
{{distributed "evidence_records" "cityHash64(origin)"}};

-- evidence_checkpoints: one row per signed checkpoint (C2SP
-- tlog-checkpoint: origin, size, base64 root, Ed25519 signed note).
CREATE TABLE IF NOT EXISTS {{table "evidence_checkpoints"}} {{onCluster}}
(
    origin    LowCardinality(String),
    size      UInt64,
    root      FixedString(32),
    signed_at DateTime64(6, 'UTC'),
    key_id    String,
    note      String
)
ENGINE = {{engine "MergeTree" "evidence_checkpoints"}}
ORDER BY (origin, size, signed_at)
{{settings}};
{{distributed "evidence_checkpoints" "cityHash64(origin)"}};

-- evidence_anchors: the RFC 3161 time-stamp token of a checkpoint (DER,
-- with the TSA's certificates), over the SHA-256 of its whole note.
CREATE TABLE IF NOT EXISTS {{table "evidence_anchors"}} {{onCluster}}
(
    origin     LowCardinality(String),
    size       UInt64,
    stamped_at DateTime64(6, 'UTC'),
    tsa_url    String,
    token      String
)
ENGINE = {{engine "MergeTree" "evidence_anchors"}}
ORDER BY (origin, size, stamped_at)
{{settings}};
{{distributed "evidence_anchors" "cityHash64(origin)"}};
