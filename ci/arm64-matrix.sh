#!/usr/bin/env bash
# arm64 kernel matrix: boot Debian's arm64 kernels (6.1 from bookworm, 6.12
# from trixie by default) under qemu-system-aarch64 (software emulation) and
# run the arm64 forklore in them, as root and as uid 65534.
#
#   ci/arm64-matrix.sh [--kernels "6.1 6.12"] [--out DIR] [--bin FILE] [--no-build]
#                      [--no-install] [--full] [--no-user] [--bench] [--all-cases]
#                      [--timeout SECS] [--mem SIZE] [--smp N] [--cpu MODEL]
#
# Separate from ci/kernel-matrix.sh (x86_64), same shape:
#   1. (unless --no-install) apt-get installs qemu-system-arm, cpio, jq on the
#      host; then, with an apt configuration of its own (arm64 only, bookworm,
#      bookworm-security, trixie, trixie-security; under $KCACHE/apt, the
#      host's sources are untouched) downloads the newest
#      `linux-image-<series>...-arm64-unsigned` of each series and
#      busybox-static:arm64 and *extracts* them (apt-get download +
#      dpkg-deb -x). Nothing is installed.
#   2. (unless --no-build) builds the static arm64 forklore with
#      ci/arm64-build.sh (a Debian chroot with Debian's arm64 std), or takes
#      --bin FILE.
#   3. builds one initramfs: busybox + forklore + /init, which mounts proc,
#      sysfs, devtmpfs, tmpfs /tmp, cgroup2 and runs `forklore check --quick
#      --format json` as root and as uid 65534 (start-stop-daemon -c, as in
#      the x86 matrix), optionally the full catalogue (--full) and a short
#      `forklore bench` (--bench; emulated CPU: the numbers say what TCG
#      costs, not what arm64 hardware costs). Reports go gzip+base64 between
#      markers to a second serial port, a PCI 16550 (qemu pci-serial, guest
#      ttyS0, a file on the host), so kernel messages on the PL011 console
#      (ttyAMA0) cannot interleave.
#   4. boots each kernel: qemu-system-aarch64 -M virt -cpu max -accel tcg
#      under a hard timeout (killed by pid), decodes the reports into
#      --out DIR (default /var/cache/forklore-arm64/matrix-out, or
#      $FORKLORE_ARM64_MATRIX_OUT; nothing is written into the repository)
#      and prints a per-kernel summary and every failing case.
#
# Exit status: 0 if every run produced a report with no fail and no broken
# case; 1 otherwise; 2 on usage errors.
set -euo pipefail

KERNELS="6.1 6.12"
OUT=${FORKLORE_ARM64_MATRIX_OUT:-/var/cache/forklore-arm64/matrix-out}
INSTALL=1
BUILD=1
BIN=""
FULL=0
BENCH=0
ALL_CASES=0
USER_RUN=1
TIMEOUT=""
MEM=2G
SMP=2
# -cpu max with QEMU's cheap implementation-defined pointer-authentication
# algorithm: the architected QARMA one makes TCG several times slower.
CPU="max,pauth-impdef=on"
MAX_LIST=${MAX_LIST:-40}
KCACHE=${FORKLORE_KERNEL_CACHE:-/var/cache/forklore-kernels}
ACACHE=${FORKLORE_ARM64_CACHE:-/var/cache/forklore-arm64}

usage() { sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --kernels) KERNELS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --bin) BIN=$2; BUILD=0; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        --full) FULL=1; shift ;;
        --bench) BENCH=1; shift ;;
        --all-cases) ALL_CASES=1; shift ;;
        --user) USER_RUN=1; shift ;;
        --no-user) USER_RUN=0; shift ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --cpu) CPU=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "arm64-matrix: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { printf '[arm64-matrix] %s\n' "$*" >&2; }

WORK=$(mktemp -d /tmp/arm64-matrix.XXXXXX)
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

