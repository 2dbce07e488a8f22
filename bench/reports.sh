#!/usr/bin/env bash
# Measures the DMARC aggregate report reader: records per second on one core
# (the benchmark on a generated 2,000-record report; records/cpu-s counts
# this process's CPU time only, so that a loaded machine does not skew it),
# and memory over a long backfill: `mailtrace reports parse` and `reports
# ingest` (into a fresh embedded store) over SMALL and then LARGE generated
# reports (messages with .xml.gz attachments of 2,000 records each); the
# peak resident memory should not grow with the number of reports.
#
#   bench/reports.sh            # SMALL=20 LARGE=200 reports
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${SMALL:-20}
LARGE=${LARGE:-200}
make -s setup build >/dev/null
go test -cpu 1 -run '^$' -bench BenchmarkReadAggregate -benchtime 3s ./dmarcrpt/ | grep Benchmark
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in "$SMALL" "$LARGE"; do
  mkdir -p "$tmp/r$n"
  go run ./bench/genreports -dir "$tmp/r$n" -files "$n" -records 2000
  /usr/bin/time -f "%M %e" -o "$tmp/parse$n" bin/mailtrace reports parse --config /dev/null --json "$tmp/r$n"/*.eml >/dev/null
  /usr/bin/time -f "%M %e" -o "$tmp/ingest$n" bin/mailtrace reports ingest --config /dev/null --log-level error \
    --store "chdb://$tmp/store$n" "$tmp/r$n"/*.eml >/dev/null
  read -r prss pwall <"$tmp/parse$n"
  read -r irss iwall <"$tmp/ingest$n"
  printf 'reports %4d (%7d records): parse %6.1f s, peak %4d MiB; ingest %6.1f s, peak %4d MiB\n' \
    "$n" $((n * 2000)) "$pwall" $((prss / 1024)) "$iwall" $((irss / 1024))
done
