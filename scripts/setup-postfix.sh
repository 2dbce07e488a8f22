#!/usr/bin/env bash
# Installs Debian's postfix package for the end-to-end tests, without
# configuring or starting the system's own instance (tests run private
# instances from temporary directories). Idempotent.
set -euo pipefail
if command -v postfix >/dev/null 2>&1 || [[ -x /usr/sbin/postfix ]]; then
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "setup-postfix: postfix is not installed and this is not root; the Postfix tests will be skipped." >&2
	echo "  install it with: apt-get install --no-install-recommends postfix" >&2
	exit 0
fi
echo "setup-postfix: installing Debian's postfix package" >&2
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
