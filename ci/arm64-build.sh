#!/usr/bin/env bash
# Build a static arm64 (aarch64-unknown-linux-gnu) forklore on an x86_64
# Debian/Ubuntu host, with Debian's own arm64 Rust standard library.
#
#   ci/arm64-build.sh [--chroot DIR] [--suite sid] [--out DIR] [--test]
#
# rustup cannot fetch an arm64 standard library here; Debian ships one
# (libstd-rust-dev:arm64). So, as root:
#   1. debootstrap --variant=minbase SUITE into DIR (default
#      /var/cache/forklore-arm64/chroot, outside the repository), once;
#   2. inside it: dpkg --add-architecture arm64; apt-get install rustc cargo
#      libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#      (and qemu-user-static for --test);
#   3. copies the host's CA certificates (an intercepting proxy's included)
#      and resolv.conf in, so cargo reaches the crate registry;
#   4. copies the source (git ls-files -co --exclude-standard: tracked files with local
#      edits and new files not ignored) to DIR/src/forklore and builds it under
#      `env -i` (the host's PATH and RUSTFLAGS do not leak in):
#        RUSTFLAGS='-C target-feature=+crt-static'
#        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
#        cargo build --release --locked --target aarch64-unknown-linux-gnu -p forklore
#   5. copies the static binary to OUT (default /var/cache/forklore-arm64/out)
#      and prints its path.
#
# SUITE defaults to sid: the locked crates need a newer rustc than trixie's
# 1.85 (hdrhistogram 7.6 needs 1.88, uuid 1.29 needs 1.89).
# With --test, the model's unit tests (pure code, no syscalls) also run as
# arm64 code under qemu-aarch64 (user mode: not a kernel, so only the model).
#
# Exit status: 0 with the binary built; 1 otherwise; 2 on usage errors.
set -euo pipefail

CHROOT=${FORKLORE_ARM64_CHROOT:-/var/cache/forklore-arm64/chroot}
OUT=/var/cache/forklore-arm64/out
SUITE=sid
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TEST=0
JOBS=${CARGO_BUILD_JOBS:-2}

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --chroot) CHROOT=$2; shift 2 ;;
        --suite) SUITE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --test) TEST=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "arm64-build: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { printf '[arm64-build] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap, chroot)"; exit 1; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
case "$CHROOT/" in
    "$REPO"/*) log "the chroot must be outside the repository ($REPO)"; exit 2 ;;
esac

# ---------------------------------------------------------------- chroot --
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
fi
if [ ! -e "$CHROOT/.forklore-bootstrapped" ]; then
    log "debootstrap --variant=minbase $SUITE $CHROOT"
    rm -rf "$CHROOT"
    mkdir -p "$CHROOT"
    debootstrap --variant=minbase "$SUITE" "$CHROOT" "$MIRROR" >&2
    touch "$CHROOT/.forklore-bootstrapped"
fi

# Network and trust: the host's resolver and every CA it trusts.
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
mkdir -p "$CHROOT/usr/local/share/ca-certificates"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$CHROOT/usr/local/share/ca-certificates/"
fi

in_chroot() {
    env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive chroot "$CHROOT" "$@"
}

# /proc and /dev for apt, cargo and qemu-aarch64; unmounted on exit.
MOUNTED=()
cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for m in proc dev; do
    if ! mountpoint -q "$CHROOT/$m"; then
        mount --bind "/$m" "$CHROOT/$m"
        MOUNTED+=("$CHROOT/$m")
    fi
done

PKGS="ca-certificates rustc cargo libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
[ "$TEST" = 1 ] && PKGS="$PKGS qemu-user-static"
# A mirror or clock a few weeks apart makes sid's short-lived Release
# signature "expired"; the packages are still signed, only the date is off.
echo 'Acquire::Check-Valid-Until "false";' > "$CHROOT/etc/apt/apt.conf.d/99forklore"
stamp="$CHROOT/.forklore-pkgs"
if [ ! -e "$stamp" ] || [ "$(cat "$stamp")" != "$PKGS" ]; then
    log "installing $PKGS"
    in_chroot dpkg --add-architecture arm64
    in_chroot apt-get update -qq >&2
    # shellcheck disable=SC2086
    in_chroot apt-get install -y -qq --no-install-recommends $PKGS >&2
    echo "$PKGS" > "$stamp"
fi
in_chroot update-ca-certificates >/dev/null 2>&1 || true
log "$(in_chroot rustc --version), $(in_chroot cargo --version)"

# ----------------------------------------------------------------- source --
SRC="$CHROOT/src/forklore"
mkdir -p "$SRC"
log "copying the source to $SRC"
rm -rf "$SRC" && mkdir -p "$SRC"
(cd "$REPO" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$SRC")

# ------------------------------------------------------------------ build --
TRIPLE=aarch64-unknown-linux-gnu
log "cargo build --release --target $TRIPLE (jobs $JOBS)"
t0=$(date +%s)
in_chroot env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 \
    CARGO_HOME=/root/.cargo CARGO_TARGET_DIR=/src/target CARGO_BUILD_JOBS="$JOBS" \
    RUSTFLAGS='-C target-feature=+crt-static' \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    sh -c "cd /src/forklore && cargo build --release --locked --target $TRIPLE -p forklore" >&2
log "built in $(( $(date +%s) - t0 )) s"
BIN="$CHROOT/src/target/$TRIPLE/release/forklore"
file_out=$(file -b "$BIN" 2>/dev/null || true)
log "$BIN: ${file_out:-$(head -c 20 "$BIN" | od -An -c | head -1)}"

if [ "$TEST" = 1 ]; then
    # Debian's qemu-user-static installed qemu-aarch64-static up to qemu 9;
    # since 10 (sid) the static binary is plain qemu-aarch64.
    RUNNER=qemu-aarch64-static
    [ -x "$CHROOT/usr/bin/$RUNNER" ] || RUNNER=qemu-aarch64
    log "model unit tests as arm64 code under $RUNNER (user mode)"
    in_chroot env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 \
        CARGO_HOME=/root/.cargo CARGO_TARGET_DIR=/src/target CARGO_BUILD_JOBS="$JOBS" \
        RUSTFLAGS='-C target-feature=+crt-static' \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$RUNNER" \
        sh -c "cd /src/forklore && cargo test --release --locked --target $TRIPLE -p forklore-model --lib" >&2
fi

# The embedded helpers (exec target, bench loop) must be static too: a
# PT_INTERP would make every exec of them fail with ENOENT in an initramfs.
for h in "$CHROOT"/src/target/$TRIPLE/release/build/forklore-sys-*/out/forklore-{exec-target,bench-loop}; do
    [ -e "$h" ] || continue
    if od -An -tx4 -j64 -N$((56 * 12)) "$h" >/dev/null 2>&1 && \
       LC_ALL=C grep -aq '/lib/ld-linux' "$h"; then
        log "$h has a dynamic loader (PT_INTERP): not static"
        exit 1
    fi
done
mkdir -p "$OUT"
# Debug info out (the initramfs carries the binary): the cross binutils strip.
in_chroot aarch64-linux-gnu-strip --strip-debug -o /src/forklore.stripped \
    "/src/target/$TRIPLE/release/forklore"
mv "$CHROOT/src/forklore.stripped" "$OUT/forklore"
echo "$OUT/forklore"
