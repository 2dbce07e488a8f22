-- Reports receivers send back about our sender authentication.
--
-- auth_reports: one row per report taken in (DMARC aggregate, DMARC
-- failure, SMTP TLS), or refused (error says why; raw keeps the document,
-- up to 1 MiB, so that nothing is lost). A report is stored once per
-- (kind, org, report_id); report_key is the report ID, or the document's
-- SHA-256 for a refused one.
CREATE TABLE IF NOT EXISTS {{table "auth_reports"}} {{onCluster}}
(
    received_at  DateTime64(6, 'UTC'),
    kind         LowCardinality(String),
    org          String,
    report_key   String,
    report_id    String,
    reporter     String,
    provider     LowCardinality(String),
    domain       String,
    begin        DateTime('UTC'),
    end          DateTime('UTC'),
    records      UInt32,
    messages     UInt64,
    source       String,
    sha256       String,
    error        String,
    raw          String CODEC(ZSTD(3))
)
ENGINE = {{engine "ReplacingMergeTree" "auth_reports" "received_at"}}
PARTITION BY toYYYYMM(received_at)
ORDER BY (kind, org, report_key)
{{ttl "auth_reports" "received_at"}}
{{settings}};
{{distributed "auth_reports" "cityHash64(org, report_key)"}};

-- dmarc_records: one row per aggregate report record, with the pool its
-- source IP belongs to ('' for none). dkim_pass/spf_pass: some raw check
-- passed; dkim_aligned/spf_aligned: the receiver's DMARC evaluation
-- (policy_evaluated) passed, which means passed and aligned; dmarc_pass:
-- either aligned.
CREATE TABLE IF NOT EXISTS {{table "dmarc_records"}} {{onCluster}}
(
    day            Date,
    org            String,
    report_id      String,
    record_index   UInt32,
    provider       LowCardinality(String),
    domain         LowCardinality(String),
    begin          DateTime('UTC'),
    end            DateTime('UTC'),
    policy_p       LowCardinality(String),
    policy_sp      LowCardinality(String),
    policy_np      LowCardinality(String),
    policy_testing LowCardinality(String),
    source_ip      String,
    pool           LowCardinality(String),
    count          UInt64,
    disposition    LowCardinality(String),
    dkim_eval      LowCardinality(String),
    spf_eval       LowCardinality(String),
    header_from    LowCardinality(String),
    envelope_from  String,
    envelope_to    String,
    dkim_domains   Array(String),
    dkim_selectors Array(String),
    dkim_results   Array(String),
    spf_domains    Array(String),
    spf_scopes     Array(String),
    spf_results    Array(String),
    reasons        Array(String),
    dkim_pass      Bool,
    spf_pass       Bool,
    dkim_aligned   Bool,
    spf_aligned    Bool,
    dmarc_pass     Bool,
    received_at    DateTime64(6, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "dmarc_records" "received_at"}}
PARTITION BY toYYYYMM(day)
ORDER BY (org, report_id, record_index)
{{ttl "dmarc_records" "day"}}
{{settings}};
{{distributed "dmarc_records" "cityHash64(org, report_id)"}};

-- tlsrpt_results: one row per TLS report policy (failure_index 0, its
-- summary counts) and one per failure-details entry (failure_index 1..).
CREATE TABLE IF NOT EXISTS {{table "tlsrpt_results"}} {{onCluster}}
(
    day                   Date,
    org                   String,
    report_id             String,
    policy_index          UInt16,
    failure_index         UInt16,
    provider              LowCardinality(String),
    begin                 DateTime('UTC'),
    end                   DateTime('UTC'),
    policy_type           LowCardinality(String),
    policy_domain         LowCardinality(String),
    mx_host               Array(String),
    successful            UInt64,
    failed                UInt64,
    result_type           LowCardinality(String),
    sending_mta_ip        String,
    pool                  LowCardinality(String),
    receiving_mx_hostname String,
    receiving_ip          String,
    failed_session_count  UInt64,
    additional_info       String,
    failure_reason_code   String,
    received_at           DateTime64(6, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "tlsrpt_results" "received_at"}}
PARTITION BY toYYYYMM(day)
ORDER BY (org, report_id, policy_index, failure_index)
{{ttl "tlsrpt_results" "day"}}
{{settings}};
{{distributed "tlsrpt_results" "cityHash64(org, report_id)"}};

-- dmarc_failures: one row per DMARC failure report.
CREATE TABLE IF NOT EXISTS {{table "dmarc_failures"}} {{onCluster}}
(
    arrival            DateTime64(6, 'UTC'),
    org                String,
    report_id          String,
    source_ip          String,
    pool               LowCardinality(String),
    reported_domain    LowCardinality(String),
    auth_failure       LowCardinality(String),
    identity_alignment LowCardinality(String),
    original_mail_from String,
    original_rcpt_to   String,
    dkim_domain        String,
    dkim_selector      String,
    delivery_result    LowCardinality(String),
    auth_results       String,
    received_at        DateTime64(6, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "dmarc_failures" "received_at"}}
PARTITION BY toYYYYMM(arrival)
ORDER BY (org, report_id)
{{ttl "dmarc_failures" "arrival"}}
{{settings}};
{{distributed "dmarc_failures" "cityHash64(org, report_id)"}};

-- source_names: the reverse DNS (PTR) of report sources in no pool, looked
-- up after the report was stored; the row with the latest looked_up_at is
-- current.
CREATE TABLE IF NOT EXISTS {{table "source_names"}} {{onCluster}}
(
    source_ip   String,
    ptr         String,
    error       String,
    looked_up_at DateTime64(6, 'UTC')
)
ENGINE = {{engine "ReplacingMergeTree" "source_names" "looked_up_at"}}
ORDER BY source_ip
{{ttl "source_names" "looked_up_at"}}
{{settings}};
{{distributed "source_names" "cityHash64(source_ip)"}};
