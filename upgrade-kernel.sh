#!/usr/bin/env bash
# upgrade-kernel.sh: fetch, verify, unpack, patch, configure, build and install a Linux kernel.
#
# The seed talk's script ("Add a syscall to Linux 3.9"), made non-interactive and parameterised.
# It is the one implementation of kernel preparation: syscall-lab runs it on the host with
# --build-only, and a guest (Vagrant) can run it to upgrade itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
versions_table="$here/src/kernel/versions.tsv"
# The build plan's data (see make_plan): which make targets and fragments a version gets, and the
# toolchain-compatibility series (compat/linux-X.Y/, applied first to every X.Y.* build).
config_dir="$here/src/kernel/config"
plan_table="$config_dir/plan.tsv"
compat_root="$here/src/kernel/compat"

# Exit codes (sysexits.h), mapped by the harness: bad input vs. build failure.
readonly EX_USAGE=2 EX_DATAERR=65 EX_NOINPUT=66 EX_UNAVAILABLE=69 EX_SOFTWARE=70 EX_CONFIG=78

usage() {
  cat <<'EOF'
Usage: upgrade-kernel.sh [options]

Fetch, verify, unpack, patch, configure and build a Linux kernel, then install it
(or, with --build-only, leave the artefacts in a folder).

Source (one of):
  --version V            a version from src/kernel/versions.tsv: a Debian row (X.Y, the newest
                         linux-source-X.Y of the row's suite, fetched with a private apt state)
                         or a kernel.org row (X.Y.Z, sha256-pinned)
  --source PATH|URL      a kernel tarball or source tree (trusted unless --sha256 is given),
                         or a URL (then --sha256 is required unless the version is pinned)
  --sha256 HEX           expected sha256 of the tarball
  --mirror URL           replaces https://cdn.kernel.org/pub/linux/kernel (env KERNEL_MIRROR),
                         e.g. file:///srv/kernel-mirror for offline machines
  --debian-mirror URL    the Debian archive for Debian rows (default: the first Debian mirror of
                         this machine's apt sources, else http://deb.debian.org/debian)
  --debian-security-mirror URL
                         the security archive, for rows that name a *-security suite (default:
                         the --debian-mirror URI with -security added when that is given, else
                         this machine's security mirror, else deb.debian.org's)
  --sources DIR          where fetched sources and their apt state are kept (default WORK/sources);
                         Debian lists are refreshed at most daily, a tarball kept while current
  --fetch-source V       fetch the source of version V (as --version would), print "key value"
                         lines (version, tarball; debian-package and debian-version for a
                         Debian row), then exit

Changes:
  --patches DIR          apply DIR's *.patch/*.diff in name order (or its "series" file);
                         repeatable, folders are applied in the order given. The version's
                         toolchain-compatibility series (src/kernel/compat/linux-X.Y/) comes
                         first by itself: giving it here too is an error
  --backend B            the VM the kernel is for: qemu (default) or vagrant
  --profile P            a config profile (default: default)
  --feature F            an optional config feature, e.g. debug-info; repeatable
  --config-fragment F    extra Kconfig options merged after the plan's fragments; repeatable
  --localversion S       CONFIG_LOCALVERSION (uname -r tells builds apart); default -stock
                         without --patches, else -patched-<8 hex digits of the patches' sha256>
  --sparse FILE          after the build, check FILE (a .c file of the tree, e.g. one the patches
                         add) with sparse: make C=2 FILE.o; repeatable. Its messages go to
                         sparse.log in the --build-only folder ("sparse-missing" when sparse is
                         not installed); the plan names the files and sparse's version

  Make targets and fragments by version, backend, profile and feature: src/kernel/config/plan.tsv.
  --print-plan VERSION   print the plan the build with the same options would use, one
                         "key value" per line (version, compat, patch, make, fragment, option,
                         localversion), then exit; reads no kernel tree and writes nothing
  --check-inputs VERSION check only what needs no tree (every patch's paths, symlinks and hunks),
                         then exit: enough for builds that are already made; writes nothing

Build:
  --work DIR             where the tree is unpacked (default /usr/local/src)
  --in-tree DIR          build in DIR, a tree this script built before: the patches an earlier
                         --in-tree build applied are reverted, then these are applied, so make
                         rebuilds only what differs (the source options are not needed)
  --jobs N               parallel make jobs (default: number of CPUs)
  --build-only OUT       do not install: copy bzImage, .config, System.map, vmlinux and the
                         syscall table to OUT
  --check-patches        only check the inputs and try the patch series on a scratch copy of the
                         files it touches: a tarball's members (no absolute or ".." names, no
                         links out of the tree), every patch's paths (relative, no "..", no
                         symlinks) and hunks (as many lines as their @@ headers say)

Install (without --build-only: into this system; the bootloader boots it next):
  --install-prebuilt DIR install the kernel in DIR (a --build-only folder: bzImage, System.map,
                         .config, kernelrelease; modules.tar if any) instead of building one
  --install-root DIR     the system to install into (default /), e.g. a mounted image
  --cmdline ARGS         the new kernel's arguments (default: the running kernel's, with root=
                         turned into PARTUUID=, since no initramfs is made)
  --append ARGS          arguments added to those (e.g. what syscall-lab's checks need: nokaslr)
  Installing twice is harmless: a full run with unchanged inputs stops early, and the
  bootloader entry is replaced, not added.
  --list-patches DIR     print the patch files of DIR in the order they apply, then exit

  -h, --help             this text

Exit codes: 0 ok, 2 usage, 65 bad data (checksum, patch, tree), 66 missing input,
69 download failed, 70 build failed, 78 required config option missing.
EOF
}

say() { printf 'syscall-lab: %s\n' "$*"; }
phase() { printf 'syscall-lab: phase %s\n' "$1"; }
die() { local code=$1; shift; printf 'upgrade-kernel.sh: error: %s\n' "$*" >&2; exit "$code"; }

version="" source="" sha256="" mirror="${KERNEL_MIRROR:-https://cdn.kernel.org/pub/linux/kernel}"
patch_dirs=() fragments=() localversion="" work="/usr/local/src" in_tree="" jobs="$(nproc)"
build_only="" check_only=false install_root=/ cmdline="" append="" prebuilt="" fingerprint=""
backend=qemu profile=default features=() print_plan="" check_inputs="" fetch_only=""
sources_dir="" debian_mirror="" debian_security_mirror="" debian_version="" debian_package=""
patches=() user_patches=() cleanup=() release_override=() background=() sparse_files=() debug_prefix_map=()
# The plan (make_plan): what this build does, decided by the version alone, before any tree is read.
plan_version="" plan_compat=() plan_make=() plan_fragments=() plan_options=() plan_option_files=()
# Background readers (copy_from_tarball's listing) are stopped, scratch files removed.
trap '[ ${#background[@]} -eq 0 ] || kill "${background[@]}" 2>/dev/null || true; rm -rf ${cleanup[@]+"${cleanup[@]}"}' EXIT

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die $EX_USAGE "$1 needs a value (see --help)"; }

# --- patch series -----------------------------------------------------------------------------

# The patch files of a folder in application order: the "series" file if present, else name order.
list_patches() {
  local dir=$1 f found=0
  [ -d "$dir" ] || die $EX_NOINPUT "patch folder $dir does not exist (fix: pass an existing folder to --patches)"
  if [ -f "$dir/series" ]; then
    while IFS= read -r f || [ -n "$f" ]; do
      f=${f%%#*}; f=${f//[[:space:]]/}
      [ -n "$f" ] || continue
      [ -f "$dir/$f" ] || die $EX_NOINPUT "$dir/series names $f, which does not exist (fix: add the file or remove the line)"
      printf '%s\n' "$(cd "$dir" && pwd)/$f"; found=1
    done <"$dir/series"
  else
    for f in "$dir"/*; do
      [ -f "$f" ] || continue
      case "$f" in
        *.patch|*.diff) printf '%s\n' "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"; found=1 ;;
        *) printf 'syscall-lab: notice: ignoring %s (not a *.patch or *.diff)\n' "$f" >&2 ;;
      esac
    done
  fi
  [ $found = 1 ] || die $EX_DATAERR "patch folder $dir holds no *.patch or *.diff file (fix: add one, or point --patches elsewhere)"
}

# Fills the globals "patches" (every patch this build applies, in order: the compat series', unless
# --in-tree finds it in the tree's base record already, then the --patches folders') and
# "user_patches" (the --patches folders' alone). In the main shell, so that a bad folder stops the
# script; no temporary file (--print-plan writes nothing).
read_patch_series() {
  local d listed
  local -a files
  patches=() user_patches=()
  if [ -z "$in_tree" ]; then
    for d in ${plan_compat[@]+"${plan_compat[@]}"}; do
      listed=$(list_patches "$d") || exit
      mapfile -t files < <(printf '%s\n' "$listed")
      patches+=("${files[@]}")
    done
  fi
  for d in ${patch_dirs[@]+"${patch_dirs[@]}"}; do
    listed=$(list_patches "$d") || exit
    mapfile -t files < <(printf '%s\n' "$listed")
    user_patches+=("${files[@]}")
  done
  patches+=(${user_patches[@]+"${user_patches[@]}"})
}

# A folder given twice would be applied twice: the compat series is applied automatically, and a
# --patches folder counts once. Compared by real path (after symlinks).
refuse_repeated_folders() {
  local d real series="" x
  local -a seen=()
  [ ${#plan_compat[@]} -eq 0 ] || series=$(cd "${plan_compat[0]}" && pwd -P)
  for d in ${patch_dirs[@]+"${patch_dirs[@]}"}; do
    [ -d "$d" ] || continue # list_patches names it
    real=$(cd "$d" && pwd -P)
    [ "$real" != "$series" ] \
      || die $EX_USAGE "patch folder $d is the toolchain-compatibility series of Linux ${plan_compat[0]##*/linux-}, which every build of it applies first by itself (fix: do not pass it with --patches)"
    for x in ${seen[@]+"${seen[@]}"}; do
      [ "$real" != "$x" ] || die $EX_USAGE "patch folder $d is given twice (fix: pass each folder to --patches once)"
    done
    seen+=("$real")
  done
}

