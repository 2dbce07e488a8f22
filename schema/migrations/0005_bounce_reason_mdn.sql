-- Bounces keep, beside the status a report states, the status its words
-- support where it states only a class (inferred_status: 5.0.0 with "user
-- unknown" infers 5.1.1), and read receipts (RFC 8098 message disposition
-- notifications, kind mdn) keep their Disposition field whole
-- ("manual-action/MDN-sent-manually; displayed"); their action is the
-- disposition type and reporting_mta their Reporting-UA.
ALTER TABLE {{table "bounces"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS inferred_status LowCardinality(String) AFTER status,
    ADD COLUMN IF NOT EXISTS disposition LowCardinality(String) AFTER feedback_type;
{{alterDistributed "bounces" "ADD COLUMN IF NOT EXISTS inferred_status LowCardinality(String) AFTER status, ADD COLUMN IF NOT EXISTS disposition LowCardinality(String) AFTER feedback_type"}};
