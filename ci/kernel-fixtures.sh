#!/usr/bin/env bash
# Regenerate fixtures/kernels/<series>/ from Debian's packages of each kernel
# series (network; run by hand, the tests only read the checked-in result):
#
#   ci/kernel-fixtures.sh [--series "5.10 6.1 6.12 7.2 7.3"]
#
# Per series, with the same private apt configuration as ci/kernel-matrix.sh
# (sources/lists/cache under $FORKLORE_KERNEL_CACHE/apt, default
# /var/cache/forklore-kernels; download + dpkg-deb extract, nothing installed):
#   - linux-libc-dev (that series' version)  -> sched.h: the CLONE_* defines of
#     /usr/include/linux/sched.h, verbatim lines;
#   - linux-source-X.Y                        -> functions.tsv: for the kernel
#     source files the model cites (kernel/fork.c, kernel/exit.c, fs/exec.c,
#     kernel/pid.c, kernel/nsproxy.c, ...), every top-level function or
#     function-like macro whose name also occurs in crates/model/src, as
#     `file<TAB>name<TAB>start<TAB>end<TAB>sha256[:12] of its lines`.
#     SYSCALL_DEFINEn(name, ...) is recorded as `SYSCALL_DEFINEn(name)`.
# and VERSION: the two package versions the data came from; fixtures/kernels/FILES
# lists the indexed source files. rules.tsv (rule -> cited function and line
# range, per series) is written by the test itself with FORKLORE_BLESS=1 (see
# crates/model/tests/kernel_source.rs) after this script.
#
# crates/model/tests/kernel_source.rs reads these files (no network).
set -euo pipefail
SERIES="5.10 6.1 6.12 7.2 7.3"
while [ $# -gt 0 ]; do
    case "$1" in
        --series) SERIES=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "kernel-fixtures: unknown option $1" >&2; exit 2 ;;
    esac
done
REPO=$(cd "$(dirname "$0")/.." && pwd)
KCACHE=${FORKLORE_KERNEL_CACHE:-/var/cache/forklore-kernels}
KAPT="$KCACHE/apt"
MIRROR=${FORKLORE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${FORKLORE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
OPTS=(-o "Dir::Etc::SourceList=$KAPT/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$KAPT/lists" -o "Dir::Cache=$KAPT/cache"
      -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Acquire::Languages=none
      -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
      -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false)
log() { printf '[kernel-fixtures] %s\n' "$*" >&2; }

mkdir -p "$KAPT/lists/partial" "$KAPT/cache/archives/partial" "$KCACHE/src"
cat > "$KAPT/sources.list" <<SOURCES
deb [trusted=yes] $MIRROR bullseye main
deb [trusted=yes] $SECURITY bullseye-security main
deb [trusted=yes] $MIRROR bookworm main
deb [trusted=yes] $SECURITY bookworm-security main
deb [trusted=yes] $MIRROR bookworm-backports main
deb [trusted=yes] $MIRROR trixie main
deb [trusted=yes] $SECURITY trixie-security main
deb [trusted=yes] $MIRROR sid main
deb [trusted=yes] $MIRROR experimental main
SOURCES
apt-get "${OPTS[@]}" update -qq >&2

FILES="kernel/fork.c kernel/exit.c fs/exec.c kernel/pid.c kernel/nsproxy.c kernel/signal.c
       kernel/pid_namespace.c kernel/user_namespace.c kernel/cred.c kernel/ucount.c
       kernel/cgroup/cgroup.c kernel/cgroup/pids.c kernel/seccomp.c lib/usercopy.c
       fs/namei.c fs/binfmt_script.c fs/binfmt_elf.c kernel/sched/core.c
       arch/x86/kernel/process.c arch/x86/kernel/process_64.c fs/proc/array.c
       include/linux/sched/signal.h include/linux/uaccess.h"

mkdir -p "$REPO/fixtures/kernels"
echo $FILES | tr ' ' '\n' > "$REPO/fixtures/kernels/FILES"

# Words that occur in the model's sources: only functions the model can cite
# are indexed, which keeps the fixture small.
WORDS=$(mktemp)
trap 'rm -f "$WORDS"' EXIT
grep -rhoE '[A-Za-z_][A-Za-z0-9_]*' "$REPO/crates/model/src" | sort -u > "$WORDS"

download() { # package=version dir
    (cd "$2" && chmod 777 . && apt-get "${OPTS[@]}" download -qq "$1" >&2)
}

for s in $SERIES; do
    src_ver=$(apt-cache "${OPTS[@]}" madison "linux-source-$s" | awk -F'|' 'NR==1 {gsub(/ /,"",$2); print $2}')
    [ -n "$src_ver" ] || { log "no linux-source-$s"; exit 1; }
    # linux-libc-dev of the same upstream version as the source.
    up=${src_ver%%-*}
    hdr_ver=$(apt-cache "${OPTS[@]}" madison linux-libc-dev | awk -F'|' -v up="$up" \
        '{gsub(/ /,"",$2); v=$2; sub(/-[^-]*$/,"",v); if (v==up) {print $2; exit}}')
    [ -n "$hdr_ver" ] || { log "no linux-libc-dev $up"; exit 1; }
    dl="$KCACHE/src"
    deb_src=$(ls "$dl"/linux-source-"${s}"_"$src_ver"_all.deb 2>/dev/null || true)
    [ -n "$deb_src" ] || { log "downloading linux-source-$s $src_ver"; download "linux-source-$s=$src_ver" "$dl"; }
    deb_src=$(ls "$dl"/linux-source-"${s}"_"$src_ver"_all.deb)
    deb_hdr=$(ls "$dl"/linux-libc-dev_"$hdr_ver"_*.deb 2>/dev/null || true)
    [ -n "$deb_hdr" ] || { log "downloading linux-libc-dev $hdr_ver"; download "linux-libc-dev=$hdr_ver" "$dl"; }
    deb_hdr=$(ls "$dl"/linux-libc-dev_"$hdr_ver"_*.deb)

    tree="$KCACHE/src/tree-$s-$src_ver"
    if [ ! -e "$tree/.done" ]; then
        log "extracting $s sources ($src_ver)"
        rm -rf "$tree"; mkdir -p "$tree"
        pats=()
        for f in $FILES; do pats+=("*/$f"); done
        dpkg-deb --fsys-tarfile "$deb_src" | tar -x -O --wildcards './usr/src/linux-source-*.tar.*' \
            | xz -dc | tar -x -C "$tree" --strip-components=1 --wildcards "${pats[@]}" 2>/dev/null || true
        dpkg-deb --fsys-tarfile "$deb_hdr" | tar -x -C "$tree" ./usr/include/linux/sched.h
        touch "$tree/.done"
    fi

    out="$REPO/fixtures/kernels/$s"
    mkdir -p "$out"
    printf 'linux-source-%s %s\nlinux-libc-dev %s\n' "$s" "$src_ver" "$hdr_ver" > "$out/VERSION"
    { echo "/* linux-libc-dev $hdr_ver: /usr/include/linux/sched.h, #define CLONE_* lines only */"
      grep -E '^#define[[:space:]]+CLONE_' "$tree/usr/include/linux/sched.h"; } > "$out/sched.h"
    python3 "$REPO/ci/kernel-functions.py" "$tree" "$WORDS" $FILES > "$out/functions.tsv"
    log "$s: $(grep -c CLONE_ "$out/sched.h") CLONE_ lines, $(wc -l < "$out/functions.tsv") functions"
done
du -sh "$REPO/fixtures/kernels" >&2
