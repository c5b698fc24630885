#!/usr/bin/env bash
# Baseline (b) of scripts/bench: download only, with aria2c keeping JOBS transfers in flight (the bundle
# URLs are given, no page is crawled), then `tar xzf` each archive one after the other into DEST and
# delete it. No verification, no state. Prints "bench-phase NAME START END" lines on stderr (epoch seconds).
# Usage: aria2-untar.sh URL_FILE JOBS DEST
set -u
urls=$1 jobs=$2 dest=$3
work=$dest/.aria2
mkdir -p "$work" || exit 5
t0=$EPOCHREALTIME
aria2c --no-conf -q -j "$jobs" -x 1 -s 1 --file-allocation=none --allow-overwrite=true \
  --auto-file-renaming=false --all-proxy="" --dir "$work" -i "$urls" || exit 1
t1=$EPOCHREALTIME
status=0
for archive in "$work"/*.tgz; do
  tar xzf "$archive" -C "$dest" && rm -f "$archive" || status=1
done
t2=$EPOCHREALTIME
echo "bench-phase download $t0 $t1" >&2
echo "bench-phase unpack $t1 $t2" >&2
exit $status
