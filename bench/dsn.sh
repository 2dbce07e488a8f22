#!/usr/bin/env bash
# Measures the bounce parser against Sisimai (Debian's libsisimai-perl) on
# flufl.bounce's corpus of real bounces (Debian's python3-flufl.bounce):
# reports per second each on one core (GOMAXPROCS=1 for ours; Sisimai is
# one perl process), and the ratio. Agreement is tested by
# `go test ./dsn -run Sisimai -v`.
#
#   bench/dsn.sh             # Sisimai reads the corpus ROUNDS times (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-20}
CORPUS=/usr/lib/python3/dist-packages/flufl/bounce/tests/data
make -s setup >/dev/null
files=("$CORPUS"/*.txt)
n=${#files[@]}

ours=$(go test -cpu 1 -run '^$' -bench BenchmarkParseCorpus -benchtime 3s ./dsn/ | awk '/reports\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "reports/s") print $i }')

# Sisimai in one perl process, parsing every file ROUNDS times.
start=$(date +%s.%N)
perl -MSisimai -e 'my $r = shift; for (1..$r) { for my $f (@ARGV) { Sisimai->make($f, "delivered" => 1) } }' "$ROUNDS" "${files[@]}" >/dev/null 2>&1
end=$(date +%s.%N)
sisimai=$(awk -v n="$n" -v r="$ROUNDS" -v s="$start" -v e="$end" 'BEGIN { print n * r / (e - s) }')

printf 'corpus: %d files\n' "$n"
printf 'mailtrace dsn: %10.0f reports/s\n' "$ours"
printf 'sisimai:       %10.0f reports/s\n' "$sisimai"
printf 'ratio:         %10.1fx\n' "$(awk -v a="$ours" -v b="$sisimai" 'BEGIN { print a / b }')"
