#!/usr/bin/env bash
# Kernel matrix: run `forklore check` inside other kernels (Debian's 5.10,
# 6.1, 6.12, 7.2 and 7.3-rc by default) under qemu, and collect the JSON reports.
#
#   ci/kernel-matrix.sh [--kernels "5.10 6.1 6.12 7.2 7.3"] [--out DIR] [--full] [--user|--no-user]
#                       [--all-cases] [--no-install] [--no-build] [--accel auto|kvm|tcg]
#                       [--timeout SECS] [--cpu MODEL] [--mem SIZE] [--stages] [--bench] [--floor]
#   ci/kernel-matrix.sh --arch arm64 [ci/arm64-matrix.sh's options]
#
# --arch x86_64 (the default) is this script; --arch arm64 (or aarch64) hands
# every other option to ci/arm64-matrix.sh (Debian's arm64 6.1 and 6.12 under
# qemu-system-aarch64).
#
# What it does, per kernel series:
#   1. (unless --no-install) apt-get installs qemu-system-x86, busybox-static,
#      cpio, jq; then, with an apt configuration of its own (sources file,
#      lists and archive cache under $FORKLORE_KERNEL_CACHE/apt, default
#      /var/cache/forklore-kernels: the host's apt state is not touched), finds
#      the newest plain amd64 kernel package of each series in Debian's
#      bullseye, bookworm(-backports), trixie, sid and experimental suites:
#        linux-image-<series>...-amd64-unsigned   (5.10, 6.1, 6.12: /boot/vmlinuz-REL)
#        linux-binary-<series>...-amd64           (7.2, 7.3-rc: /usr/lib/modules/REL/vmlinuz)
#      and *extracts* it (apt-get download + dpkg-deb) into the cache. The
#      package is not installed: no postinst, no update-grub, no initramfs
#      hooks, the host's boot setup is untouched.
#   2. (unless --no-build) builds a static forklore (glibc, +crt-static; its
#      embedded helpers, the exec target and the bench loop, are static too)
#      in CARGO_TARGET_DIR (default /work/target-matrix).
#   3. builds one initramfs: busybox + forklore + /init, which mounts
#      proc, sysfs, devtmpfs, tmpfs /tmp, cgroup2 /sys/fs/cgroup, runs
#      `forklore check --quick --format json` as root and (by default) as uid
#      65534, optionally the full catalogue (--full), and writes each
#      report gzip+base64 between markers on a second serial port (ttyS1), so
#      kernel messages on the console (ttyS0) cannot interleave with it.
#   4. boots each kernel with qemu under a hard timeout, decodes the reports
#      into --out DIR, and prints a per-kernel summary and every failing case.
#      Each boot also runs `forklore fingerprint --json`: the kernel versions
#      consistent with what was observed, which must contain the real one.
#
# --stages runs the root checks with FORKLORE_STAGES=1 and keeps the stage
# table (where the time went, per stage) as OUT/<tag>.<run>-stages.txt; --bench
# adds a short `forklore bench` (OUT/<tag>.bench.txt); --floor runs the
# suite-floor benchmark (crates/bench/examples/suite_floor.rs, every 10th
# root case: through the suite and as raw calls only; OUT/<tag>.floor.txt).
# They are for telling the emulator's cost from forklore's
# (crates/bench/RESULTS.md, "Inside an emulated kernel").
#
# Exit status: 0 if every run produced a report with no fail and no broken
# case and every fingerprint's range contains the kernel's version; 1 if
# some run had fail/broken cases or no report; 2 on usage errors.
set -euo pipefail

# ------------------------------------------------------------------ options --
KERNELS="5.10 6.1 6.12 7.2 7.3"
OUT=${FORKLORE_MATRIX_OUT:-/var/cache/forklore-kernels/out}
INSTALL=1
BUILD=1
FULL=0
ALL_CASES=0
USER_RUN=1
STAGES=0
BENCH=0
FLOOR=0
ACCEL=auto
TIMEOUT=""
CPU="max,la57=off"
MEM=2G
MAX_LIST=${MAX_LIST:-40}
SMP=2
KCACHE=${FORKLORE_KERNEL_CACHE:-/var/cache/forklore-kernels}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-matrix}
TRIPLE=x86_64-unknown-linux-gnu