# ------------------------------------------------------- arm64 apt config --
# An apt of its own: arm64 package lists in $ACACHE/apt, never the host's.
APTDIR="$ACACHE/apt"
APT=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
     -o "Dir::State=$APTDIR/state" -o "Dir::State::Status=$APTDIR/state/status"
     -o "Dir::Cache=$APTDIR/cache" -o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
     -o "Dir::Etc::Preferences=$APTDIR/preferences" -o "Dir::Etc::PreferencesParts=$APTDIR/preferences.d"
     -o "Debug::NoLocking=1" -o "Acquire::Check-Valid-Until=false")
arm64_apt_setup() {
    mkdir -p "$APTDIR"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial}
    : > "$APTDIR/state/status"
    : > "$APTDIR/preferences"
    cat > "$APTDIR/sources.list" <<'EOF'
deb [arch=arm64] http://deb.debian.org/debian bookworm main
deb [arch=arm64] http://deb.debian.org/debian-security bookworm-security main
deb [arch=arm64] http://deb.debian.org/debian trixie main
deb [arch=arm64] http://deb.debian.org/debian-security trixie-security main
EOF
    chown -R _apt "$APTDIR/state/lists" "$APTDIR/cache" 2>/dev/null || true
    apt-get "${APT[@]}" update -qq >&2
}

# The newest plain arm64 flavour of a series (not cloud, rt, 16k or dbg).
kernel_package() {
    local series=$1 re
    re="^linux-image-${series//./\\.}[.-][^ ]*-arm64-unsigned\$"
    apt-cache "${APT[@]}" search --names-only "$re" | awk '{print $1}' \
        | grep -v -e '-cloud-' -e '-rt-' -e '-16k-' -e '-dbg' | sort -V | tail -n 1
}

# Download PACKAGE (arm64) and extract it whole into DIR.
fetch_extract() {
    local pkg=$1 dir=$2 tmp
    tmp=$(mktemp -d "$WORK/deb.XXXXXX")
    chmod 777 "$tmp"
    log "downloading $pkg (arm64)"
    (cd "$tmp" && apt-get "${APT[@]}" download -qq "$pkg:arm64" >&2)
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    dpkg-deb -x "$tmp"/*.deb "$dir.partial"
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
}

declare -A IMAGE=()
if [ "$INSTALL" = 1 ]; then
    log "installing qemu-system-arm cpio jq"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-system-arm cpio jq >&2
    arm64_apt_setup
    mkdir -p "$KCACHE"
    for s in $KERNELS; do
        pkg=$(kernel_package "$s")
        [ -n "$pkg" ] || { log "no arm64 linux-image package for series $s"; exit 1; }
        ver=$(apt-cache "${APT[@]}" policy "$pkg" | awk '/Candidate:/ {print $2}')
        dir="$KCACHE/${pkg}_${ver}"
        ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 || fetch_extract "$pkg" "$dir"
        IMAGE[$s]=$(ls "$dir"/boot/vmlinuz-* | head -n 1)
    done
    bb="$ACACHE/busybox-static"
    [ -x "$bb/bin/busybox" ] || [ -x "$bb/usr/bin/busybox" ] || fetch_extract busybox-static "$bb"
fi
for s in $KERNELS; do
    if [ -z "${IMAGE[$s]:-}" ]; then
        f=$(ls -d "$KCACHE"/linux-image-"$s"[.-]*-arm64-unsigned_*/boot/vmlinuz-* 2>/dev/null | grep -v -e -cloud- -e -rt- | sort -V | tail -n 1 || true)
        [ -n "$f" ] || { log "no arm64 kernel for series $s in $KCACHE (run without --no-install)"; exit 1; }
        IMAGE[$s]=$f
    fi
done
BUSYBOX="$ACACHE/busybox-static/bin/busybox"
[ -x "$BUSYBOX" ] || BUSYBOX="$ACACHE/busybox-static/usr/bin/busybox"
[ -x "$BUSYBOX" ] || { log "missing $BUSYBOX (run without --no-install)"; exit 1; }
for tool in qemu-system-aarch64 cpio jq gzip; do
    command -v "$tool" >/dev/null || { log "missing $tool (run without --no-install)"; exit 1; }
done

# ------------------------------------------------------------------ build --
if [ "$BUILD" = 1 ]; then
    BIN=$("$REPO/ci/arm64-build.sh")
