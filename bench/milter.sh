#!/usr/bin/env bash
# Measures mailtrace's milter against the smallest useful go-milter filter
# (one that adds one header), driven by go-milter's client over loopback
# with 1 and 8 connections, and a real Postfix pushing the same mail with
# and without the milter. Prints msgs/s, the ratios, and the p99 decision
# time with one connection.
#
#   bench/milter.sh                 # 6000 messages per milter run, 3000 through Postfix
#   RUNS=3 bench/milter.sh          # repeat, to see the machine's noise
#
# Needs: make setup (libchdb, Postfix); the Postfix part runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1}
make -s setup >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$RUNS"); do
	go test -run '^$' -bench 'Milter' -benchtime 6000x ./milter/ | grep '^Benchmark' >>"$out"
	go test -run '^$' -bench 'Postfix' -benchtime 3000x ./milter/ | grep '^Benchmark' >>"$out" || true
done
# Columns: name iterations N "ns/op" N "msgs/s" [N "p99-ms"].
awk '
	{ name = $1; sub(/-[0-9]+$/, "", name); sub(/#[0-9]+$/, "", name); n = ++runs[name]; all[name, n] = $5
	  if ($8 == "p99-ms") p99[name, n] = $7 }
	END {
		for (c = 1; c <= 8; c += 7) {
			m = "BenchmarkMilter/mailtrace/conns=" c; b = "BenchmarkMilter/minimal/conns=" c
			for (i = 1; i <= runs[m]; i++) {
				printf "milter, %d connection(s), run %d: mailtrace %.0f msgs/s, minimal filter %.0f msgs/s, ratio %.2f (goal 0.90)", c, i, all[m, i], all[b, i], all[m, i] / all[b, i]
				if (c == 1) printf "; p99 decision %s ms (goal 3), minimal %s ms", p99[m, i], p99[b, i]
				printf "\n"
			}
		}
		# Each variant ran twice per run, at mirrored positions: average pairs.
		w = "BenchmarkPostfix/with-milter"; wo = "BenchmarkPostfix/without-milter"
		u = "BenchmarkPostfix/with-milter-unix"; mm = "BenchmarkPostfix/with-minimal-milter"
		for (i = 1; i < runs[w]; i += 2) {
			a = (all[wo, i] + all[wo, i+1]) / 2; b = (all[w, i] + all[w, i+1]) / 2
			c = (all[u, i] + all[u, i+1]) / 2; d = (all[mm, i] + all[mm, i+1]) / 2
			printf "postfix, run %d: without milter %.0f msgs/s; with mailtrace (inet) %.0f, ratio %.2f (goal 0.90); with mailtrace (unix socket) %.0f, ratio %.2f; with the minimal filter %.0f, ratio %.2f\n", (i+1)/2, a, b, b / a, c, c / a, d, d / a
		}
		if (runs[w] == 0) print "postfix: not measured (needs root and Postfix)"
	}' "$out"
