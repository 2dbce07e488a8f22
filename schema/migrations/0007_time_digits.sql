-- How many digits of a fraction of a second each log time had where it
-- came from, so that a time is shown with the precision its source has: 0
-- for Postfix's maillog_file and BSD syslog (whole seconds: the line was
-- written in [time, time+1s); the collector adds a microsecond per line of
-- one second only to keep log order), 6 for RFC 3339 high-precision syslog
-- and journald. Report times are the report's Date header (whole seconds)
-- or, without a plausible one, when it was taken in (6).
--
-- Rows written before this migration get a value from their time: a log
-- time less than 50 ms past its second is taken as a whole-second one (the
-- collector's per-line microseconds stay far below that), which at worst
-- shows fewer digits than were known, never more.
ALTER TABLE {{table "delivery_events"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS time_digits UInt8
    DEFAULT if(toUnixTimestamp64Micro(time) % 1000000 < 50000, 0, 6);

{{alterDistributed "delivery_events" "ADD COLUMN IF NOT EXISTS time_digits UInt8"}};

ALTER TABLE {{table "messages"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS time_digits UInt8
    DEFAULT if(toUnixTimestamp64Micro(first_seen) % 1000000 < 50000, 0, 6);

{{alterDistributed "messages" "ADD COLUMN IF NOT EXISTS time_digits UInt8"}};

ALTER TABLE {{table "bounces"}} {{onCluster}}
    ADD COLUMN IF NOT EXISTS time_digits UInt8
    DEFAULT if(toUnixTimestamp64Micro(time) % 1000000 = 0, 0, 6);

{{alterDistributed "bounces" "ADD COLUMN IF NOT EXISTS time_digits UInt8"}};