fi
[ -n "$BIN" ] || BIN="$ACACHE/out/forklore"
[ -f "$BIN" ] || { log "missing $BIN (run without --no-build, or --bin FILE)"; exit 1; }
# An arm64 ELF (e_machine 183 = 0xb7 at offset 18).
[ "$(od -An -tx1 -j18 -N2 "$BIN" | tr -d ' ')" = b700 ] || { log "$BIN is not an arm64 ELF"; exit 1; }

# -------------------------------------------------------------- initramfs --
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,sbin,etc,proc,sys,dev,tmp,out,root,run,usr/bin}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for a in sh start-stop-daemon mount umount mkdir cat echo base64 gzip sed tr poweroff sync sleep uname \
         chmod ls date stty dmesg grep head tail wc sysctl id env true false; do
    ln -sf busybox "$ROOTFS/bin/$a"
done
cp "$BIN" "$ROOTFS/bin/forklore"
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
# forklore arm64-matrix guest init. fl_runs=root-quick,user-quick[,root-full][,bench]
export PATH=/bin HOME=/root
. /guest-setup.sh

# The report channel: a PCI 16550 (qemu pci-serial; Debian's arm64 kernels
# build 8250_pci in, while virtio-pci/-mmio are modules), else the console
# itself (kernel messages are quieted with loglevel=1).
DATA=/dev/console
for d in /dev/ttyS0 /dev/ttyS1 /dev/ttyS2 /dev/ttyS3; do
    if [ -c $d ] && stty -F $d raw -echo 2>/dev/null; then DATA=$d; break; fi
done
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
    echo "data: $DATA"
    echo "cgroup_controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
    for s in kernel.unprivileged_userns_clone kernel.pid_max user.max_user_namespaces; do
        echo "sysctl: $s = $(sysctl -n $s 2>/dev/null || echo absent)"
    done
    echo "===FORKLORE-INFO-END==="
} > $DATA

cd /tmp
for r in $(echo "$runs" | tr ',' ' '); do
    t0=$(date +%s)
    if [ "$r" = bench ]; then
        # Short: the CPU is emulated (TCG); the numbers are not arm64 hardware's.
        /bin/forklore bench --iterations 200 --warmup 20 > /out/bench.json 2>&1
        rc=$?
    else
        who=${r%-*}; mode=${r#*-}
        args="check --format json --output /out/$r.json"
        [ "$mode" = quick ] && args="$args --quick"
        case " $(cat /proc/cmdline) " in
            *" fl_all_cases=1 "*) [ "$mode" = quick ] && args="$args --all-cases" ;;
        esac
        echo "forklore-matrix: run $r start $t0"
        if [ "$who" = user ]; then
            start-stop-daemon -S -c nobody:nogroup -x /bin/forklore -- $args
        else
            /bin/forklore $args
        fi
        rc=$?
    fi
    t1=$(date +%s)
    echo "forklore-matrix: run $r rc=$rc seconds=$((t1 - t0))"
    echo "===FORKLORE-RC $r $rc $((t1 - t0))===" > $DATA
    if [ -s /out/$r.json ]; then
        emit "$r" /out/$r.json > $DATA
        rm -f /out/$r.json
    fi
