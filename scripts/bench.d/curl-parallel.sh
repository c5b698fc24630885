#!/usr/bin/env bash
# Reference (c) of scripts/bench: download only, curl keeping JOBS transfers in flight on the bundle URL
# list (no page crawled, nothing unpacked, verified or made durable). What the wire and the latency allow
# at that many connections: no tool that also reads the pages and places the bundles can beat it.
# Usage: curl-parallel.sh URL_FILE JOBS DEST
set -u
urls=$1 jobs=$2 dest=$3
mkdir -p "$dest" || exit 5
config=$dest/.curl-config
n=0
while IFS= read -r url; do
  [ -n "$url" ] || continue
  n=$((n + 1))
  printf 'url = "%s"\noutput = "%s/%d.tgz"\n' "$url" "$dest" "$n"
done <"$urls" >"$config" || exit 5
exec curl -sSf --noproxy '*' -Z --parallel-max "$jobs" -K "$config"
