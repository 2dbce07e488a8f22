#!/usr/bin/env bash
# Measures `mailtrace import` into the embedded store against pflogsumm and
# mtail's postfix program on the same generated Postfix log, and compares
# what each counts.
#
#   bench/import.sh            # 1,000,000 lines
#   LINES=5000000 bench/import.sh
#
# Needs: make setup (libchdb), and Debian's pflogsumm and mtail packages
# (installed here if missing, when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
MTAIL_PROG=/usr/share/doc/mtail/examples/postfix.mtail

if ! command -v pflogsumm >/dev/null || ! command -v mtail >/dev/null || [[ ! -f $MTAIL_PROG ]]; then
	if [[ $(id -u) == 0 ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pflogsumm mtail >/dev/null
	else
		echo "bench: needs pflogsumm and mtail (apt-get install pflogsumm mtail)" >&2
		exit 1
	fi
fi
make -s setup build >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go run ./bench/genlog -lines "$LINES" >"$work/mail.log"
lines=$(wc -l <"$work/mail.log")
size=$(du -h "$work/mail.log" | cut -f1)
echo "log: $lines lines, $size"

# run NAME CMD...: time a command, keep its output, print seconds and peak RSS.
run() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "$name failed:" >&2
		cat "$work/$name.err" >&2
		exit 1
	}
	read -r secs kb <"$work/$name.time"
	printf '%-10s %8.2f s  %10.0f lines/s  peak RSS %5d MB\n' "$name" "$secs" "$(echo "$lines / $secs" | bc -l)" $((kb / 1024))
	eval "${name}_secs=$secs"
}

echo
run mailtrace bin/mailtrace import --store "chdb://$work/store" --timezone UTC "$work/mail.log"
run pflogsumm pflogsumm --detail 0 "$work/mail.log"
mkdir -p "$work/progs" && cp "$MTAIL_PROG" "$work/progs/"
run mtail mtail --one_shot --one_shot_format prometheus --progs "$work/progs" --logs "$work/mail.log"

echo
printf 'mailtrace is %.1fx pflogsumm and %.1fx mtail on this log\n' \
	"$(echo "$pflogsumm_secs / $mailtrace_secs" | bc -l)" "$(echo "$mtail_secs / $mailtrace_secs" | bc -l)"

q() { bin/mailtrace sql --store "chdb://$work/store" --format tsv "$1" | tail -n +2; }
ours_received=$(q "SELECT count() FROM messages FINAL WHERE origin = 'smtpd'")
ours_sent=$(q "SELECT countIf(status = 'sent') FROM delivery_events")
ours_deferred=$(q "SELECT countIf(status = 'deferred') FROM delivery_events")
ours_bounced=$(q "SELECT countIf(status = 'bounced') FROM delivery_events")
ours_rejected=$(q "SELECT countIf(status = 'rejected') FROM delivery_events")
pf() { grep -E "^ +[0-9]+[km]? +$1( |\$)" "$work/pflogsumm.out" | head -1 | awk '{print $1}'; }
mt() { grep -E "^$1[{ ]" "$work/mtail.out" | awk '{s+=$NF} END {print s+0}'; }

echo
printf '%-28s %10s %10s %10s\n' "count" mailtrace pflogsumm mtail
printf '%-28s %10s %10s %10s\n' "received (smtpd)" "$ours_received" "$(pf received)" "$(mt postfix_smtpd_messages_processed_total)"
printf '%-28s %10s %10s %10s\n' "delivered (attempts sent)" "$ours_sent" "$(pf delivered)" "-"
printf '%-28s %10s %10s %10s\n' "deferred (attempts)" "$ours_deferred" "$(pf deferred)" "-"
printf '%-28s %10s %10s %10s\n' "bounced (attempts)" "$ours_bounced" "$(pf bounced)" "-"
printf '%-28s %10s %10s %10s\n' "rejected" "$ours_rejected" "$(pf rejected)" "$(mt postfix_smtpd_messages_rejected_total)"
cat <<'WHY'

Why counts differ:
- pflogsumm only reads syslog names "postfix/...": attempts logged by the
  pool transports (postfix-legal/smtp, ...) of the VERP classes are
  invisible to it, so it sees only the deliveries, deferrals and bounces of
  the class without VERP (Postfix's own routing, postfix/smtp) and the
  notifications (to the bounce intake over LMTP, or to the sender).
- mailtrace counts attempts: each deferral and each later retry is one.
- mtail's postfix program keeps no delivery status counters; it counts
  smtpd messages and rejections, which match ours.
WHY
