#!/usr/bin/env bash
# Baseline (a) of scripts/bench: what the 2007 mirror script did, one step after the other.
#   wget the index, grep the detail-page links, wget each detail page, keep it if it names the ESX
#   version, grep its download link, wget the tarball, `tar xzf` it into a work dir, rename the
#   bundle's directory into <dest>/<version>/ and delete the tarball.
# Like the old script it keeps no state: a bundle is skipped only when its directory already exists
# (so a second run still fetches the index and every detail page, in full). Every wget is a new
# process and a new connection; nothing runs in parallel; nothing is verified.
# Usage: old-script.sh INDEX_URL VERSION DEST
set -u
index_url=$1 version=$2 dest=$3
work=$dest/.old-script
mkdir -p "$work" "$dest/$version" || exit 5
fetch() { wget -q --no-config --no-proxy -O "$2" "$1"; }
origin=$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$index_url")

# href -> absolute URL (wget simplifies the ../ itself)
resolve() {
  case $1 in
    http://* | https://*) echo "$1" ;;
    /*) echo "$origin$1" ;;
    *) echo "${2%/*}/$1" ;;
  esac
}

fetch "$index_url" "$work/index.html" || { echo "old-script: cannot fetch $index_url" >&2; exit 4; }
status=0
for href in $(grep -oiE "href=[\"'][^\"']*[0-9]+-patch\.html[\"']" "$work/index.html" |
              sed -E "s/^[Hh][Rr][Ee][Ff]=[\"']//; s/[\"']$//" | sort -u); do
  page_url=$(resolve "$href" "$index_url")
  fetch "$page_url" "$work/page.html" || { echo "old-script: cannot fetch $page_url" >&2; status=1; continue; }
  grep -q "ESX Server $version" "$work/page.html" || continue
  link=$(grep -oiE "href=[\"'][^\"']*\.tgz[\"']" "$work/page.html" | head -1 | sed -E "s/^[Hh][Rr][Ee][Ff]=[\"']//; s/[\"']$//")
  [[ -n $link ]] || continue
  tarball=${link##*/}
  bundle=${tarball%.tgz}
  [[ -d $dest/$version/$bundle ]] && continue
  if ! fetch "$(resolve "$link" "$page_url")" "$work/$tarball"; then
    echo "old-script: cannot fetch $link" >&2; status=1; continue
  fi
  rm -rf "$work/unpack" && mkdir -p "$work/unpack"
  if tar xzf "$work/$tarball" -C "$work/unpack" && mv "$work/unpack/$bundle" "$dest/$version/$bundle"; then
    rm -f "$work/$tarball"
  else
    echo "old-script: cannot unpack $tarball" >&2; status=1
  fi
done
rm -rf "$work/unpack" "$work/page.html"
exit $status
