#!/usr/bin/env bash
# Installs the Debian packages the tests run for real: postfix (private
# instances started from temporary directories; the system's own instance is
# neither configured nor started), systemd-journal-remote (writes journal
# files that journalctl then follows) and chromium (the web UI's tests run
# it headless), prometheus (its promtool tests the alert rules),
# libsisimai-perl and python3-flufl.bounce (the bounce parser is compared with
# Sisimai on flufl.bounce's corpus of real bounces), poppler-utils (pdftotext
# and pdftoppm read the delivery certificates back). Idempotent.
set -euo pipefail
need=()
command -v postfix >/dev/null 2>&1 || [[ -x /usr/sbin/postfix ]] || need+=(postfix)
[[ -x /lib/systemd/systemd-journal-remote ]] || need+=(systemd-journal-remote)
command -v journalctl >/dev/null 2>&1 || need+=(systemd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
perl -MSisimai -e1 >/dev/null 2>&1 || need+=(libsisimai-perl)
[[ -d /usr/lib/python3/dist-packages/flufl/bounce/tests/data ]] || need+=(python3-flufl.bounce)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [[ ${#need[@]} == 0 ]]; then
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "setup-debian: ${need[*]} not installed and this is not root; the tests that need them will be skipped." >&2
	echo "  install with: apt-get install --no-install-recommends ${need[*]}" >&2
	exit 0
fi
echo "setup-debian: installing ${need[*]}" >&2
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
