#!/usr/bin/env bash
# Measures what the evidence ledger costs `mailtrace import` (the same
# generated Postfix log into fresh embedded stores, ledger off and on) and
# how long `mailtrace evidence verify` takes on the resulting log.
#
#   bench/evidence.sh            # 1,000,000 lines
#   LINES=200000 bench/evidence.sh
#
# Needs: make setup (libchdb). The record-level figures are Go benchmarks:
#   go test ./evidence -run X -bench 'Append|Verify1M' -benchtime 1x
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
make -s setup build >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go run ./bench/genlog -lines "$LINES" >"$work/mail.log"
echo "log: $(wc -l <"$work/mail.log") lines, $(du -h "$work/mail.log" | cut -f1)"

# import NAME ENABLED: a fresh store, the ledger on or off; prints seconds.
import() {
	local name=$1 enabled=$2
	mkdir -p "$work/$name"
	printf 'store: chdb://%s/store\ncollector:\n  timezone: UTC\nevidence:\n  enabled: %s\n  origin_prefix: mailtrace.bench\n' \
		"$work/$name" "$enabled" >"$work/$name/mailtrace.yaml"
	/usr/bin/time -f '%e %M' -o "$work/$name.time" bin/mailtrace import --config "$work/$name/mailtrace.yaml" "$work/mail.log" >"$work/$name.out"
	read -r secs rss <"$work/$name.time"
	echo "import, ledger $name: ${secs}s, $(awk -v l="$LINES" -v s="$secs" 'BEGIN{printf "%.0f", l/s}') lines/s, peak RSS $((rss / 1024)) MiB"
	echo "$secs" >"$work/$name.secs"
}
import off false
import on true
awk -v off="$(cat "$work/off.secs")" -v on="$(cat "$work/on.secs")" 'BEGIN{printf "import with the ledger keeps %.0f%% of its speed without\n", 100*off/on}'
records=$(bin/mailtrace sql --config "$work/on/mailtrace.yaml" --format tsv "SELECT count() FROM evidence_records" | tail -1)
/usr/bin/time -f '%e %M' -o "$work/verify.time" bin/mailtrace evidence verify --config "$work/on/mailtrace.yaml" >"$work/verify.out"
read -r secs rss <"$work/verify.time"
echo "evidence verify: $records records in ${secs}s, peak RSS $((rss / 1024)) MiB"
grep -E 'FAIL|first failure' "$work/verify.out" || true
