#!/usr/bin/env bash
# Baseline of scripts/bench's depot scenario S6: download only, with aria2c keeping JOBS transfers in
# flight (the VIB URLs are given, no depot document is read), then `sha256sum -c` of every file against
# the checksums the metadata lists. No state, nothing placed. Prints "bench-phase NAME START END" lines on
# stderr (epoch seconds).
# Usage: aria2-sha256.sh URL_FILE JOBS DEST SHA256SUMS_FILE
set -u
urls=$1 jobs=$2 dest=$3 sums=$4
mkdir -p "$dest" || exit 5
t0=$EPOCHREALTIME
aria2c --no-conf -q -j "$jobs" -x 1 -s 1 --file-allocation=none --allow-overwrite=true \
  --auto-file-renaming=false --all-proxy="" --dir "$dest" -i "$urls" || exit 1
t1=$EPOCHREALTIME
(cd "$dest" && sha256sum --quiet -c "$sums") || exit 1
t2=$EPOCHREALTIME
echo "bench-phase download $t0 $t1" >&2
echo "bench-phase verify $t1 $t2" >&2