# Paths (relative to the tree, -p1) that a patch creates or changes.
touched_paths() {
  awk '/^(\+\+\+|---) / { p=$2; sub(/\t.*/, "", p); if (p != "/dev/null") { sub(/^[^\/]*\//, "", p); print p } }' "$@" | sort -u
}

is_patch() {
  grep -qE '^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@' "$1" && grep -qE '^\+\+\+ ' "$1"
}

# A C-quoted string (git quotes names with special characters; GNU tar's --quoting-style=c quotes
# every name): take_quoted(s) reads the one that opens s, returns its text with the escapes kept
# and leaves what follows the closing quote in "after". unquote() decodes enough to see a path's
# shape: \056 is ".", \057 is "/" (GNU patch decodes them too), other escapes become "?".
# shellcheck disable=SC2016 # awk code, expanded by awk, not by the shell
cquote_awk='
function take_quoted(s,   rest, n) {
  rest = substr(s, 2); n = 0
  while (match(substr(rest, n + 1), /[\\"]/)) {
    n += RSTART
    if (substr(rest, n, 1) == "\"") { after = substr(rest, n + 1); return substr(rest, 1, n - 1) }
    n++
  }
  after = ""; return rest
}
function unquote(s,   out, i, c, o) {
  out = ""
  while ((i = index(s, "\\")) > 0) {
    out = out substr(s, 1, i - 1); c = substr(s, i + 1, 1)
    if (c ~ /[0-7]/) {
      o = substr(s, i + 1, 3); o = substr(o, 1, 1) * 64 + substr(o, 2, 1) * 8 + substr(o, 3, 1)
      out = out (o == 46 ? "." : o == 47 ? "/" : "?"); s = substr(s, i + 4)
    } else { out = out (c == "\\" || c == "\"" ? c : "?"); s = substr(s, i + 2) }
  }
  return out s
}
'

# What a patch may say, checked before anything is copied or applied (GNU patch applies a hunk by
# its header's counts and silently drops what follows: a new file once lost its closing brace):
#  - every path of a ---, +++, "diff --git", "rename from/to", "copy from/to" or "Index:" line is
#    relative and has no ".." component, after -p1 strips its first component (rename and copy
#    lines have no prefix to strip); /dev/null aside;
#  - it creates or changes no symlink (mode 120000);
#  - every hunk has exactly the lines its "@@ -a,b +c,d @@" header counts (context, "-" and "+"
#    lines; "\ No newline at end of file" is none; a count left out is 1). Text around the diffs
#    (a git format-patch message, its "---" and diffstat, the "-- " signature and the git version
#    after the last hunk, diff -r's "Only in" lines) is not part of any hunk.
# Prints "cause<TAB>fix" for the first problem and nothing for a good patch. Reads the whole patch
# first: a "--- "/"+++ " pair inside a hunk's count is a file header (the hunk is short).
# shellcheck disable=SC2016 # awk code, expanded by awk, not by the shell
patch_check_awk='
function problem(cause, fix) { if (!found) printf "%s\t%s\n", cause, fix; found = 1 }
function shown(raw) { return "\047" raw "\047" }
function why_bad(p) {
  if (p ~ /^\//) return "is absolute"
  if (("/" p "/") ~ /\/\.\.\//) return "has a \"..\" component"
  return ""
}
function check_path(p, raw, strip, line,   why) {
  if (p == "" || p == "/dev/null") return
  why = why_bad(p)
  if (why == "" && strip && index(p, "/")) { sub(/^[^\/]*\/+/, "", p); why = why_bad(p) }
  if (why != "")
    problem("line " line ": the path " shown(raw) " " why ": it leaves the kernel tree", \
      "make every path in it relative to the top of the tree, without \"..\", as git format-patch and diff -uNr a/ b/ write them")
}
# The name of a header line: quoted, or up to the tab before a date; GNU patch may also stop an
# unquoted name at a space, so that shorter name is checked too.
function check_name(s, strip, line,   p) {
  if (substr(s, 1, 1) == "\"") { p = take_quoted(s); check_path(unquote(p), "\"" p "\"", strip, line); return }
  p = s; sub(/\t.*/, "", p); check_path(p, p, strip, line)
  sub(/[ \t].*/, "", s); if (s != p) check_path(s, s, strip, line)
}
# "diff --git a/X b/Y": quoted names are unambiguous; unquoted ones with spaces are checked at
# every split.
function check_git_names(s, line,   i) {
  if (substr(s, 1, 1) == "\"") {
    check_name(s, 1, line); s = after; sub(/^ +/, "", s); check_name(s, 1, line); return
  }
  if ((i = index(s, " \"")) > 0) { check_name(substr(s, 1, i - 1), 1, line); check_name(substr(s, i + 1), 1, line); return }
  for (i = 1; i <= length(s); i++)
    if (substr(s, i, 1) == " ") { check_path(substr(s, 1, i - 1), substr(s, 1, i - 1), 1, line); check_path(substr(s, i + 1), substr(s, i + 1), 1, line) }
  check_path(s, s, 1, line)
}
function is_header_pair(i) { return L[i] ~ /^--- / && L[i + 1] ~ /^\+\+\+ / }
function is_signature(i) { return L[i] == "-- " && (i == n || L[i + 1] !~ /^([-+ \\]|$)/) }
function hunk_counts(old, new) {
  problem("hunk " hunk " (" header ", line " start ") has " old " old and " new " new lines where its header says " ob " and " nb \
    ": GNU patch would apply what the header counts and silently drop or misread the rest", \
    "regenerate the patch with git format-patch or diff -u, or correct the counts in that @@ line")
}
{ sub(/\r$/, ""); L[++n] = $0 }
END {
  state = "text"
  for (i = 1; i <= n && !found; i++) {
    s = L[i]
    if (state == "hunk") {
      c = substr(s, 1, 1)
      if (is_header_pair(i) || is_signature(i) || !(s == "" || c == " " || c == "-" || c == "+" || c == "\\")) {
        hunk_counts(ob - ro, nb - rn); break
      }
      if (c == "\\") continue
      if (c == "-") ro--; else if (c == "+") rn--; else { ro--; rn-- }
      if (ro < 0 || rn < 0) {
        eo = ob - ro; en = nb - rn
        for (j = i + 1; j <= n && !is_header_pair(j) && !is_signature(j) && L[j] ~ /^[-+ \\]/; j++) {
          c = substr(L[j], 1, 1)
          if (c == "-") eo++; else if (c == "+") en++; else if (c == " ") { eo++; en++ }
        }
        hunk_counts(eo, en); break
      }
      if (ro == 0 && rn == 0) state = "after"
      continue
    }
    if (state == "after") {
      if (s ~ /^\\/) continue
      state = "text"
      if (s ~ /^[-+ ]/ && !is_header_pair(i) && !is_signature(i)) {
        eo = ob; en = nb
        for (j = i; j <= n && !is_header_pair(j) && !is_signature(j) && L[j] ~ /^[-+ \\]/; j++) {
          c = substr(L[j], 1, 1)
          if (c == "-") eo++; else if (c == "+") en++; else if (c == " ") { eo++; en++ }
        }
        hunk_counts(eo, en); break
      }
    }
    if (s == "-- ") infile = 0
    else if (s ~ /^(---|\+\+\+) /) { check_name(substr(s, 5), 1, i); infile = 1 }
    else if (s ~ /^diff --git /) { check_git_names(substr(s, 12), i); infile = 0 }
    else if (s ~ /^(rename|copy) (from|to) /) { sub(/^[a-z]+ [a-z]+ /, "", s); check_name(s, 0, i) }
    else if (s ~ /^Index: /) check_name(substr(s, 8), 1, i)
    else if (s ~ /^(new file mode|new mode) 120000/ || s ~ /^index [0-9a-f]+\.\.[0-9a-f]+ 120000/)
      problem("line " i ": " shown(s) " makes a symbolic link", "leave links out of the patch: it may only create and change regular files")
    else if (s ~ /^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@/ && infile) {
      match(s, /^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@/); header = substr(s, 1, RLENGTH)
      split(header, w, " ")
      ob = index(w[2], ",") ? substr(w[2], index(w[2], ",") + 1) + 0 : 1
      nb = index(w[3], ",") ? substr(w[3], index(w[3], ",") + 1) + 0 : 1
      hunk++; start = i; ro = ob; rn = nb
      state = ro == 0 && rn == 0 ? "after" : "hunk"
    }
  }
  if (!found && state == "hunk") hunk_counts(ob - ro, nb - rn)
}
'

# Refuses a patch whose paths leave the tree, that makes a symlink or whose hunks do not match their
# headers (see patch_check_awk); names the patch, and the path or hunk.
check_patch_text() { # patch
  local problem
  problem=$(awk "$cquote_awk$patch_check_awk" "$1")
  [ -z "$problem" ] || die $EX_DATAERR "patch $1: ${problem%%$'\t'*} (fix: ${problem#*$'\t'})"
}

# Every patch of the series: paths inside the tree, no symlinks, hunks as their headers say, a diff.
check_patch_texts() {
  local p
  for p in ${patches[@]+"${patches[@]}"}; do
    check_patch_text "$p"
    is_patch "$p" || die $EX_DATAERR "$p is not a unified diff (no '+++' header or '@@' hunk) (fix: regenerate it with 'diff -u' or 'git format-patch')"
  done
}

# Try the whole series, in order, on a scratch copy of the files it touches, so that a patch
# that does not apply is found before the real tree is changed (patches may depend on earlier ones).
# The source's tarball (if any) has its members checked here too, before anything is built.
dry_run_patches() {
  local scratch p out
  if [ ${#patches[@]} -eq 0 ]; then
    [ -n "$in_tree" ] || [ -n "${tree_in:-}" ] || check_tarball_members "$tarball"
    return 0
  fi
  check_patch_texts
  scratch=$(mktemp -d); cleanup+=("$scratch")
  local -a earlier=()
  [ -z "$in_tree" ] || mapfile -t earlier < <(applied_patches "$in_tree")
  copy_from_source "$scratch" < <(touched_paths "${patches[@]}" ${earlier[@]+"${earlier[@]}"})
  [ ${#earlier[@]} -eq 0 ] || revert_patches "$scratch" "${earlier[@]}"
  for p in "${patches[@]}"; do
    if ! out=$(cd "$scratch" && patch -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -r - <"$p" 2>&1); then
      die $EX_DATAERR "patch $(basename "$p") does not apply (nothing was changed): $(printf '%s' "$out" | awk '/^patching file/ { file = $0; next } /FAILED|malformed|can.t find file|Reversed|No file to patch|Only garbage/ { if (file != "") print file; file = ""; print }' | head -5 | tr '\n' ' ')(fix: rebase $p on this kernel version: every hunk must apply exactly, at any offset, as patch --fuzz=0 does)"
    fi
  done
  say "patch series applies cleanly (${#patches[@]} patches, dry run)"
}

copy_from_tree() {
  local tree=$1 dest=$2 path
  while IFS= read -r path; do
    if [ -e "$tree/$path" ]; then
      mkdir -p "$dest/$(dirname "$path")"
      cp -p "$tree/$path" "$dest/$path"
    fi
  done
}

# A tree records what it was patched with in .syscall-lab/: base/ (applied when it was unpacked,
# e.g. the compat series; permanent) and applied/ (applied by the last --in-tree build; reverted
# by the next one). Copies are kept, since the user's patch files may change in between.
record_dir() { printf '%s/.syscall-lab/%s\n' "$1" "$2"; }

applied_patches() { # tree -> the patch copies of applied/, in the order they were applied
  local dir
  dir=$(record_dir "$1" applied)
  [ -f "$dir/series" ] || return 0
  sed "s|^|$dir/|" "$dir/series"
}

revert_patches() { # tree patch... (reverted last first)
  local tree=$1 i; shift
  local -a list=("$@")
  for ((i = ${#list[@]} - 1; i >= 0; i--)); do
    (cd "$tree" && patch -p1 -R --batch --remove-empty-files --no-backup-if-mismatch -s <"${list[$i]}") \
      || die $EX_DATAERR "could not revert $(basename "${list[$i]}") in $tree (fix: delete the tree; it is rebuilt from the source)"
  done
}

apply_patches() { # tree record(base|applied)
  local tree=$1 dir p n=0
  dir=$(record_dir "$tree" "$2")
  mkdir -p "$dir"
  for p in "${patches[@]}"; do
    (cd "$tree" && patch -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -s <"$p") \
      || die $EX_DATAERR "patch $p failed on the real tree after a clean dry run"
    n=$((n + 1))
    cp "$p" "$dir/$(printf '%04d' "$n")-$(basename "$p")"
    printf '%s\n' "$(printf '%04d' "$n")-$(basename "$p")" >>"$dir/series"
  done
  say "applied ${#patches[@]} patches"
}

# --in-tree: take back what the previous build applied, then apply this build's patches.
# A file that ends up as it was gets its old timestamp back, so make rebuilds only what changed
# (editing one patch recompiles one file, not everything that includes syscalls.h).
repatch_in_place() {
  local -a earlier=()
  local before path unchanged=0
  mapfile -t earlier < <(applied_patches "$tree")
  before=$(mktemp -d); cleanup+=("$before")
  touched_paths ${earlier[@]+"${earlier[@]}"} ${patches[@]+"${patches[@]}"} | copy_from_tree "$tree" "$before"
  if [ ${#earlier[@]} -gt 0 ]; then
    revert_patches "$tree" "${earlier[@]}"
    say "reverted ${#earlier[@]} patches of the previous build"
  fi
  rm -rf "$(record_dir "$tree" applied)"
  [ ${#patches[@]} -eq 0 ] || apply_patches "$tree" applied
  while IFS= read -r path; do
    if [ -f "$tree/$path" ] && cmp -s "$before/$path" "$tree/$path"; then
      touch -r "$before/$path" "$tree/$path"
      unchanged=$((unchanged + 1))
    fi
  done < <(cd "$before" && find . -type f | sed 's|^\./||')
  say "$unchanged files the patches touch are unchanged since the previous build"
}

# --- the plan ---------------------------------------------------------------------------------
#
# What a build does, decided by the kernel version and the options alone, from this repository's
# data: src/kernel/config/plan.tsv (make targets and fragments, by version range), the fragments'
# own "# syscall-lab: from X until Y" ranges, and src/kernel/compat/linux-X.Y/. --print-plan
# answers with it (the harness keys its cache by that answer); every build follows the same plan.

is_version() { [[ "$1" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]]; }

# awk functions shared by the readers: a version range test, "-" meaning open. X.Y is X.Y.0 as a
# version; as a last bound it covers every X.Y.Z.
# shellcheck disable=SC2016 # awk code, expanded by awk, not by the shell
range_awk='
function vkey(v, upper,   n, p) {
  n = split(v, p, ".")
  return (p[1] * 10000 + p[2]) * 10000 + (n >= 3 ? p[3] : (upper ? 9999 : 0))
}
function in_range(v, first, last) {
  return (first == "-" || vkey(v, 0) >= vkey(first, 0)) && (last == "-" || vkey(v, 0) <= vkey(last, 1))
}
function is_version(v) { return v ~ /^[0-9]+\.[0-9]+(\.[0-9]+)?$/ }
'

# The table must be well formed before it is believed: six columns, known facets and actions, versions.
check_plan_table() {
  local bad
  [ -f "$plan_table" ] || die $EX_SOFTWARE "$plan_table is missing (fix: restore it from the repository)"
  bad=$(awk -F'\t' "$range_awk"'
    /^#/ || /^[[:space:]]*$/ { next }
    NF != 6 { print FNR ": " NF " columns, not 6 (facet name first last action argument, one tab apart)"; exit }
    $1 !~ /^(base|backend|profile|feature)$/ { print FNR ": unknown facet " $1; exit }
    ($3 != "-" && !is_version($3)) || ($4 != "-" && !is_version($4)) { print FNR ": first/last must be X.Y, X.Y.Z or -"; exit }
    $5 !~ /^(make|fragment|-)$/ { print FNR ": unknown action " $5 " (make, fragment or -)"; exit }
  ' "$plan_table")
  [ -z "$bad" ] || die $EX_SOFTWARE "$plan_table line $bad (fix: correct the table)"
}

# The names a facet knows, in table order, comma-separated.
plan_names() {
  awk -F'\t' -v facet="$1" '!/^#/ && $1 == facet && !seen[$2]++ { printf "%s%s", (n++ ? ", " : ""), $2 }' "$plan_table"
}

require_name() { # facet name option
  local known
  known=$(plan_names "$1")
  case ", $known, " in
    *", $2, "*) ;;
    *) die $EX_USAGE "unknown $1 $2 (known: ${known:-none}) (fix: pass one of them to $3, or add rows for $2 to $plan_table)" ;;
  esac
}

# The table and the names the options chose: checked before anything else (a build checks them before
# it downloads or unpacks).
check_plan_names() {
  local f
  check_plan_table
  require_name backend "$backend" --backend
  require_name profile "$profile" --profile
  for f in ${features[@]+"${features[@]}"}; do require_name feature "$f" --feature; done
}

# The rows of one facet and name that apply to the version, in table order: "action<TAB>argument".
plan_rows() { # facet name version
  awk -F'\t' -v facet="$1" -v name="$2" -v v="$3" "$range_awk"'
    !/^#/ && $1 == facet && $2 == name && $5 != "-" && in_range(v, $3, $4) { print $5 "\t" $6 }
  ' "$plan_table"
}

# The effective options of the fragments, in merge order, for the version: ranges applied and
# their annotations stripped; an option set twice keeps its last value, at its last place.
# Prints "fragment<TAB>line"; exits 3 with the reason on a malformed annotation.
# Options of the files named in $plan_noticed (the profile's) that are out of range are printed as
# "left-out<TAB>line (from X until Y)": a profile asks for what a version has, and says what it lacks.
read_plan_options() { # version fragment...
  local v=$1; shift
  [ $# -gt 0 ] || return 0
  awk -v v="$v" -v noticed=" ${plan_noticed[*]-} " "$range_awk"'
    {
      line = $0; first = "-"; last = "-"
      if (match(line, /[ \t]+#[ \t]*syscall-lab:.*$/)) {
        note = substr(line, RSTART, RLENGTH); line = substr(line, 1, RSTART - 1)
        sub(/^[ \t]+#[ \t]*syscall-lab:[ \t]*/, "", note); sub(/[ \t]+$/, "", note)
        n = split(note, w, /[ \t]+/); i = 1; ok = n > 0
        if (i <= n && w[i] == "from") { ok = ok && i + 1 <= n && is_version(w[i + 1]); first = w[i + 1]; i += 2 }
        if (i <= n && w[i] == "until") { ok = ok && i + 1 <= n && is_version(w[i + 1]); last = w[i + 1]; i += 2 }
        if (!ok || i <= n || (line !~ /^CONFIG_[A-Za-z0-9_]+=/ && line !~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/)) {
          printf "%s line %d: cannot read \"# syscall-lab: %s\" (fix: annotate an option line with \"# syscall-lab: from X.Y until X.Y\", either part optional)", FILENAME, FNR, note
          bad = 1; exit 3
        }
      }
      if (line ~ /^CONFIG_[A-Za-z0-9_]+=/) { name = line; sub(/=.*/, "", name) }
      else if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) { name = line; sub(/^# /, "", name); sub(/ .*/, "", name) }
      else next
      if (!in_range(v, first, last)) {
        if (index(noticed, " " FILENAME " ")) print "left-out\t" line " (" (first == "-" ? "" : "from " first) (first != "-" && last != "-" ? " " : "") (last == "-" ? "" : "until " last) ")"
        next
      }
      if (name in at) delete opt[at[name]]
      at[name] = ++count; opt[count] = line; src[count] = FILENAME
    }
    END {
      if (bad) exit 3
      for (i = 1; i <= count; i++) if (i in opt) print src[i] "\t" opt[i]
    }' "$@"
}

# Fills the plan_* globals, "patches", "user_patches" and the default "localversion" for a version
# (X.Y or X.Y.Z). Reads only this repository's data and the --patches folders: no kernel tree, no
# download, no file written.
make_plan() { # version
  local v=$1 row facet name f options
  local -a rows facets=(base "backend $backend" "profile $profile")
  is_version "$v" || die $EX_USAGE "the version must be X.Y or X.Y.Z, not '$v' (fix: e.g. 6.1 or 3.9.11)"
  check_plan_names
  for f in ${features[@]+"${features[@]}"}; do
    [[ " ${facets[*]} " == *" feature $f "* ]] || facets+=("feature $f") # a feature counts once
  done
  plan_version=$v plan_make=() plan_fragments=() plan_options=() plan_option_files=() plan_compat=()
  plan_noticed=() plan_left_out=()
  for facet in "${facets[@]}"; do
    name=${facet#* }; [ "$name" != "$facet" ] || name=-
    mapfile -t rows < <(plan_rows "${facet%% *}" "$name" "$v")
    for row in ${rows[@]+"${rows[@]}"}; do
      case "${row%%$'\t'*}" in
        make) plan_make+=("${row#*$'\t'}") ;;
        fragment)
          f="$config_dir/${row#*$'\t'}"
          [ -f "$f" ] || die $EX_SOFTWARE "$plan_table names the fragment $f, which does not exist (fix: restore it, or correct the table)"
          plan_fragments+=("$f")
          [ "${facet%% *}" != profile ] || plan_noticed+=("$f") ;;
      esac
    done
  done
  plan_fragments+=(${fragments[@]+"${fragments[@]}"})
  options=$(read_plan_options "$v" ${plan_fragments[@]+"${plan_fragments[@]}"}) || die $EX_DATAERR "$options"
  mapfile -t plan_left_out < <(printf '%s\n' "$options" | awk -F'\t' '$1 == "left-out" { print $2 }')
  options=$(printf '%s\n' "$options" | awk -F'\t' '$1 != "left-out"')
  if [ -n "$options" ]; then
    mapfile -t plan_option_files < <(printf '%s\n' "$options" | cut -f1)
    mapfile -t plan_options < <(printf '%s\n' "$options" | cut -f2-)
  fi
  [[ "$v" =~ ^[0-9]+\.[0-9]+ ]]
  f="$compat_root/linux-${BASH_REMATCH[0]}"
  [ ! -d "$f" ] || plan_compat=("$f")
  refuse_repeated_folders
  read_patch_series
  [ -n "$localversion" ] || localversion=$(default_localversion)
}

# -stock without --patches; else -patched- and the first 8 hex digits of the sha256 of the --patches
# files (not the compat series), in application order, each followed by a NUL byte: the harness's
# shortHash(), so release names stay stable.
default_localversion() {
  local f hash
  if [ ${#user_patches[@]} -eq 0 ]; then printf '%s\n' -stock; return; fi
  hash=$(for f in "${user_patches[@]}"; do cat "$f"; printf '\0'; done | sha256sum | cut -c1-8)
  printf '%s\n' "-patched-$hash"
}

# One fact per line, "key value" (the harness parses these), each line after the prefix.
print_plan_lines() { # prefix
  local p=$1 x
  printf '%sversion %s\n' "$p" "$plan_version"
  for x in ${plan_compat[@]+"${plan_compat[@]}"}; do printf '%scompat %s\n' "$p" "$x"; done
  for x in ${patches[@]+"${patches[@]}"}; do printf '%spatch %s\n' "$p" "$x"; done
  for x in ${plan_make[@]+"${plan_make[@]}"}; do printf '%smake %s\n' "$p" "$x"; done
  for x in ${plan_fragments[@]+"${plan_fragments[@]}"}; do printf '%sfragment %s\n' "$p" "$x"; done
  for x in ${plan_options[@]+"${plan_options[@]}"}; do printf '%soption %s\n' "$p" "$x"; done
  for x in ${plan_left_out[@]+"${plan_left_out[@]}"}; do printf '%sleft-out %s\n' "$p" "$x"; done
  printf '%slocalversion %s\n' "$p" "$localversion"
  [ ${#sparse_files[@]} -eq 0 ] && return
  for x in "${sparse_files[@]}"; do printf '%ssparse %s\n' "$p" "$x"; done
  printf '%ssparse-tool %s\n' "$p" "$(sparse_tool)"
}

# sparse's version (part of the plan, so a new sparse checks again), or "missing".
sparse_tool() {
  if command -v sparse >/dev/null; then sparse --version 2>&1 | head -n1; else printf 'missing\n'; fi
}

# X.Y or X.Y.Z from a kernel Makefile on stdin (EXTRAVERSION left out).
makefile_version() {
  awk -F'[ \t]*=[ \t]*' '
    /^VERSION[ \t]*=/ { v = $2 } /^PATCHLEVEL[ \t]*=/ { p = $2 } /^SUBLEVEL[ \t]*=/ { s = $2 }
    END { if (v == "" || p == "") exit 1; printf "%s.%s", v, p; if (s != "" && s != "0") printf ".%s", s; print "" }'
}

# X.Y or X.Y.Z of a kernel tarball, read from its top Makefile without unpacking it.
tarball_version() { # tarball
  local top v
  top=$(tarball_top "$1")
  v=$(tar -xOf "$1" --occurrence=1 "$top/Makefile" 2>/dev/null | makefile_version) \
    || die $EX_DATAERR "could not read the kernel version from $top/Makefile in $1 (truncated or corrupt?) (fix: download it again)"
  printf '%s\n' "$v"
}

# The version the plan is made for: the source's Makefile (a tarball's is read without unpacking
# it; Debian's "6.1" is planned as the release it holds, 6.1.192), with --in-tree the tree's.
source_version() {
  local v=""
  if [ -n "$in_tree" ]; then
    v=$(makefile_version <"$in_tree/Makefile") || true
  elif [ -n "$tree_in" ]; then
    v=$(makefile_version <"$tree_in/Makefile") || true
  else
    v=$(tarball_version "$tarball") || exit
  fi
  is_version "$v" || die $EX_DATAERR "cannot tell the kernel version of ${in_tree:-${tree_in:-${tarball:-$version}}}: its Makefile gives '$v' (fix: point at a Linux source tree or tarball)"
  printf '%s\n' "$v"
}

# --- source -----------------------------------------------------------------------------------

table_row() { # version -> "sha256<TAB>url" from the one versions table
  awk -F'\t' -v v="$1" '!/^#/ && $1 == v { print $2 "\t" $3; exit }' "$versions_table"
}

tree_version() {
  awk -F' *= *' '/^VERSION/ {v=$2} /^PATCHLEVEL/ {p=$2} /^SUBLEVEL/ {s=$2} /^EXTRAVERSION/ {e=$2}
    END { printf "%s.%s", v, p; if (s != "" && s != "0") printf ".%s", s; printf "%s\n", e }' "$1/Makefile"
}

# A download that fails (downloaded is "downloaded") is deleted, so that the next run fetches it
# again instead of failing on the same bytes; a user's own file is left alone.
verify_sha256() { # file sha256 [downloaded]
  local file=$1 want=$2 got
  got=$(sha256sum "$file" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    if [ "${3:-}" = downloaded ]; then
      rm -f "$file"
      die $EX_DATAERR "sha256 of the download $file was $got, expected $want; it was deleted, so the next run downloads it again (fix: run again, check --mirror / KERNEL_MIRROR, or pass the right --sha256)"
    fi
    die $EX_DATAERR "sha256 of $file is $got, expected $want (fix: re-download it, or pass the right --sha256)"
  fi
  say "sha256 verified: $file"
}

# Reads GNU tar's verbose listing (LC_ALL=C tar -tvf --quoting-style=c --numeric-owner: every name
# and link target in double quotes, so spaces, newlines, quotes and " -> " inside them are
# unambiguous) and prints what is wrong with the members, one line: nothing for a good archive.
# The tree is what --strip-components=1 leaves: depths count from below the top folder, so
# linux-6.1/a -> ../x leaves the tree and linux-6.1/a/b -> ../c stays in it. Refused: absolute
# names, ".." in a name, " -> " in a name or link target, absolute link targets, links (symbolic
# or hard) that leave the tree, members written through a symlink of the archive, and symlinks
# with a ".." after another symlink in their target (a symlink to a folder makes counting ".."
# meaningless there).
# shellcheck disable=SC2016 # awk code, expanded by awk, not by the shell
tar_members_awk='
function tree_path(p) { sub(/\/+$/, "", p); if (!index(p, "/")) return ""; sub(/^[^\/]*\/+/, "", p); return p }
function has_dotdot(p) { return ("/" p "/") ~ /\/\.\.\// }
function refuse(what, why) { if (++bad <= 3) out = out (bad > 1 ? "; " : "") what " (" why ")" }
# Where the symlink at tree path "at" leads: "out" of the tree, or "through" another symlink with
# a ".." after it (where counting ".." says nothing), else "ok". Through a symlink without a ".."
# after it is fine: that symlink is checked too, and the rest only goes down from where it leads.
function resolve(at, target,   k, st, i, j, m, t, p) {
  k = split(at, st, "/") - 1
  m = split(target, t, "/")
  for (i = 1; i <= m; i++) {
    if (t[i] == "" || t[i] == ".") continue
    if (t[i] == "..") { if (through != "") return "through"; if (k == 0) return "out"; k--; continue }
    st[++k] = t[i]
    if (through == "") { p = st[1]; for (j = 2; j <= k; j++) p = p "/" st[j]; if (i < m && p in sym) through = p }
  }
  return "ok"
}
{
  q = index($0, "\"")
  if (!q) { refuse("listing line " NR, "not a member this script can read: " $0); next }
  type = substr($0, 1, 1); raw = take_quoted(substr($0, q)); rest = after; shown = "\"" raw "\""
  target = ""
  if (type == "l" || type == "h") {
    sep = type == "l" ? " -> \"" : " link to \""
    if (substr(rest, 1, length(sep)) != sep) { refuse(shown, "a link whose target this script cannot read"); next }
    target = take_quoted(substr(rest, length(sep)))
    shown = shown (type == "l" ? " -> " : " link to ") "\"" target "\""
  }
  if (index(raw, " -> ") || index(target, " -> ")) { refuse(shown, "\" -> \" in a name"); next }
  if (raw ~ /^\//) { refuse(shown, "an absolute name"); next }
  if (has_dotdot(raw)) { refuse(shown, "\"..\" in its name"); next }
  p = tree_path(raw)
  if (type == "h" && (target ~ /^\// || has_dotdot(target) || tree_path(target) == "")) { refuse(shown, "a hard link out of the tree"); next }
  if (type == "l") {
    if (target ~ /^\//) { refuse(shown, "an absolute link target"); next }
    if (p == "") { refuse(shown, "a link outside the tree"); next }
    sym[p] = 1; links[++nlinks] = p; targets[nlinks] = target; shows[nlinks] = shown
  }
  if (p != "") { names[++nnames] = p; nshown[nnames] = shown }
}
END {
  for (i = 1; i <= nnames; i++) {
    p = names[i]
    while (sub(/\/[^\/]*$/, "", p)) if (p in sym) { refuse(nshown[i], "written through the symlink " p); break }
  }
  for (i = 1; i <= nlinks; i++) {
    through = ""; r = resolve(links[i], targets[i])
    if (r == "out") refuse(shows[i], "a link out of the tree")
    else if (r == "through") refuse(shows[i], "a link with \"..\" after the symlink " through)
  }
  if (bad) printf "%s%s\n", out, (bad > 3 ? "; and " (bad - 3) " more" : "")
}
'

# The members of a tarball, checked once per run (the dry run checks them while it extracts the
# files the patches touch, so unpack need not read the archive again).
members_checked=""
judge_members() { # tarball listing-file
  local bad
  bad=$(awk "$cquote_awk$tar_members_awk" "$2")
  [ -z "$bad" ] || die $EX_DATAERR "$1 has members that point outside the tree: $bad (fix: use a genuine kernel tarball)"
  members_checked=$1
}

list_members() { # tarball
  LC_ALL=C tar -tvf "$1" --quoting-style=c --numeric-owner 2>/dev/null
}

check_tarball_members() { # tarball
  local listing
  [ "$members_checked" != "$1" ] || return 0
  listing=$(mktemp); cleanup+=("$listing")
  list_members "$1" >"$listing" || die $EX_DATAERR "$1 is not a readable tar archive (truncated or corrupt?) (fix: download it again)"
  judge_members "$1" "$listing"
}

fetch() { # url dest
  local url=$1 dest=$2
  phase fetch
  say "downloading $url"
  curl --fail --location --silent --show-error --retry 2 -o "$dest.part" "$url" \
    || { rm -f "$dest.part"; die $EX_UNAVAILABLE "could not download $url (fix: check the network, or pass --mirror / --source with a local copy)"; }
  mv "$dest.part" "$dest"
}

# --- Debian source packages -------------------------------------------------------------------
# A "debian:SUITE:PACKAGE" row is fetched with an apt state of its own under $sources_dir (lists,
# cache, sources.list), so the host's apt setup is neither read for packages nor changed, and a
# non-root user can fetch too. The lists are refreshed at most once a day; the newest version of
# the package there is downloaded once and its tarball kept until a newer one replaces it.
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# The Debian mirrors of this machine's own apt sources, so a machine that reaches Debian only
# through its mirror or proxy works as it is: the first entry that is Debian's (signed by its
# keyring, or a URI ending in /debian or /debian-security; never a third-party repository), the
# main archive's and the security archive's apart. Defaults: deb.debian.org, and the main
# mirror's URI with "-security" added.
host_debian_mirror() { # main|security
  local kind=$1 uri
  uri=$({ awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) uris = uris " " $i }
        tolower($1) == "signed-by:" { signed = $2 }
        NF == 0 { if (uris != "") print signed "\t" uris; uris = ""; signed = "" }
        END { if (uris != "") print signed "\t" uris }' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk -F'\t' '{ n = split($2, u, " "); for (i = 1; i <= n; i++) print $1 "\t" u[i] }'
    sed -nE 's/^deb[ \t]+(\[([^]]*)\][ \t]+)?([^ \t]+).*/\2\t\3/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | awk -F'\t' -v kind="$kind" '
      ($1 ~ /debian-archive-keyring/ || $2 ~ /\/debian(-security)?\/?$/) && ((tolower($2) ~ /security/) == (kind == "security")) {
        sub(/\/$/, "", $2); print $2; exit }')
  if [ -z "$uri" ]; then
    if [ "$kind" = security ]; then uri="${debian_mirror}-security"; else uri=http://deb.debian.org/debian; fi
  fi
  printf '%s\n' "$uri"
}

# The private apt state of a row's suites ("bullseye,bullseye-security" -> apt/bullseye+bullseye-security).
debian_state() { printf '%s/apt/%s\n' "$sources_dir" "${1//,/+}"; }

debian_apt() { # suites command args... (apt-get or apt-cache, with the suites' private state)
  local state; state=$(debian_state "$1"); shift
  local cmd=$1; shift
  "$cmd" -q -o Dir::Etc::sourcelist="$state/sources.list" -o Dir::Etc::sourceparts=/dev/null \
    -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache" -o Dir::State::status="$state/status" \
    -o APT::Sandbox::User="$(id -un)" "$@"
}

# The suites' package lists ("bookworm,bookworm-security": a point release and its security
# updates, the newest of both wins): refreshed when older than a day or when a mirror changed;
# when the refresh fails, lists from an earlier day still serve (with a notice), none is an error.
debian_lists() { # suites
  local suites=$1 state lines="" suite mirror
  state=$(debian_state "$suites")
  for suite in ${suites//,/ }; do
    case "$suite" in *-security) mirror=$debian_security_mirror ;; *) mirror=$debian_mirror ;; esac
    lines+="deb [signed-by=$debian_keyring] $mirror $suite main"$'\n'
  done
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  [ -f "$state/status" ] || : >"$state/status"
  if [ "$(cat "$state/sources.list" 2>/dev/null)"$'\n' != "$lines" ]; then
    printf '%s' "$lines" >"$state/sources.list"
    rm -f "$state/updated"
  fi
  [ -z "$(find "$state/updated" -mmin -1440 2>/dev/null)" ] || return 0
  [ -f "$debian_keyring" ] || die $EX_UNAVAILABLE "$debian_keyring is missing, so the Debian archive's signatures cannot be checked (fix: install the debian-archive-keyring package)"
  phase fetch
  say "refreshing the package lists of Debian $suites from $debian_mirror"
  if debian_apt "$suites" apt-get update >&2; then
    touch "$state/updated"
  elif [ -f "$state/updated" ]; then
    say "notice: could not refresh the lists of Debian $suites; using those of $(date -r "$state/updated" '+%Y-%m-%d %H:%M')"
  else
    die $EX_UNAVAILABLE "could not read the package lists of Debian $suites from $debian_mirror (fix: check the network or pass --debian-mirror URL; offline, pass --source TARBALL)"
  fi
}

# Sets $tarball, $debian_version and $debian_package for a "debian:SUITE:PACKAGE" row.
fetch_debian_source() { # suite package
  local suite=$1 pkg=$2 dest part deb known
  # apt-get download runs in a folder of its own: every path it is given must be absolute.
  mkdir -p "$sources_dir" && sources_dir=$(cd "$sources_dir" && pwd)
  debian_lists "$suite"
  # apt-cache parses the whole list (a second or so): its answer is kept until the lists change.
  known="$(debian_state "$suite")/candidate-$pkg"
  if [ "$known" -nt "$(debian_state "$suite")/updated" ]; then
    debian_version=$(cat "$known")
  else
    # apt-cache exits 100 for a package it does not know: that is the "gone" answer below.
    debian_version=$({ debian_apt "$suite" apt-cache show --no-all-versions "$pkg" 2>/dev/null || true; } | awk '/^Version:/ { print $2; exit }')
    [ -z "$debian_version" ] || printf '%s\n' "$debian_version" >"$known"
  fi
  [ -n "$debian_version" ] \
    || die $EX_UNAVAILABLE "Debian $suite has no package $pkg any more (fix: update the row of $version in $versions_table to the package that replaced it, or pass --source TARBALL)"
  debian_package=$pkg
  dest="$sources_dir/debian/${pkg}_$debian_version"
  tarball="$dest/$pkg.tar.xz"
  [ -f "$tarball" ] && return 0
  phase fetch
  say "downloading $pkg $debian_version from Debian $suite"
  mkdir -p "$sources_dir/debian"
  part=$(mktemp -d "$sources_dir/debian/.part.XXXXXX"); cleanup+=("$part")
  (cd "$part" && debian_apt "$suite" apt-get download "$pkg=$debian_version" >&2) \
    || die $EX_UNAVAILABLE "could not download $pkg $debian_version from $debian_mirror (fix: check the network or pass --debian-mirror URL; offline, pass --source TARBALL)"
  deb=$(find "$part" -maxdepth 1 -name '*.deb' | head -1)
  mkdir -p "$part/x"
  dpkg-deb -x "$deb" "$part/x" && [ -f "$part/x/usr/src/$pkg.tar.xz" ] \
    || die $EX_DATAERR "$deb holds no usr/src/$pkg.tar.xz (fix: update the row of $version in $versions_table)"
  mkdir -p "$part/out"
  mv "$part/x/usr/src/$pkg.tar.xz" "$part/out/"
  # Older versions of the package go: only the current one is ever built.
  rm -rf "$sources_dir/debian/${pkg}_"*
  mv "$part/out" "$dest"
}

# Sets $tarball or $tree_in from --version/--source/--sha256.
resolve_source() {
  local row url want
  tarball="" tree_in=""
  if [ -z "$source" ]; then
    [ -n "$version" ] || die $EX_USAGE "give --version or --source (see --help)"
    row=$(table_row "$version")
    [ -n "$row" ] || [ -n "$sha256" ] || die $EX_USAGE "version $version is not in $versions_table (fix: pass --sha256 to trust it, or --source with a local copy)"
    if [ -n "$row" ]; then
      want=${row%%$'\t'*}; url=${row#*$'\t'}
    else
      want=$sha256; url="$mirror/v${version%%.*}.x/linux-$version.tar.xz"
    fi
    [ -z "$sha256" ] || want=$sha256
    case "$url" in
      debian:*)
        local suite=${url#debian:}; local pkg=${suite#*:}; suite=${suite%%:*}
        fetch_debian_source "$suite" "$pkg"
        ;;
      *)
        url=${url/https:\/\/cdn.kernel.org\/pub\/linux\/kernel/$mirror}
        mkdir -p "$sources_dir/kernel.org"
        tarball="$sources_dir/kernel.org/$(basename "$url")"
        [ -f "$tarball" ] || fetch "$url" "$tarball"
        verify_sha256 "$tarball" "$want" downloaded
        ;;
    esac
  else
    case "$source" in
      http://*|https://*|ftp://*|file://*)
        [ -n "$sha256" ] || die $EX_USAGE "a downloaded source needs --sha256 (fix: pass the checksum published with it)"
        mkdir -p "$sources_dir/downloads"
        tarball="$sources_dir/downloads/$(basename "$source")"
        [ -f "$tarball" ] || fetch "$source" "$tarball"
        verify_sha256 "$tarball" "$sha256" downloaded
        ;;
      *)
        if [ -d "$source" ]; then
          [ -f "$source/Makefile" ] && [ -d "$source/kernel" ] && [ -d "$source/arch/x86" ] \
            || die $EX_DATAERR "$source is not a Linux source tree (no Makefile, kernel/ or arch/x86/) (fix: point at the top of a kernel tree)"
          [ -z "$sha256" ] || die $EX_USAGE "--sha256 applies to a tarball, not to the tree $source"
          tree_in=$(cd "$source" && pwd)
        elif [ -f "$source" ]; then
          tarball=$source
          [ -z "$sha256" ] || verify_sha256 "$tarball" "$sha256"
        else
          die $EX_NOINPUT "kernel source $source does not exist (fix: give a tarball, a tree or a version)"
        fi
        ;;
    esac
  fi
}

# The top folder inside a kernel tarball (linux-6.1/, linux-source-6.1/ ...).
tarball_top() {
  tar -tf "$1" 2>/dev/null | head -1 | cut -d/ -f1 || true
}

copy_from_tarball() {
  local dest=$1 top listing lister errors
  local -a members
  top=$(tarball_top "$tarball")
  mapfile -t members < <(sed "s|^|$top/|")
  # The whole archive is listed for check_tarball_members while the touched members are extracted:
  # two readers side by side, not one after the other (decompressing 6.1 takes some 10 s).
  if [ "$members_checked" != "$tarball" ]; then
    listing=$(mktemp); cleanup+=("$listing")
    LC_ALL=C tar -tvf "$tarball" --quoting-style=c --numeric-owner >"$listing" 2>/dev/null </dev/null &
    lister=$!; background+=("$lister")
  fi
  # Members a patch creates are not in the archive: their absence is fine, any other error is not
  # (reading the whole archive here also finds a tarball truncated after the touched files).
  [ ${#members[@]} -eq 0 ] || errors=$(tar -xf "$tarball" -C "$dest" --strip-components=1 "${members[@]}" 2>&1 >/dev/null \
    | grep -v -e 'Not found in archive' -e 'Exiting with failure status due to previous errors' || true)
  if [ -n "${lister:-}" ]; then # a hostile member is named before the errors it may cause
    wait "$lister" || die $EX_DATAERR "$tarball is not a readable tar archive (truncated or corrupt?) (fix: download it again)"
    background=()
    judge_members "$tarball" "$listing"
  fi
  [ -z "${errors:-}" ] || die $EX_DATAERR "could not read $tarball: $(printf '%s' "$errors" | head -2 | tr '\n' ' ')(fix: download it again: it is truncated or corrupt)"
}

# The dry run copies from the tree the build will start from: the tree itself, a local tree or the tarball.
copy_from_source() {
  if [ -n "$in_tree" ]; then copy_from_tree "$in_tree" "$1"
  elif [ -n "$tree_in" ]; then copy_from_tree "$tree_in" "$1"
  else copy_from_tarball "$1"; fi
}

unpack() { # dest
  local dest=$1
  phase unpack
  rm -rf "$dest.part"
  mkdir -p "$dest.part"
  cleanup+=("$dest.part")
  if [ -n "$tree_in" ]; then
    cp -a --reflink=auto "$tree_in/." "$dest.part/"
  else
    check_tarball_members "$tarball"
    tar -xf "$tarball" -C "$dest.part" --strip-components=1 \
      || die $EX_DATAERR "could not unpack $tarball (truncated or corrupt?) (fix: download it again)"
    [ -f "$dest.part/Makefile" ] && [ -d "$dest.part/kernel" ] \
      || die $EX_DATAERR "$tarball does not hold a Linux source tree"
  fi
  rm -rf "$dest"
  mv "$dest.part" "$dest"
}

# --- configuration ----------------------------------------------------------------------------

kmake() {
  local cc=gcc
  if command -v ccache >/dev/null; then
    cc="ccache gcc"
    # Trees of the same version in different folders share the cache.
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$work}" CCACHE_NOHASHDIR=1
  fi
  make -C "$tree" ARCH=x86_64 CC="$cc" HOSTCC="$cc" ${release_override[@]+"${release_override[@]}"} \
    ${debug_prefix_map[@]+"${debug_prefix_map[@]}"} "$@"
}

# A build with debug info names its sources relative to the tree (./mysyscalls/callcount.c), not
# by the tree's folder in the cache: decoded traces and gdb then read the same on any machine, and
# ccache (whose objects would otherwise carry the folder of whichever tree compiled them first,
# CCACHE_NOHASHDIR) serves every tree alike. Set once the config is known; empty otherwise.
set_debug_prefix_map() {
  debug_prefix_map=()
  grep -qx 'CONFIG_DEBUG_INFO=y' "$tree/.config" || return 0
  local top
  top=$(cd "$tree" && pwd -P)
  debug_prefix_map=("KCFLAGS=-fdebug-prefix-map=$top=." "KAFLAGS=-fdebug-prefix-map=$top=.")
}

# uname -r must tell builds apart. Some trees' scripts/setlocalversion is broken (the 3.9.6 ONL
# tree's has a syntax error) and drops CONFIG_LOCALVERSION: mark the release through EXTRAVERSION.
mark_release() {
  local release extra
  release_override=()
  release=$(kmake -s kernelrelease 2>/dev/null)
  case "$release" in
    *"$localversion") return ;;
  esac
  extra=$(awk -F'[ \t]*=[ \t]*' '/^EXTRAVERSION/ { print $2; exit }' "$tree/Makefile")
  release_override=("EXTRAVERSION=$extra$localversion")
  say "notice: $tree ignores CONFIG_LOCALVERSION (scripts/setlocalversion); marking the release with EXTRAVERSION=$extra$localversion"
  release=$(kmake -s kernelrelease 2>/dev/null)
  case "$release" in
    *"$localversion") ;;
    *) die $EX_SOFTWARE "cannot make the kernel release end in $localversion (it is $release)" ;;
  esac
}

configure() {
  phase configure
  local target merged
  if [ -n "$in_tree" ]; then
    # The tree's configuration stands for the plan's make targets; its options are merged and checked again.
    say "reusing the configuration of $in_tree"
  else
    for target in ${plan_make[@]+"${plan_make[@]}"}; do kmake -s "$target"; done
  fi
  # The plan's options, as one fragment, kept beside the patch records: what this build asked for.
  merged="$(record_dir "$tree" plan.config)"
  mkdir -p "$(dirname "$merged")"
  printf '%s\n' ${plan_options[@]+"${plan_options[@]}"} >"$merged"
  if [ ${#plan_options[@]} -gt 0 ]; then
    (cd "$tree" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -O . .config "$merged" >/dev/null) \
      || die $EX_CONFIG "could not merge $merged (the plan's options)"
  fi
  "$tree/scripts/config" --file "$tree/.config" --set-str LOCALVERSION "$localversion" --disable LOCALVERSION_AUTO
  kmake -s olddefconfig
  check_required
  # kernelrelease reads CONFIG_LOCALVERSION from include/config/auto.conf, which only the build
  # refreshes: in a reused tree it still holds the previous build's value until this.
  kmake -s syncconfig 2>/dev/null || kmake -s silentoldconfig </dev/null >/dev/null 2>&1 || true
  mark_release
}

# Every option of the plan must survive olddefconfig: a dropped dependency is an error. Each missing
# one is named with the fragment that set it.
check_required() {
  local missing i
  missing=$(for i in "${!plan_options[@]}"; do printf '%s\t%s\n' "${plan_option_files[$i]}" "${plan_options[$i]}"; done | awk -F'\t' '
    FNR == NR { have[$0] = 1; next }
    $2 ~ /^CONFIG_/ { if (!($2 in have)) print $1 ": " $2 }
    $2 ~ /^# CONFIG_/ { o = $2; sub(/^# /, "", o); sub(/ .*/, "", o); if ((o "=y") in have) print $1 ": " $2 }
  ' "$tree/.config" -)
  [ -z "$missing" ] || die $EX_CONFIG "required options did not survive olddefconfig (a dependency is off or the option does not exist in this version): $(printf '%s' "$missing" | tr '\n' ';') (fix: enable their dependencies in a --config-fragment)"
  say "config verified: every required option is set"
}

# --- build and install ------------------------------------------------------------------------

build() {
  phase build
  say "make -j$jobs bzImage in $tree"
  kmake -j"$jobs" bzImage || die $EX_SOFTWARE "the kernel did not build (see the messages above)"
  if gdb_scripts; then
    say "make scripts_gdb (CONFIG_GDB_SCRIPTS: the kernel's gdb helpers)"
    kmake -s scripts_gdb || die $EX_SOFTWARE "make scripts_gdb failed (see the messages above)"
  fi
}

gdb_scripts() { grep -qx 'CONFIG_GDB_SCRIPTS=y' "$tree/.config"; }

# --sparse: each file checked with sparse (C=2 checks it even when its object is up to date).
# Warnings are the harness's to judge: only a failure to run make is an error here.
check_sparse() {
  local log f
  log="$(record_dir "$tree" sparse.log)"
  : >"$log"
  [ ${#sparse_files[@]} -eq 0 ] && return
  phase sparse
  if ! command -v sparse >/dev/null; then
    say "notice: sparse is not installed: --sparse files not checked (fix: apt-get install sparse)"
    printf 'sparse-missing\n' >"$log"
    return
  fi
  for f in "${sparse_files[@]}"; do
    [ -f "$tree/$f" ] || die $EX_NOINPUT "--sparse $f: no such file in $tree"
    say "sparse: make C=2 ${f%.c}.o"
    printf '== %s\n' "$f" >>"$log"
    kmake C=2 "${f%.c}.o" >>"$log" 2>&1 || die $EX_SOFTWARE "make C=2 ${f%.c}.o failed (see $log)"
  done
}

syscall_table() {
  local t
  for t in arch/x86/entry/syscalls/syscall_64.tbl arch/x86/syscalls/syscall_64.tbl; do
    [ -f "$tree/$t" ] && { printf '%s\n' "$tree/$t"; return; }
  done
  die $EX_DATAERR "no x86-64 syscall table in $tree"
}

collect() { # out
  local out=$1
  phase collect
  rm -rf "$out.part"; mkdir -p "$out.part"
  cp "$tree/arch/x86/boot/bzImage" "$tree/.config" "$tree/System.map" "$tree/vmlinux" "$out.part/"
  cp "$(syscall_table)" "$out.part/syscall_64.tbl"
  kmake -s kernelrelease >"$out.part/kernelrelease"
  # The suffix exactly once: a stale CONFIG_LOCALVERSION on top of EXTRAVERSION once gave 6.1.192-stock-stock.
  local built
  built=$(cat "$out.part/kernelrelease")
  if [ -n "$localversion" ]; then
    case "$built" in
      *"$localversion$localversion") die $EX_SOFTWARE "the built kernel calls itself $built: $localversion twice (a stale include/config/auto.conf)" ;;
      *"$localversion") ;;
      *) die $EX_SOFTWARE "the built kernel calls itself $built, which does not end in $localversion" ;;
    esac
  fi
  tree_version "$tree" >"$out.part/version"
  cat "$(record_dir "$tree" base)/series" "$(record_dir "$tree" applied)/series" 2>/dev/null >"$out.part/patches" || true
  cp "$(record_dir "$tree" sparse.log)" "$out.part/sparse.log" 2>/dev/null || true
  # kselftest's headers, for userland programs that include them: kept with the build, as the tree
  # moves on to other series. The folder is made always: empty, it says the tree has none (3.9).
  mkdir -p "$out.part/kselftest"
  local header
  for header in kselftest.h kselftest_harness.h; do
    [ ! -f "$tree/tools/testing/selftests/$header" ] || cp "$tree/tools/testing/selftests/$header" "$out.part/kselftest/"
  done
  # The tree's stack-trace decoder (3.16+), for crash excerpts of a debug-info build (the harness
  # runs it on this vmlinux; without it, addr2line frame by frame).
  if [ -f "$tree/scripts/decode_stacktrace.sh" ]; then
    mkdir -p "$out.part/scripts"
    cp "$tree/scripts/decode_stacktrace.sh" "$out.part/scripts/"
  fi
  # The gdb helpers beside vmlinux, links resolved: vmlinux-gdb.py finds linux/ (and the generated
  # constants.py) under its own folder's scripts/gdb, so the build folder is enough for gdb.
  if gdb_scripts; then
    mkdir -p "$out.part/scripts"
    cp -rL "$tree/scripts/gdb" "$out.part/scripts/gdb"
    find "$out.part/scripts/gdb" \( -name '*.o' -o -name '.*.cmd' -o -name Makefile -o -name '*.in' \) -delete
    cp -L "$tree/scripts/gdb/vmlinux-gdb.py" "$out.part/vmlinux-gdb.py"
  fi
  rm -rf "$out"; mv "$out.part" "$out"
  say "artefacts in $out (kernel $(cat "$out/kernelrelease"))"
}

install_kernel() {
  phase install
  local release
  release=$(kmake -s kernelrelease)
  if grep -q '^CONFIG_MODULES=y' "$tree/.config"; then
    kmake modules -j"$jobs" || die $EX_SOFTWARE "the modules did not build"
    kmake INSTALL_MOD_PATH="${install_root%/}" modules_install
  fi
  install_files "$release" "$tree/arch/x86/boot/bzImage" "$tree/System.map" "$tree/.config"
  boot_next "$release"
  printf '%s\n' "$release" >"$(record_dir "$tree" base)/release"
  printf '%s\n' "$fingerprint" >"$(record_dir "$tree" base)/installed"
}

# --install-prebuilt: a kernel built elsewhere (the host's --build-only folder).
install_prebuilt() { # dir
  local dir=$1 release config f
  phase install
  [ -d "$dir" ] || die $EX_NOINPUT "--install-prebuilt $dir does not exist (fix: copy a --build-only folder into the guest)"
  config="$dir/.config"; [ -f "$config" ] || config="$dir/config"
  for f in "$dir/bzImage" "$dir/System.map" "$config" "$dir/kernelrelease"; do
    [ -f "$f" ] || die $EX_NOINPUT "$f is missing (fix: copy the whole folder that --build-only made: bzImage, System.map, .config, kernelrelease)"
  done
  release=$(cat "$dir/kernelrelease")
  [[ "$release" =~ ^[A-Za-z0-9._+-]+$ ]] || die $EX_DATAERR "$dir/kernelrelease holds '$release', not a kernel release"
  for f in "$dir"/modules.tar*; do
    [ -f "$f" ] || continue
    mkdir -p "$install_root/lib/modules"
    tar -xf "$f" -C "$install_root/lib/modules" || die $EX_DATAERR "could not unpack $f"
  done
  install_files "$release" "$dir/bzImage" "$dir/System.map" "$config"
  boot_next "$release"
}

install_files() { # release bzImage System.map config
  local release=$1 boot="${install_root%/}/boot"
  mkdir -p "$boot"
  install -m 0644 "$2" "$boot/vmlinuz-$release"
  install -m 0644 "$3" "$boot/System.map-$release"
  install -m 0644 "$4" "$boot/config-$release"
  # Only a kernel with modules can need an initramfs; one with its drivers built in mounts its root itself.
  if grep -q '^CONFIG_MODULES=y' "$4" && [ -d "${install_root%/}/lib/modules/$release" ] && command -v update-initramfs >/dev/null; then
    [ "$install_root" = / ] || die $EX_USAGE "cannot make an initramfs under --install-root $install_root"
    update-initramfs -c -k "$release" >&2 || die $EX_SOFTWARE "update-initramfs -c -k $release failed"
  else
    rm -f "$boot/initrd.img-$release"
  fi
  say "installed $boot/vmlinuz-$release"
}

# The new kernel's arguments: --cmdline, else the running kernel's. Without an initramfs root= must
# be something the kernel resolves by itself: PARTUUID= (UUID= and LABEL= need an initramfs).
kernel_args() {
  local args root dev partuuid
  if [ -n "$cmdline" ]; then args=$cmdline; else args=$(cat /proc/cmdline); fi
  root=$(printf '%s\n' "$cmdline" | tr ' ' '\n' | grep -E '^root=' | tail -1 || true)
  args=$(printf '%s\n' "$args" | tr ' ' '\n' | grep -v -E '^(BOOT_IMAGE|initrd|root)=' | grep -v '^$' | tr '\n' ' ' || true)
  if [ -z "$root" ]; then
    dev=$(findmnt -no SOURCE "$install_root") || die $EX_SOFTWARE "cannot find the device mounted at $install_root (fix: pass --cmdline 'root=... ')"
    partuuid=$(blkid -s PARTUUID -o value "$dev" 2>/dev/null || true)
    if [ -n "$partuuid" ]; then root="root=PARTUUID=$partuuid"; else root="root=$dev"; fi
  fi
  printf '%s %s%s\n' "$root" "${args% }" "${append:+ $append}"
}

# The bootloader starts $release next, and from then on: extlinux or GRUB, whichever the system has.
boot_next() { # release
  local release=$1 conf="" c
  for c in boot/extlinux/extlinux.conf boot/syslinux/syslinux.cfg extlinux.conf; do
    [ -f "${install_root%/}/$c" ] && { conf="${install_root%/}/$c"; break; }
  done
  if [ -n "$conf" ]; then
    extlinux_boot_next "$conf" "$release"
  elif [ -d "${install_root%/}/boot/grub" ] && command -v update-grub >/dev/null; then
    [ "$install_root" = / ] || die $EX_USAGE "GRUB can only be updated in the running system, not under --install-root"
    grub_boot_next "$release"
  else
    die $EX_UNAVAILABLE "found neither extlinux.conf nor GRUB in ${install_root%/}/boot (fix: make the bootloader boot /boot/vmlinuz-$release yourself)"
  fi
}

extlinux_boot_next() { # conf release
  local conf=$1 release=$2 args
  args=$(kernel_args)
  # Idempotent: an earlier install's block is replaced, never added twice.
  # Syslinux keywords are case-insensitive and the last DEFAULT wins: Debian's extlinux-update writes "default l0".
  {
    printf 'DEFAULT syscall-lab\n'
    awk '/^# syscall-lab begin/ { skip = 1 } !skip && toupper($1) != "DEFAULT" { print } /^# syscall-lab end/ { skip = 0 }' "$conf"
    printf '# syscall-lab begin\nLABEL syscall-lab\n  MENU LABEL Linux %s (syscall-lab)\n  LINUX /boot/vmlinuz-%s\n' "$release" "$release"
    [ ! -f "${install_root%/}/boot/initrd.img-$release" ] || printf '  INITRD /boot/initrd.img-%s\n' "$release"
    printf '  APPEND %s\n# syscall-lab end\n' "$args"
  } >"$conf.new"
  mv "$conf.new" "$conf"
  say "extlinux boots $release next ($conf)"
}

grub_boot_next() { # release
  local release=$1 id
  mkdir -p /etc/default/grub.d
  # With no initramfs GRUB must pass root=PARTUUID=; flat entries let grub-set-default name ours.
  { printf '%s\n' '# Written by syscall-lab upgrade-kernel.sh' GRUB_DEFAULT=saved GRUB_DISABLE_LINUX_PARTUUID=false GRUB_DISABLE_SUBMENU=y
    [ -z "$append" ] || printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' "$append"
  } >/etc/default/grub.d/syscall-lab.cfg
  update-grub >&2 || die $EX_SOFTWARE "update-grub failed"
  id=$(grep -o "gnulinux-$release-advanced-[^' ]*" /boot/grub/grub.cfg | head -1 || true)
  [ -n "$id" ] || die $EX_SOFTWARE "update-grub made no entry for $release in /boot/grub/grub.cfg"
  grub-set-default "$id" || die $EX_SOFTWARE "grub-set-default $id failed"
  say "GRUB boots $release next ($id)"
}

# What a full (not --build-only) run installs: a second provision with the same inputs is a no-op
# instead of a second hour-long build. Folders do not count, contents do: each Vagrant provision
# uploads the script, its data, the patches and a --source tarball into a new folder of its own.
input_fingerprint() {
  { printf '%s\n' "$version" "$sha256"
    if [ -n "$source" ] && [ -f "$source" ]; then sha256sum <"$source"; else printf '%s\n' "$source"; fi
    print_plan_lines "" | sed -E 's#^(patch|fragment|compat) .*/#\1 #'
    cat ${patches[@]+"${patches[@]}"}
  } | sha256sum | cut -d' ' -f1
}

# --- main -------------------------------------------------------------------------------------

# Everything runs inside main(), and the call is the file's last line: bash parses a function
# whole before running it, so editing this file while a build runs cannot derail that build.
main() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) usage; exit 0 ;;
      --version) need_arg "$@"; version=$2; shift 2 ;;
      --source) need_arg "$@"; source=$2; shift 2 ;;
      --sha256) need_arg "$@"; sha256=$2; shift 2 ;;
      --mirror) need_arg "$@"; mirror=${2%/}; shift 2 ;;
      --patches) need_arg "$@"; patch_dirs+=("$2"); shift 2 ;;
      --config-fragment) need_arg "$@"; [ -f "$2" ] || die $EX_NOINPUT "config fragment $2 does not exist"; fragments+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
      --localversion) need_arg "$@"; localversion=$2; shift 2 ;;
      --sparse) need_arg "$@"; [[ "$2" == *.c && "$2" != /* && "$2" != *..* ]] || die $EX_USAGE "--sparse $2: give a .c file's path inside the tree"; sparse_files+=("$2"); shift 2 ;;
      --backend) need_arg "$@"; backend=$2; shift 2 ;;
      --profile) need_arg "$@"; profile=$2; shift 2 ;;
      --feature) need_arg "$@"; features+=("$2"); shift 2 ;;
      --print-plan) need_arg "$@"; print_plan=$2; shift 2 ;;
      --fetch-source) need_arg "$@"; fetch_only=$2; shift 2 ;;
      --sources) need_arg "$@"; sources_dir=$2; shift 2 ;;
      --debian-mirror) need_arg "$@"; debian_mirror=${2%/}; shift 2 ;;
      --debian-security-mirror) need_arg "$@"; debian_security_mirror=${2%/}; shift 2 ;;
      --check-inputs) need_arg "$@"; check_inputs=$2; shift 2 ;;
      --work) need_arg "$@"; work=$2; shift 2 ;;
      --in-tree) need_arg "$@"; in_tree=$2; shift 2 ;;
      --jobs) need_arg "$@"; jobs=$2; shift 2 ;;
      --build-only) need_arg "$@"; build_only=$2; shift 2 ;;
      --check-patches) check_only=true; shift ;;
      --install-prebuilt) need_arg "$@"; prebuilt=$2; shift 2 ;;
      --install-root) need_arg "$@"; install_root=$2; shift 2 ;;
      --cmdline) need_arg "$@"; cmdline=$2; shift 2 ;;
      --append) need_arg "$@"; append=$2; shift 2 ;;
      --list-patches) need_arg "$@"; list_patches "$2"; exit 0 ;;
      *) die $EX_USAGE "unknown option $1 (see --help)" ;;
    esac
  done

  if [ -n "$print_plan" ]; then
    make_plan "$print_plan"
    print_plan_lines ""
    exit 0
  fi
  sources_dir=${sources_dir:-$work/sources}
  # A --debian-mirror given is where the security suites are too (its URI with -security), unless
  # --debian-security-mirror says otherwise; else this machine's own mirrors.
  if [ -n "$debian_mirror" ]; then
    debian_security_mirror=${debian_security_mirror:-$debian_mirror-security}
  else
    debian_mirror=$(host_debian_mirror main)
    debian_security_mirror=${debian_security_mirror:-$(host_debian_mirror security)}
  fi
  if [ -n "$fetch_only" ]; then
    is_version "$fetch_only" && [ -n "$(table_row "$fetch_only")" ] \
      || die $EX_USAGE "--fetch-source $fetch_only: not a version of $versions_table (fix: give one of its rows)"
    version=$fetch_only
    # The answer alone on stdout; progress goes to stderr.
    exec 3>&1 1>&2
    resolve_source
    printf 'version %s\ntarball %s\n' "$version" "$tarball" >&3
    [ -z "$debian_version" ] || printf 'debian-package %s\ndebian-version %s\n' "$debian_package" "$debian_version" >&3
    exit 0
  fi
  if [ -n "$check_inputs" ]; then
    make_plan "$check_inputs"
    check_patch_texts
    say "patch series checked (${#patches[@]} patches; the builds are made: no dry run)"
    exit 0
  fi
  if [ -n "$prebuilt" ]; then
    [ -z "$version$source$build_only$in_tree" ] && [ ${#patch_dirs[@]} -eq 0 ] \
      || die $EX_USAGE "--install-prebuilt installs a finished kernel: it takes no source, patch or build options"
    install_prebuilt "$prebuilt"
    exit 0
  fi
  [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die $EX_USAGE "--jobs must be a positive number, not '$jobs'"
  check_plan_names
  [ -z "$sha256" ] || [[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || die $EX_USAGE "--sha256 must be 64 lowercase hex digits"
  if [ -n "$in_tree" ]; then
    [ -f "$in_tree/.config" ] && [ -d "$in_tree/.syscall-lab" ] || die $EX_NOINPUT "--in-tree $in_tree is not a tree this script built (fix: build it first without --in-tree)"
    in_tree=$(cd "$in_tree" && pwd)
  fi

  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  [ -n "$in_tree" ] || resolve_source
  [ -z "$debian_version" ] || say "source: Debian $debian_package $debian_version"

  local plan_for
  plan_for=$(source_version) || exit
  make_plan "$plan_for"
  print_plan_lines "syscall-lab: plan: "
  dry_run_patches
  $check_only && exit 0

  if [ -n "$in_tree" ]; then
    tree=$in_tree
    phase patch
    repatch_in_place
  else
    local name=${version:-$(basename "${source%%.tar*}")}
    tree="$work/linux-${name#linux-}"
    if [ -z "$build_only" ]; then
      fingerprint=$(input_fingerprint)
      if [ -f "$install_root/boot/vmlinuz-$(cat "$(record_dir "$tree" base)/release" 2>/dev/null)" ] \
        && [ "$(cat "$(record_dir "$tree" base)/installed" 2>/dev/null)" = "$fingerprint" ]; then
        say "already built and installed from the same source, patches and config: nothing to do"
        exit 0
      fi
    fi
    unpack "$tree"
    mkdir -p "$(record_dir "$tree" base)"
    if [ ${#patches[@]} -gt 0 ]; then phase patch; apply_patches "$tree" base; fi
  fi
  say "kernel version $(tree_version "$tree")"
  configure
  set_debug_prefix_map
  build
  check_sparse
  if [ -n "$build_only" ]; then
    collect "$build_only"
  else
    install_kernel
  fi
}

main "$@"; exit $?
