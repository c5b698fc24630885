#!/usr/bin/env bash
# The Debian package as an operator gets it: made with cpack from an already built tree (the same
# install rules and CPack settings scripts/package uses), its control fields and file list, what it
# installs run from an unpacked copy, its man page against every command's --help, its completion,
# lintian, and dpkg installing, upgrading and purging it in a throw-away root.
#   tests/package/test_package.sh BUILD_DIR
set -euo pipefail

build_dir=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/esxmirror-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/package/helpers.sh
source "$here/helpers.sh"

TEST "cpack builds the package"
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; abort "cpack failed"; }
deb=$(ls "$work"/out/esxmirror_*.deb)
root="$work/unpacked"
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin/esxmirror"
version=$("$bin" --version)
version=${version#esxmirror }
expect_match "$version" '^[0-9]+\.[0-9]+\.[0-9]+$' "the unpacked esxmirror --version"

TEST "control fields"
field() { dpkg-deb -f "$deb" "$1"; }
expect_equal "$(field Package)" esxmirror "Package"
expect_match "$(field Version)" "^${version//./\\.}-[0-9]+$" "Version"
expect_equal "$(field Architecture)" "$(dpkg --print-architecture)" "Architecture"
expect_equal "$(field Section)" admin "Section"
expect_equal "$(field Priority)" optional "Priority"
expect_match "$(field Maintainer)" '^[^<]+ <[^@>]+@[^>]+>$' "Maintainer"
expect_match "$(field Description)" '^keep an internal mirror of VMware ESX/ESXi patches' "Description"
expect_match "$(field Installed-Size)" '^[0-9]+$' "Installed-Size"
depends=$(field Depends)
# From dpkg-shlibdeps: the binary's libraries, with versions; passwd for useradd in postinst.
for package in passwd libc6 libcurl4 libarchive13 libsqlite3-0 libre2-9 libssl3 zlib1g libstdc++6; do
  expect_match "$depends" "(^|, )${package//+/\\+}( \\(>= [^)]+\\))?(,|$)" "Depends has $package"
done
expect_match "$depends" "libcurl4 \\(>= " "Depends gives libcurl4 a minimum version"

TEST "file list, owners and modes"
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' | grep -v '^d' | sort -k3 >"$work/files"
cat >"$work/expected" <<'EOF'
-rw-r--r-- root/root ./etc/esxmirror/esxmirror.toml
-rw-r--r-- root/root ./lib/systemd/system/esxmirror.service
-rw-r--r-- root/root ./lib/systemd/system/esxmirror.timer
-rwxr-xr-x root/root ./usr/bin/esxmirror
-rw-r--r-- root/root ./usr/share/bash-completion/completions/esxmirror
-rw-r--r-- root/root ./usr/share/doc/esxmirror/README.md.gz
-rw-r--r-- root/root ./usr/share/doc/esxmirror/changelog.Debian.gz
-rw-r--r-- root/root ./usr/share/doc/esxmirror/copyright
-rw-r--r-- root/root ./usr/share/doc/esxmirror/examples/esxmirror.cron
-rw-r--r-- root/root ./usr/share/doc/esxmirror/examples/esxmirror.toml
-rw-r--r-- root/root ./usr/share/doc/esxmirror/examples/nginx-esxmirror.conf
-rw-r--r-- root/root ./usr/share/man/man1/esxmirror.1.gz
EOF
expect_same_file "$work/files" "$work/expected" "files in the package"
expect_equal "$(dpkg-deb -c "$deb" | awk '$1 ~ /^d/ && $2 != "root/root"' | wc -l)" 0 "directories owned by root"

TEST "conffiles and maintainer scripts"
dpkg-deb -e "$deb" "$work/control"
expect_equal "$(cat "$work/control/conffiles")" /etc/esxmirror/esxmirror.toml "conffiles"
for script in postinst prerm postrm; do
  expect_equal "$(stat -c %a "$work/control/$script")" 755 "$script mode"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done
expect_no_match "$(cat "$work/control/postinst")" 'systemctl (start|enable|restart)|deb-systemd-invoke start' \
  "postinst starts nothing"

TEST "the binary runs, is stripped, and its config files load"
expect_equal "$("$bin" --version)" "esxmirror $version" "--version"
readelf -S "$bin" >"$work/sections"
expect_no_match "$(cat "$work/sections")" '\.symtab|\.debug_info' "the binary is stripped"
for config in "$root/etc/esxmirror/esxmirror.toml" "$root/usr/share/doc/esxmirror/examples/esxmirror.toml"; do
  shown=$("$bin" config show --config "$config" 2>&1) || fail "config show --config ${config#"$root"}: $shown"
done
expect_match "$("$bin" config show --config "$root/etc/esxmirror/esxmirror.toml")" "dest = [\"']/srv/esx-mirror[\"']" \
  "the conffile's dest"

TEST "systemd units name the packaged paths"
service=$(cat "$root/lib/systemd/system/esxmirror.service")
expect_match "$service" $'\nExecStart=/usr/bin/esxmirror sync --config /etc/esxmirror/esxmirror.toml( |\n)' "ExecStart"
expect_match "$service" $'\nUser=esxmirror\n' "User"
expect_match "$service" $'\nReadWritePaths=/srv/esx-mirror( |\n)' "ReadWritePaths"
expect_no_match "$service" '\[Install\]' "the service is started by the timer only"
expect_match "$(cat "$root/lib/systemd/system/esxmirror.timer")" $'\nOnCalendar=' "the timer"
expect_match "$(cat "$root/usr/share/doc/esxmirror/examples/esxmirror.cron")" \
  ' esxmirror /usr/bin/esxmirror sync --config /etc/esxmirror/esxmirror.toml' "the cron example"

TEST "man -l renders the page without warnings"
page="$root/usr/share/man/man1/esxmirror.1.gz"
MANWIDTH=120 man --warnings -l "$page" >"$work/man.txt" 2>"$work/man.err" || fail "man -l failed"
expect_equal "$(cat "$work/man.err")" "" "man's warnings"
expect_match "$(head -n 1 "$work/man.txt")" '^ESXMIRROR\(1\)' "the page's header"
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS CONFIGURATION "EXIT STATUS" FILES ENVIRONMENT EXAMPLES; do
  grep -qx "$section" "$work/man.txt" || fail "no section $section"
done
zcat "$page" >"$work/esxmirror.1"
expect_equal "$(groff -ww -z -man "$work/esxmirror.1" 2>&1)" "" "groff -ww warnings"
if command -v mandoc >/dev/null; then
  expect_equal "$(mandoc -T lint -W all "$work/esxmirror.1" 2>&1)" "" "mandoc -T lint"
fi

TEST "every option in every command's --help is in the man page"
missing=$(options_missing_from "$bin" "$work/man.txt")
expect_equal "$missing" "" "options in --help but not in the man page"
# The check itself must catch a page that lacks an option (here sync's last).
victim=$(help_options "$bin" sync | tail -n 1)
grep -v -- "$victim" "$work/man.txt" >"$work/man-without.txt"
expect_match "$(options_missing_from "$bin" "$work/man-without.txt")" "(^| )$victim( |\$)" \
  "a page without $victim is caught"

TEST "bash completion offers every command and option --help lists"
expect_equal "$(complete_words "$root" "")" "$(help_commands "$bin" "" | sort | tr '\n' ' ')" "commands"
while read -r command; do
  want=$(help_options "$bin" "$command" | sort | tr '\n' ' ')
  expect_equal "$(complete_words "$root" "$command -")" "$want" "esxmirror $command -<TAB>"
done < <(all_commands "$bin")
expect_equal "$(complete_words "$root" "sync --jobs ")" "" "no file names after --jobs"

TEST "lintian reports no errors"
lintian --tag-display-limit 0 --fail-on error "$deb" >"$work/lintian.txt" 2>&1 ||
  fail "lintian errors: $(grep '^E:' "$work/lintian.txt" | tr '\n' ' ')"
echo "lintian: $(grep -c '^W:' "$work/lintian.txt" || true) warnings"
grep '^W:' "$work/lintian.txt" | sed 's/^/  /' || true

TEST "dpkg installs, upgrades and purges it in a throw-away root"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: dpkg --root needs root (CI runs as root)"
else
  target="$work/target"
  new_dpkg_root "$target"
  host_passwd=$(md5sum /etc/passwd)
  in_root() { dpkg --root="$target" --force-script-chrootless --force-depends --log=/dev/null "$@" </dev/null; }
  in_root -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
  expect_match "$(dpkg --root="$target" -s esxmirror)" $'\nStatus: install ok installed\n' "installed"
  user=$(awk -F: '$1 == "esxmirror"' "$target/etc/passwd")
  expect_match "$user" '^esxmirror:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "the system user"
  expect_equal "$(stat -c %u:%g "$target/srv/esx-mirror")" "$(cut -d: -f3,4 <<<"$user")" "/srv/esx-mirror owner"
  expect_equal "$(md5sum /etc/passwd)" "$host_passwd" "this machine's /etc/passwd is untouched"
  expect_equal "$(find "$target/etc" -path '*systemd*' -name 'esxmirror*' | wc -l)" 0 "nothing enabled"

  mkdir -p "$target/srv/esx-mirror/3.0.1/2007-03-29_ESX-1000039"
  echo bundle >"$target/srv/esx-mirror/3.0.1/2007-03-29_ESX-1000039/descriptor.xml"
  sed -i 's/^jobs = 4 /jobs = 8 /' "$target/etc/esxmirror/esxmirror.toml"
  edited=$(md5sum <"$target/etc/esxmirror/esxmirror.toml")
  # An upgrade with the same shipped conffile keeps the edit silently.
  repack "$deb" "$work/upgrade.deb" 99 ""
  in_root -i "$work/upgrade.deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i (upgrade)"; }
  expect_match "$(dpkg --root="$target" -s esxmirror)" $'\nVersion: [^\n]*-99\n' "upgraded"
  expect_equal "$(md5sum <"$target/etc/esxmirror/esxmirror.toml")" "$edited" "the edited conffile after an upgrade"
  expect_equal "$(find "$target/etc/esxmirror" -name '*.dpkg-*' | wc -l)" 0 "no .dpkg-* file beside it"
  # One whose shipped conffile changed too keeps it with --force-confold; the new one is put beside it.
  repack "$deb" "$work/upgrade2.deb" 100 "# a new comment"
  in_root --force-confdef --force-confold -i "$work/upgrade2.deb" >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log"; fail "dpkg -i (upgrade, changed conffile)"; }
  expect_equal "$(md5sum <"$target/etc/esxmirror/esxmirror.toml")" "$edited" "the edited conffile, both changed"
  [[ -f "$target/etc/esxmirror/esxmirror.toml.dpkg-dist" ]] || fail "no esxmirror.toml.dpkg-dist"
  rm -f "$target/etc/esxmirror/esxmirror.toml.dpkg-dist"

  in_root --purge esxmirror >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --purge"; }
  [[ ! -e "$target/usr/bin/esxmirror" ]] || fail "the binary is still there after purge"
  [[ ! -e "$target/etc/esxmirror/esxmirror.toml" ]] || fail "the conffile is still there after purge"
  expect_equal "$(cat "$target/srv/esx-mirror/3.0.1/2007-03-29_ESX-1000039/descriptor.xml")" bundle \
    "the mirror after purge"
  expect_match "$(cat "$target/etc/passwd")" $'\nesxmirror:' "the user after purge"
fi

finish
