#!/usr/bin/env bash
# Installs libchdb.so (the embedded ClickHouse engine) into .cache/chdb/VERSION/
# from the npm registry package @chdb/lib-linux-x64-gnu, pinned by version and
# by the registry's sha512 integrity. Idempotent: a finished install is
# recognised by its stamp file and costs nothing.
set -euo pipefail

VERSION=26.5.3
INTEGRITY=sha512-fPrLmRt5Moor9yGz4mazbrNje4t7X9KB2mTGkXFWRxRBs2iKy8yh6jx11xsa0Qr3iDFMU/yHqd+bVdYJXu3QaQ==
LIB_SHA256=4330da79405733f7572f27c1442f46c03a08301f00859dce0368645731b1e1dc

root=$(cd "$(dirname "$0")/.." && pwd)
dest="${MAILTRACE_CACHE:-$root/.cache}/chdb/$VERSION"
stamp="$dest/.installed"

if [[ -f "$stamp" && -f "$dest/libchdb.so" && "$(cat "$stamp")" == "$LIB_SHA256" ]]; then
	exit 0
fi

for tool in npm tar openssl sha256sum; do
	command -v "$tool" >/dev/null || { echo "setup-chdb: $tool is needed (apt-get install nodejs npm tar openssl coreutils)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup-chdb: fetching @chdb/lib-linux-x64-gnu@$VERSION (~166 MB)" >&2
(cd "$work" && npm pack --silent "@chdb/lib-linux-x64-gnu@$VERSION" >/dev/null)
tgz=$(ls "$work"/*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [[ "$got" != "$INTEGRITY" ]]; then
	echo "setup-chdb: integrity mismatch for $tgz: got $got, want $INTEGRITY" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$work" package/libchdb.so
sum=$(sha256sum "$work/package/libchdb.so" | cut -d' ' -f1)
if [[ "$sum" != "$LIB_SHA256" ]]; then
	echo "setup-chdb: libchdb.so sha256 $sum, want $LIB_SHA256" >&2
	exit 1
fi
mkdir -p "$dest"
mv "$work/package/libchdb.so" "$dest/libchdb.so.tmp"
mv "$dest/libchdb.so.tmp" "$dest/libchdb.so"
echo "$LIB_SHA256" >"$stamp"
echo "setup-chdb: installed $dest/libchdb.so" >&2