usage() { sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; }

# --arch: pick the script before parsing anything else.
ARCH=x86_64
REST=()
while [ $# -gt 0 ]; do
    case "$1" in
        --arch)
            [ $# -ge 2 ] || { echo "kernel-matrix: --arch needs x86_64 or arm64" >&2; exit 2; }
            ARCH=$2; shift 2 ;;
        --arch=*) ARCH=${1#--arch=}; shift ;;
        *) REST+=("$1"); shift ;;
    esac
done
set -- ${REST[@]+"${REST[@]}"}
case "$ARCH" in
    x86_64|amd64|x86-64) ;;
    arm64|aarch64) exec "$(dirname "$0")/arm64-matrix.sh" "$@" ;;
    *) echo "kernel-matrix: --arch $ARCH: expected x86_64 or arm64" >&2; exit 2 ;;
esac

while [ $# -gt 0 ]; do
    case "$1" in
        --kernels) KERNELS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --no-build) BUILD=0; shift ;;
        --full) FULL=1; shift ;;
        --all-cases) ALL_CASES=1; shift ;;
        --user) USER_RUN=1; shift ;;
        --no-user) USER_RUN=0; shift ;;
        --stages) STAGES=1; shift ;;
        --bench) BENCH=1; shift ;;
        --floor) FLOOR=1; shift ;;
        --accel) ACCEL=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --cpu) CPU=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "kernel-matrix: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ACCEL" in auto|kvm|tcg) ;; *) echo "kernel-matrix: --accel auto|kvm|tcg" >&2; exit 2 ;; esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { printf '[kernel-matrix] %s\n' "$*" >&2; }

# Everything temporary lives under WORK; the trap removes it and stops any
# qemu this script started (by pid, never by name).
WORK=$(mktemp -d /tmp/kernel-matrix.XXXXXX)
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        sleep 1
        kill -9 "$QEMU_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- install --
apt_ready=0
apt_update() {
    if [ "$apt_ready" = 0 ]; then
        apt-get update -qq >&2
        apt_ready=1
    fi
}

# The kernel packages come from an apt configuration of the script's own:
# its sources file ([trusted=yes]: a throwaway list for download-only use),
# lists, archive cache and an empty dpkg status, all under $KCACHE/apt.
KAPT="$KCACHE/apt"
KAPT_OPTS=(-o "Dir::Etc::SourceList=$KAPT/sources.list" -o Dir::Etc::SourceParts=/dev/null
           -o "Dir::State::Lists=$KAPT/lists" -o "Dir::Cache=$KAPT/cache"
           -o Dir::State::status=/dev/null -o APT::Architecture=amd64
           -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
           -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false)