done
echo "===FORKLORE-DONE===" > $DATA
sync
echo "forklore-matrix: done"
poweroff -f
echo o > /proc/sysrq-trigger
EOF
chmod 755 "$ROOTFS/init"
INITRD="$WORK/initramfs.cpio.gz"
(cd "$ROOTFS" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD")

RUNS=root-quick
[ "$USER_RUN" = 1 ] && RUNS="$RUNS,user-quick"
[ "$FULL" = 1 ] && RUNS="$RUNS,root-full"
[ "$BENCH" = 1 ] && RUNS="$RUNS,bench"
if [ -z "$TIMEOUT" ]; then
    TIMEOUT=1800
    [ "$FULL" = 1 ] && TIMEOUT=10800
fi

extract() {
    local data=$1
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
    image=${IMAGE[$s]}
    rel=$(basename "$image"); rel=${rel#vmlinuz-}
    tag="linux-$rel"
    console="$OUT/$tag.console.log"
    data="$OUT/$tag.data.log"
    rm -f "$OUT/$tag".*.json
    log "booting $rel (qemu-system-aarch64 -M virt -cpu $CPU, TCG, timeout ${TIMEOUT}s, runs $RUNS)"
    t0=$(date +%s)
    set +e
    timeout --kill-after=10 "$TIMEOUT" qemu-system-aarch64 -M virt -cpu "$CPU" -accel tcg,thread=multi \
        -m "$MEM" -smp "$SMP" -kernel "$image" -initrd "$INITRD" \
        -append "console=ttyAMA0 panic=-1 oops=panic loglevel=1 fl_runs=$RUNS fl_all_cases=$ALL_CASES" \
        -display none -monitor none -no-reboot \
        -serial file:"$console" \
        -chardev file,id=fldata,path="$data" -device pci-serial,chardev=fldata \
        </dev/null >"$WORK/qemu.out" 2>&1 &
    QEMU_PID=$!
    wait "$QEMU_PID"
    qrc=$?
    set -e
    QEMU_PID=""
    secs=$(( $(date +%s) - t0 ))
    [ "$qrc" = 124 ] || [ "$qrc" = 137 ] && log "$rel: qemu hit the ${TIMEOUT}s timeout"
    # Reports come on the PCI serial port, or on the console without one.
    src=$data
    grep -q '===FORKLORE-INFO===' "$data" 2>/dev/null || src=$console
    sed -n '/===FORKLORE-INFO===/,/===FORKLORE-INFO-END===/p' "$src" | tr -d '\r' \
        | grep -v '===FORKLORE-INFO' > "$OUT/$tag.info.txt" || true
    grep -a '^===FORKLORE-RC' "$src" | tr -d '\r' > "$WORK/rcs" || true
    names=$(extract "$src")
    for n in $names; do
        ext=json
        [ "$n" = bench ] && ext=txt
        base64 -d "$WORK/b64.$n" | gunzip > "$OUT/$tag.$n.$ext"
    done
    {
        echo "== $rel  (arm64, qemu TCG, VM wall time ${secs}s, qemu rc $qrc)"
        [ -n "$names" ] || { echo "   no report came back (see $console)"; STATUS=1; }
        for r in $(echo "$RUNS" | tr ',' ' '); do
            f="$OUT/$tag.$r.json"
            [ "$r" = bench ] && f="$OUT/$tag.bench.txt"
            rcline=$(grep " $r " "$WORK/rcs" || true)
            if [ ! -s "$f" ]; then
                echo "   $r: NO REPORT ${rcline:+(${rcline//===/})}"
                STATUS=1
                continue
            fi
            if [ "$r" = bench ]; then
                echo "   bench (emulated CPU under TCG: not arm64 hardware numbers), exit ${rcline:+$(echo "$rcline" | awk '{print $3}')}:"
                sed 's/^/      /' "$f" | head -40
                continue
            fi
            jq -r --arg r "$r" --arg rc "$(echo "$rcline" | awk '{print $3}')" \
                --arg t "$(echo "$rcline" | awk '{print $4}' | tr -d =)" '
                "   \($r): kernel \(.kernel): \(.summary.total) cases: \(.summary.pass) pass, \(.summary.fail) fail, \(.summary.skip) skip, \(.summary.env) env, \(.summary.broken) broken (forklore \(.duration_s|floor)s, run \($t)s, exit \($rc))"' "$f"
            jq -r '.cases[] | select(.verdict == "fail" or .verdict == "broken")
                   | "\(.verdict | ascii_upcase) \(.id): \(.reason // "-")"' "$f" \
                > "$OUT/$tag.$r.failures.txt"
            n=$(wc -l < "$OUT/$tag.$r.failures.txt")
            sed -n "1,${MAX_LIST}p" "$OUT/$tag.$r.failures.txt" | sed 's/^/      /'
            [ "$n" -gt "$MAX_LIST" ] && echo "      ... and $((n - MAX_LIST)) more in $OUT/$tag.$r.failures.txt"
            if [ "$(jq '.summary.fail + .summary.broken' "$f")" != 0 ]; then
                STATUS=1
            fi
        done
    } >> "$SUMMARY"
done

cat "$SUMMARY"
cp "$SUMMARY" "$OUT/summary.txt"
log "reports in $OUT"
exit "$STATUS"
