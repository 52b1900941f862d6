#!/usr/bin/env bash
# Fetch QScanner from $QSCANNER_URL (https:// or s3://), verify it against $QSCANNER_SHA256 BEFORE
# it can ever run, keep it in a cache folder between builds, and print the verified binary's path.
# The download may be the binary, a gzip of it, or a release tar.gz holding it; the hash may be
# the binary's or the download's. Anything else is refused.
# Messages go to stderr; stdout carries only the path.
set -euo pipefail

say() { printf 'fetch-qscanner: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

sha="${QSCANNER_SHA256:-}"
url="${QSCANNER_URL:-}"
[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || fail "QSCANNER_SHA256 is missing or not 64 lowercase hex: refusing to run an unverified QScanner"
cache="${QSCANNER_CACHE_DIR:-$HOME/.cache/deployscan/qscanner}"
binary="$cache/$sha/qscanner"

matches() { printf '%s  %s\n' "${2:-$sha}" "$1" | sha256sum --check --status -; }

# The binary's own hash is recorded once it was verified (QSCANNER_SHA256 may be the archive's).
recorded="$cache/$sha/qscanner.sha256"
if [[ -f "$binary" && -f "$recorded" ]] && matches "$binary" "$(cat "$recorded")"; then
  say "using cached QScanner ${sha:0:12} (verified)"
  chmod 0755 "$binary"
  printf '%s\n' "$binary"
  exit 0
fi

[[ -n "$url" ]] || fail "QSCANNER_URL is not set"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
download="$work/download"
case "$url" in
  https://*)
    curl --fail --silent --show-error --location --proto '=https' --retry 3 --max-time 300 \
      --output "$download" -- "$url" || fail "download from QSCANNER_URL failed"
    ;;
  s3://*)
    # boto3 comes with the runner; it honours AWS_ENDPOINT_URL and the build's role.
    python3 - "$url" "$download" <<'PY' || fail "download from QSCANNER_URL failed"
import sys
from urllib.parse import urlsplit

import boto3

parts = urlsplit(sys.argv[1])
boto3.client("s3").download_file(parts.netloc, parts.path.lstrip("/"), sys.argv[2])
PY
    ;;
  *) fail "QSCANNER_URL must start with https:// or s3://" ;;
esac

candidate=""
is_tar_gz() { [[ "$(gzip -dc "$1" 2>/dev/null | head -c 262 | tail -c 5)" == "ustar" ]]; }

if gzip -t "$download" 2>/dev/null && is_tar_gz "$download"; then
  # A release archive: hash of the archive itself, or of the qscanner binary inside it.
  mkdir "$work/unpacked"
  tar -xzf "$download" -C "$work/unpacked" --no-same-owner --no-same-permissions
  inner="$(find "$work/unpacked" -type f -name qscanner | head -n 1)"
  [[ -n "$inner" ]] || fail "the archive at QSCANNER_URL holds no qscanner binary"
  if matches "$download" || matches "$inner"; then candidate="$inner"; fi
elif gzip -t "$download" 2>/dev/null; then
  # A gzip-compressed binary: hash of the .gz itself, or of the binary.
  gzip -dc "$download" > "$work/qscanner"
  if matches "$download" || matches "$work/qscanner"; then candidate="$work/qscanner"; fi
elif matches "$download"; then
  candidate="$download"
fi
[[ -n "$candidate" ]] || fail "sha256 mismatch: QScanner from QSCANNER_URL does not match QSCANNER_SHA256; refusing to run it"

mkdir -p "$cache/$sha"
install -m 0755 "$candidate" "$binary.tmp.$$"
mv -f "$binary.tmp.$$" "$binary"
sha256sum "$binary" | cut -d' ' -f1 > "$recorded"
say "QScanner ${sha:0:12} downloaded and verified"
printf '%s\n' "$binary"