KAPT_MIRROR=${FORKLORE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KAPT_SECURITY=${FORKLORE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
kapt_ready=0
kapt() { apt-get "${KAPT_OPTS[@]}" "$@"; }
kapt_cache() { apt-cache "${KAPT_OPTS[@]}" "$@"; }
kapt_update() {
    [ "$kapt_ready" = 1 ] && return
    mkdir -p "$KAPT/lists/partial" "$KAPT/cache/archives/partial"
    cat > "$KAPT/sources.list" <<SOURCES
deb [trusted=yes] $KAPT_MIRROR bullseye main
deb [trusted=yes] $KAPT_SECURITY bullseye-security main
deb [trusted=yes] $KAPT_MIRROR bookworm main
deb [trusted=yes] $KAPT_SECURITY bookworm-security main
deb [trusted=yes] $KAPT_MIRROR bookworm-backports main
deb [trusted=yes] $KAPT_MIRROR trixie main
deb [trusted=yes] $KAPT_SECURITY trixie-security main
deb [trusted=yes] $KAPT_MIRROR sid main
deb [trusted=yes] $KAPT_MIRROR experimental main
SOURCES
    log "apt update (own lists in $KAPT)"
    kapt update -qq >&2
    kapt_ready=1
}

# The newest plain amd64 flavour of a series (not cloud, not rt, not dbg):
#   linux-image-5.10.0-NN-amd64-unsigned, linux-image-6.1.0-NN-amd64-unsigned,
#   linux-image-6.12.NN+debNN-amd64-unsigned  (vmlinuz in /boot)
#   linux-binary-7.2.NN+deb14-amd64, linux-binary-7.3-amd64  (vmlinuz in /usr/lib/modules/REL/)
kernel_package() {
    local series=$1 q=${1//./\\.}
    kapt_cache search --names-only \
        "^linux-(image-${q}[.-][^ ]*-amd64-unsigned|binary-${q}([.-][^ ]*)?-amd64)\$" \
        | awk '{print $1}' | grep -v -e '-cloud-' -e '-rt-' -e '-dbg' | sort -V | tail -n 1
}

# Extract vmlinuz and config of PACKAGE into $KCACHE/<package>_<version>/boot,
# whichever layout the package has.
fetch_kernel() {
    local pkg=$1 ver dir tmp rel f
    ver=$(kapt_cache policy "$pkg" | awk '/Candidate:/ {print $2}')
    dir="$KCACHE/${pkg}_${ver}"
    if ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
        echo "$dir"
        return
    fi
    tmp=$(mktemp -d "$WORK/deb.XXXXXX")
    chmod 777 "$tmp"   # apt's _apt download user must be able to write here
    log "downloading $pkg $ver"
    (cd "$tmp" && kapt download -qq "$pkg=$ver" >&2)
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial/x" "$dir.partial/boot"
    dpkg-deb --fsys-tarfile "$tmp"/*.deb \
        | tar -x -C "$dir.partial/x" --wildcards './boot/vmlinuz-*' './boot/config-*' \
              './usr/lib/modules/*/vmlinuz' './usr/lib/modules/*/config' 2>/dev/null || true
    for f in "$dir.partial"/x/boot/*; do
        [ -e "$f" ] && mv "$f" "$dir.partial/boot/"
    done
    for f in "$dir.partial"/x/usr/lib/modules/*/vmlinuz; do
        [ -e "$f" ] || continue
        rel=$(basename "$(dirname "$f")")
        mv "$f" "$dir.partial/boot/vmlinuz-$rel"
        [ -e "$(dirname "$f")/config" ] && mv "$(dirname "$f")/config" "$dir.partial/boot/config-$rel"
    done
    rm -rf "$dir.partial/x" "$tmp"
    if ! ls "$dir.partial"/boot/vmlinuz-* >/dev/null 2>&1; then
        log "$pkg $ver: no vmlinuz in /boot or /usr/lib/modules/*/"
        rm -rf "$dir.partial"
        return 1
    fi
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
    echo "$dir"
}

# With --no-install: the newest already-extracted kernel of the series in the
# cache, else /boot/vmlinuz-<series>.*.
find_kernel_offline() {
    local series=$1 f
    # amd64 packages only: ci/arm64-matrix.sh extracts its arm64 kernels
    # into the same cache.
    f=$(ls -d "$KCACHE"/linux-{image,binary}-"$series"[.-]*amd64[-_]*/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$f" ]; then
        f=$(ls /boot/vmlinuz-"$series"[.-]* 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$f" ] && echo "$f"
}

declare -A VMLINUZ=() PKGVER=()
if [ "$INSTALL" = 1 ]; then
    apt_update
    log "installing qemu-system-x86 busybox-static cpio jq"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-upgrade \
        qemu-system-x86 busybox-static cpio jq >&2
    mkdir -p "$KCACHE"
    kapt_update
    for s in $KERNELS; do
        pkg=$(kernel_package "$s")
        if [ -z "$pkg" ]; then
            log "no linux-image package found for series $s"
            exit 1
        fi
        dir=$(fetch_kernel "$pkg") || exit 1
        VMLINUZ[$s]=$(ls "$dir"/boot/vmlinuz-* | head -n 1)
        PKGVER[$s]=$(basename "$dir")
    done
else
    for s in $KERNELS; do
        f=$(find_kernel_offline "$s" || true)
        if [ -z "$f" ]; then
            log "no kernel for series $s in $KCACHE or /boot (run without --no-install)"
            exit 1
        fi
        VMLINUZ[$s]=$f
        PKGVER[$s]=$(basename "$(dirname "$(dirname "$f")")")
    done
fi
for tool in qemu-system-x86_64 busybox cpio jq gzip; do
    command -v "$tool" >/dev/null || { log "missing $tool (run without --no-install)"; exit 1; }
done
# ldd prints "statically linked" (static-pie) or fails ("not a dynamic
# executable") for a static binary, and lists libraries otherwise.
is_static() {
    local out
    out=$(ldd "$1" 2>/dev/null || true)
    [[ $out != *"=>"* ]]
}
BUSYBOX=$(command -v busybox)
is_static "$BUSYBOX" || { log "$BUSYBOX is not static (apt-get install busybox-static)"; exit 1; }

# ------------------------------------------------------------------ build --
BIN="$CARGO_TARGET_DIR/$TRIPLE/release"
if [ "$BUILD" = 1 ]; then
    log "building static forklore in $CARGO_TARGET_DIR"
    (cd "$REPO" && RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --locked --target "$TRIPLE" -p forklore >&2)
    if [ "$FLOOR" = 1 ]; then
        (cd "$REPO" && RUSTFLAGS='-C target-feature=+crt-static' \
            cargo build --release --locked --target "$TRIPLE" -p forklore-bench --example suite_floor >&2)
    fi
fi
if [ "$FLOOR" = 1 ]; then
    [ -x "$BIN/examples/suite_floor" ] || { log "missing $BIN/examples/suite_floor (run without --no-build)"; exit 1; }
    is_static "$BIN/examples/suite_floor" || { log "$BIN/examples/suite_floor is not static"; exit 1; }
fi
[ -x "$BIN/forklore" ] || { log "missing $BIN/forklore (run without --no-build)"; exit 1; }
is_static "$BIN/forklore" || { log "$BIN/forklore is not static"; exit 1; }
# forklore writes its embedded exec target under $TMPDIR (/tmp, a tmpfs the
# guest mounts with mode 1777) for each scenario run.

# -------------------------------------------------------------- initramfs --
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,sbin,etc,proc,sys,dev,tmp,out,root,run,usr/bin}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for a in sh start-stop-daemon mount umount mkdir cat echo base64 gzip sed tr poweroff sync sleep uname \
         chmod ls date stty dmesg grep head tail wc sysctl id env true false; do
    ln -sf busybox "$ROOTFS/bin/$a"
done
strip --strip-debug -o "$ROOTFS/bin/forklore" "$BIN/forklore"
[ "$FLOOR" = 1 ] && strip --strip-debug -o "$ROOTFS/bin/suite_floor" "$BIN/examples/suite_floor"
# A minimal user database, so that uid 65534 has a name like on a normal host.
cat > "$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/tmp:/bin/sh
EOF
cat > "$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

cp "$REPO/ci/guest-setup.sh" "$ROOTFS/guest-setup.sh"
cat > "$ROOTFS/init" <<'EOF'
#!/bin/sh
# forklore kernel-matrix guest init. Parameters come from /proc/cmdline:
#   fl_runs=root-quick,user-quick[,root-full][,bench][,floor]  fl_stages=0|1
export PATH=/bin HOME=/root
. /guest-setup.sh

DATA=/dev/ttyS1
stty -F $DATA raw -echo 2>/dev/null || true
emit() { # name file
    echo "===FORKLORE-BEGIN $1==="
    gzip -c "$2" | base64
    echo "===FORKLORE-END $1==="
}

runs=$(sed -n 's/.*fl_runs=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$runs" ] || runs=root-quick

{
    echo "===FORKLORE-INFO==="
    echo "uname: $(uname -a)"
    echo "proc_version: $(cat /proc/version)"
    echo "cmdline: $(cat /proc/cmdline)"
    echo "nproc: $(grep -c ^processor /proc/cpuinfo)"
    echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
    echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
    echo "init_sigign: $(grep SigIgn /proc/self/status)"
    echo "mounts:"; grep -E 'cgroup|tmpfs|rootfs' /proc/mounts
    echo "cgroup_controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
    for s in kernel.unprivileged_userns_clone kernel.yama.ptrace_scope kernel.pid_max \
             kernel.threads-max user.max_user_namespaces kernel.apparmor_restrict_unprivileged_userns; do
        echo "sysctl: $s = $(sysctl -n $s 2>/dev/null || echo absent)"
    done
    echo "===FORKLORE-INFO-END==="
} > $DATA

stages=0
case " $(cat /proc/cmdline) " in *" fl_stages=1 "*) stages=1 ;; esac

cd /tmp
for r in $(echo "$runs" | tr ',' ' '); do
    if [ "$r" = bench ] || [ "$r" = floor ]; then
        echo "forklore-matrix: run $r start $(date +%s)"
        t0=$(date +%s)
        if [ "$r" = bench ]; then
            # Short: under TCG the CPU is emulated; the numbers say what the
            # emulator costs, not what the kernel does on hardware.
            /bin/forklore bench --iterations 200 --warmup 20 > /out/$r.txt 2>&1
        else
            /bin/suite_floor --every 10 > /out/$r.txt 2>&1
        fi
        rc=$?
        t1=$(date +%s)
        echo "forklore-matrix: run $r rc=$rc seconds=$((t1 - t0))"
        echo "===FORKLORE-RC $r $rc $((t1 - t0))===" > $DATA
        emit $r /out/$r.txt > $DATA
        continue
    fi
    who=${r%-*}; mode=${r#*-}
    args="check --format json --output /out/$r.json"
    [ "$mode" = quick ] && args="$args --quick"
    # Passing cases too (quick runs only: a full run would be ~800 MB).
    case " $(cat /proc/cmdline) " in
        *" fl_all_cases=1 "*) [ "$mode" = quick ] && args="$args --all-cases" ;;
    esac
    echo "forklore-matrix: run $r start $(date +%s)"
    t0=$(date +%s)
    if [ "$who" = user ]; then
        # busybox setpriv cannot change uids, and busybox su leaves SIGQUIT
        # ignored in the command it runs (an inherited SIG_IGN breaks the
        # core-dump scenario). start-stop-daemon -c only changes the ids.
        start-stop-daemon -S -c nobody:nogroup -x /bin/forklore -- $args
    elif [ "$stages" = 1 ]; then
        FORKLORE_STAGES=1 /bin/forklore $args 2> /out/$r-stages.txt
    else
        /bin/forklore $args
    fi
    rc=$?
    t1=$(date +%s)
    [ -s /out/$r-stages.txt ] && emit "$r-stages" /out/$r-stages.txt > $DATA
    echo "forklore-matrix: run $r rc=$rc seconds=$((t1 - t0))"
    echo "===FORKLORE-RC $r $rc $((t1 - t0))===" > $DATA
    if [ -s /out/$r.json ]; then
        emit "$r" /out/$r.json > $DATA
        rm -f /out/$r.json
    fi
done
# Which kernel versions behave like this one (issue 12): the consistent
# range must contain the release the kernel reports.
echo "forklore-matrix: fingerprint start $(date +%s)"
/bin/forklore fingerprint --json > /out/fingerprint.json 2>/dev/null
echo "===FORKLORE-RC fingerprint $? 0===" > $DATA
[ -s /out/fingerprint.json ] && emit fingerprint /out/fingerprint.json > $DATA
echo "===FORKLORE-DONE===" > $DATA
sync
echo "forklore-matrix: done"
poweroff -f
echo o > /proc/sysrq-trigger
EOF
chmod 755 "$ROOTFS/init"
INITRD="$WORK/initramfs.cpio.gz"
(cd "$ROOTFS" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD")

# ------------------------------------------------------------------ accel --
if [ "$ACCEL" = auto ]; then
    ACCEL=tcg
    if [ -w /dev/kvm ]; then
        # A nested or paravirtual KVM may open fine and then fail to run a
        # normal guest: boot the first kernel with a tiny init and a short
        # timeout to find out.
        SMOKE="$WORK/smoke"
        mkdir -p "$SMOKE/bin" "$SMOKE/proc"
        cp "$BUSYBOX" "$SMOKE/bin/busybox"
        printf '#!/bin/busybox sh\n/bin/busybox echo FORKLORE-KVM-OK\n/bin/busybox poweroff -f\n' > "$SMOKE/init"
        chmod 755 "$SMOKE/init"
        (cd "$SMOKE" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/smoke.cpio.gz")
        first=${KERNELS%% *}
        kvm_smoke() {
            # The subshell (not a bare exec) keeps bash's "Aborted" job
            # message on its own, silenced, stderr when qemu dies of SIGABRT.
            (
                timeout --kill-after=5 25 qemu-system-x86_64 -accel kvm -cpu host -m 512M -smp 1 \
                    -kernel "${VMLINUZ[$first]}" -initrd "$WORK/smoke.cpio.gz" \
                    -append 'console=ttyS0 panic=-1 quiet' -display none -monitor none \
                    -serial file:"$WORK/smoke.log" -no-reboot </dev/null >/dev/null 2>&1
                rc=$?
                exit $rc
            ) 2>/dev/null || return 1
            grep -q FORKLORE-KVM-OK "$WORK/smoke.log"
        }
        if kvm_smoke; then
            ACCEL=kvm
        else
            log "KVM does not run a guest here; using TCG (slow)"
        fi
    fi
fi
if [ "$ACCEL" = kvm ]; then
    ACCEL_ARGS=(-accel kvm -cpu host)
    CLOCK_ARGS=""
else
    ACCEL_ARGS=(-accel tcg,thread=multi -cpu "$CPU")
    # Under TCG on a busy host the kernel's TSC refinement (tsc: Refined TSC
    # clocksource calibration) can come out far too low: one 7.2.13 boot saw
    # 3769 s of CLOCK_MONOTONIC in 101 s of wall time, so every case timeout
    # fired early (broken cases). The emulated HPET follows the host clock.
    CLOCK_ARGS="clocksource=hpet tsc=unstable"
fi

RUNS=root-quick
[ "$USER_RUN" = 1 ] && RUNS="$RUNS,user-quick"
[ "$FULL" = 1 ] && RUNS="$RUNS,root-full"
[ "$BENCH" = 1 ] && RUNS="$RUNS,bench"
[ "$FLOOR" = 1 ] && RUNS="$RUNS,floor"
if [ -z "$TIMEOUT" ]; then
    # Measured under TCG on 2 vCPUs: boot ~5 s, quick run ~1-2 min, full run
    # ~15-25 min. Leave a wide margin; KVM needs far less.
    TIMEOUT=900
    [ "$FULL" = 1 ] && TIMEOUT=3600
fi

# -------------------------------------------------------------------- run --
# Cut the reports out of the data-port capture. Writes OUT/<tag>[-<run>].json.
extract() {
    local data=$1 tag=$2
    awk -v out="$WORK/b64" '
        /^===FORKLORE-BEGIN / { name=$2; sub(/===$/, "", name); f=out "." name; printf "" > f; on=1; next }
        /^===FORKLORE-END /   { on=0; close(f); print name; next }
        on { print >> f }
    ' <(tr -d '\r' < "$data")
}

STATUS=0
SUMMARY="$WORK/summary.txt"
: > "$SUMMARY"
for s in $KERNELS; do
    vmlinuz=${VMLINUZ[$s]}
    rel=$(basename "$vmlinuz"); rel=${rel#vmlinuz-}
    tag="linux-$rel"
    console="$OUT/$tag.console.log"
    data="$WORK/$tag.data"
    rm -f "$OUT/$tag".*.json "$OUT/$tag".json
    log "booting $rel ($ACCEL, timeout ${TIMEOUT}s, runs $RUNS)"
    t0=$(date +%s)
    set +e
    timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" \
        -m "$MEM" -smp "$SMP" -kernel "$vmlinuz" -initrd "$INITRD" \
        -append "console=ttyS0 panic=-1 oops=panic loglevel=4 $CLOCK_ARGS fl_runs=$RUNS fl_all_cases=$ALL_CASES fl_stages=$STAGES" \
        -display none -monitor none -no-reboot \
        -serial file:"$console" -serial file:"$data" \
        </dev/null >"$WORK/qemu.out" 2>&1 &
    QEMU_PID=$!
    wait "$QEMU_PID"
    qrc=$?
    set -e
    QEMU_PID=""
    t1=$(date +%s)
    secs=$((t1 - t0))
    if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        log "$rel: qemu hit the ${TIMEOUT}s timeout"
    fi
    sed -n '/===FORKLORE-INFO===/,/===FORKLORE-INFO-END===/p' "$data" | tr -d '\r' \
        | grep -v '===FORKLORE-INFO' > "$OUT/$tag.info.txt" || true
    grep -a '^===FORKLORE-RC' "$data" | tr -d '\r' > "$WORK/rcs" || true
    names=$(extract "$data" "$tag")
    for n in $names; do
        ext=json
        case "$n" in bench|floor|*-stages) ext=txt ;; esac
        base64 -d "$WORK/b64.$n" | gunzip > "$OUT/$tag.$n.$ext"
    done
    {
        echo "== $rel  [${PKGVER[$s]:-?}]  ($ACCEL, VM wall time ${secs}s, qemu rc $qrc)"
        if [ -z "$names" ]; then
            echo "   no report came back (see $console)"
            STATUS=1
        fi
        for r in $(echo "$RUNS" | tr ',' ' '); do
            f="$OUT/$tag.$r.json"
            case "$r" in bench|floor) f="$OUT/$tag.$r.txt" ;; esac
            rcline=$(grep " $r " "$WORK/rcs" || true)
            if [ ! -s "$f" ]; then
                echo "   $r: NO REPORT ${rcline:+(${rcline//===/})}"
                STATUS=1
                continue
            fi
            if [ "$r" = bench ]; then
                echo "   bench (emulated CPU under $ACCEL), exit $(echo "$rcline" | awk '{print $3}'): $OUT/$tag.bench.txt"
                continue
            fi
            if [ "$r" = floor ]; then
                echo "   suite floor, exit $(echo "$rcline" | awk '{print $3}'), $(echo "$rcline" | awk '{print $4}' | tr -d =)s:"
                sed 's/^/      /' "$f" | tail -5
                continue
            fi
            if [ -s "$OUT/$tag.$r-stages.txt" ]; then
                echo "   $r: stage table in $OUT/$tag.$r-stages.txt"
            fi
            jq -r --arg r "$r" --arg rc "$(echo "$rcline" | awk '{print $3}')" \
                --arg t "$(echo "$rcline" | awk '{print $4}' | tr -d =)" '
                "   \($r): kernel \(.kernel): \(.summary.total) cases: \(.summary.pass) pass, \(.summary.fail) fail, \(.summary.skip) skip, \(.summary.env) env, \(.summary.broken) broken (forklore \(.duration_s|floor)s, run \($t)s, exit \($rc))"' "$f"
            # Every failing/broken case with its reason goes to a file; the
            # summary shows the first $MAX_LIST of them.
            jq -r '.cases[] | select(.verdict == "fail" or .verdict == "broken")
                   | "\(.verdict | ascii_upcase) \(.id): \(.reason // "-")"' "$f" \
                > "$OUT/$tag.$r.failures.txt"
            n=$(wc -l < "$OUT/$tag.$r.failures.txt")
            sed -n "1,${MAX_LIST}p" "$OUT/$tag.$r.failures.txt" | sed 's/^/      /'
            if [ "$n" -gt "$MAX_LIST" ]; then
                echo "      ... and $((n - MAX_LIST)) more in $OUT/$tag.$r.failures.txt"
            fi
            if [ "$ALL_CASES" = 1 ] && [ "${r#*-}" = quick ]; then
                # The rows with an upper version bound that decided a case:
                # where this kernel is expected to differ from newer ones.
                jq -r '[.cases[] | select(.expected.rule? != null and .expected.versions? != null)
                        | select(any(.expected.versions[]; test("–")))
                        | "\(.expected.rule) [\(.expected.versions | join(", "))] \(.verdict)"]
                       | group_by(.) | map("\(.[0]) x\(length)") | .[]' "$f" \
                    | sed 's/^/      bounded row: /'
            fi
            if [ "$(jq '.summary.fail + .summary.broken' "$f")" != 0 ]; then
                STATUS=1
            fi
        done
        f="$OUT/$tag.fingerprint.json"
        if [ -s "$f" ]; then
            jq -r '"   fingerprint: \(if .claimed_consistent then "ok" else "MISMATCH" end): consistent versions \(if (.consistent | length) > 0 then (.consistent | join(", ")) else "none" end), claimed \(.claimed): \(.verdict) (\(.creation_cases) + \(.lifecycle_cases) cases, \(.duration_s|floor)s)"' "$f"
            if [ "$(jq '.claimed_consistent' "$f")" != true ]; then
                STATUS=1
            fi
        else
            echo "   fingerprint: NO REPORT"
            STATUS=1
        fi
    } >> "$SUMMARY"
done

cat "$SUMMARY"
cp "$SUMMARY" "$OUT/summary.txt"
log "reports in $OUT"
exit "$STATUS"
