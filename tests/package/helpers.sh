# shellcheck shell=bash
# Helpers of tests/package/test_package.sh: expectations in the style of ccache's test runner, what
# --help lists, bash completion driven without a terminal, and throw-away dpkg roots. Sourced.

current=""
failures=0

TEST() {
  current=$1
  echo "--- $current"
}

fail() {
  echo "FAIL [$current]: $*" >&2
  failures=$((failures + 1))
}

abort() {
  fail "$@"
  finish
}

finish() {
  if ((failures > 0)); then
    echo "$failures failure(s)" >&2
    exit 1
  fi
  echo "all passed"
  exit 0
}

expect_equal() {  # ACTUAL EXPECTED WHAT
  [[ "$1" == "$2" ]] || fail "$3: expected [$2], got [$1]"
}

# The start of TEXT, for messages.
excerpt() {
  local text=${1//$'\n'/\\n}
  ((${#text} > 300)) && text="${text:0:300}..."
  echo "$text"
}

expect_match() {  # TEXT REGEX WHAT
  [[ "$1" =~ $2 ]] || fail "$3: [$(excerpt "$1")] does not match /$2/"
}

expect_no_match() {  # TEXT REGEX WHAT
  if [[ "$1" =~ $2 ]]; then fail "$3: found /$2/ (${BASH_REMATCH[0]})"; fi
}

expect_same_file() {  # ACTUAL EXPECTED WHAT
  diff -u "$2" "$1" >&2 || fail "$3 differ (- expected, + actual)"
}

# The subcommand names `esxmirror COMMAND --help` lists, one a line.
help_commands() {
  # shellcheck disable=SC2086 # COMMAND is words: "rules test"
  "$1" $2 --help | awk '/^Subcommands:/ { listing = 1; next } /^$/ { listing = 0 } listing { print $1 }'
}

# Every command path ("sync", "rules", "rules test", ...), depth first.
all_commands() {
  local bin=$1 prefix=${2:-} name
  for name in $(help_commands "$bin" "$prefix"); do
    echo "${prefix:+$prefix }$name"
    all_commands "$bin" "${prefix:+$prefix }$name"
  done
}

# The option names `esxmirror COMMAND --help` lists ("-j", "--jobs", ...), one a line.
help_options() {
  # shellcheck disable=SC2086
  "$1" $2 --help |
    awk '/^Exit codes:/ { exit } /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }'
}

# Each option of each command's --help that the rendered man page MAN_TEXT does not show, space-separated.
options_missing_from() {
  local bin=$1 man_text=$2 command option absent=()
  for command in "" $(all_commands "$bin" | tr ' ' '+'); do
    command=${command//+/ }
    for option in $(help_options "$bin" "$command"); do
      grep -qE -e "(^|[^A-Za-z0-9-])${option}([^A-Za-z0-9-]|$)" "$man_text" || absent+=("$option")
    done
  done
  echo "${absent[*]}" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# What the installed completion offers for `esxmirror WORDS` (the last word being completed), sorted,
# space-separated with a trailing space.
complete_words() {
  local root=$1 line=$2
  bash -c '
    source "$1/usr/share/bash-completion/completions/esxmirror"
    read -r -a COMP_WORDS <<<"esxmirror $2"
    [[ "$2" == "" || "$2" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _esxmirror
    printf "%s\n" "${COMPREPLY[@]}" | sort | grep -v "^$" | tr "\n" " "
  ' _ "$root" "$line"
}

# An empty dpkg root at DIR with just the system users, for dpkg --root --force-script-chrootless.
new_dpkg_root() {
  local dir=$1
  mkdir -p "$dir"/var/lib/dpkg/{info,updates,triggers} "$dir/etc"
  : >"$dir/var/lib/dpkg/status"
  echo 'root:x:0:0:root:/root:/bin/bash' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  echo 'root:*:19000:0:99999:7:::' >"$dir/etc/shadow"
  echo 'root:*::' >"$dir/etc/gshadow"
  chmod 0640 "$dir/etc/shadow" "$dir/etc/gshadow"
}

# DEB rebuilt as OUT with Debian revision REVISION and, unless empty, LINE appended to the conffile.
repack() {
  local deb=$1 out=$2 revision=$3 line=$4 tree=$2.tree
  rm -rf "$tree"
  dpkg-deb -R "$deb" "$tree"
  sed -i "s/^Version: \(.*\)-[^-]*$/Version: \1-$revision/" "$tree/DEBIAN/control"
  if [[ -n "$line" ]]; then
    echo "$line" >>"$tree/etc/esxmirror/esxmirror.toml"
    (cd "$tree" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | sort | xargs md5sum >DEBIAN/md5sums)
  fi
  dpkg-deb --root-owner-group -b "$tree" "$out" >/dev/null
}
