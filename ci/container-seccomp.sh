#!/usr/bin/env bash
# Run forklore's quick suite inside a container with a real default seccomp
# profile, and compare what clone3 does there with the simulated
# `seccomp-clone3-enosys` context.
#
# Usage (as root, from the repository):
#   ci/container-seccomp.sh [--profile podman|docker|both] [--contexts LIST] [--out DIR]
#     --profile   which default profile (default: both)
#                   podman: podman's own default, /usr/share/containers/seccomp.json
#                           (Debian's containers-common); it allows clone3.
#                   docker: Docker's default profile, profiles/seccomp/default.json
#                           from Debian's golang-github-docker-docker-dev (the
#                           source dockerd is built from; downloaded with
#                           `apt-get download` and unpacked in the temp dir, not
#                           installed), applied by podman with --security-opt;
#                           it makes clone3 ENOSYS and refuses namespace clones
#                           unless the container has CAP_SYS_ADMIN.
#     --contexts  forklore contexts to run (default: root,user)
#     --out DIR   keep the JSON reports (<profile>.json) and the host's
#                 simulated-context report (host-seccomp-clone3-enosys.json)
#
# Steps: apt-get install podman, runc and jq if missing; cargo build
# --release; a rootfs holding only target/release/forklore, the shared
# libraries ldd lists, /etc/passwd and a 1777 /tmp, imported with
# `podman import` (no registry is contacted); then per profile
#   podman run --network=none forklore-local /forklore check --quick --format json
# with the default capabilities (root in the container has no CAP_SYS_ADMIN),
# and the 163 `ctx/` cases of the simulated context once more in the
# container's drop-cap-sys_admin context, joined by id with the host's
# simulated `seccomp-clone3-enosys` run.
#
# podman runs with its own storage (--root/--runroot in the temp dir, vfs
# driver, cgroupfs manager), so /var/lib/containers is not touched. crun
# 1.8 refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported"),
# so the runtime is whichever of crun and runc passes a smoke run. Without
# CAP_SYS_RESOURCE podman's default rlimits (raised to the maximum) cannot
# be set, so the container gets the current RLIMIT_NOFILE and an
# RLIMIT_NPROC the runtime accepts.
#
# Exit: 0 when every run reported with no fail and no broken case; 1 when a
# run had fail or broken cases; 2 on a setup problem. The trap removes every
# container (by id), the image, podman's private storage, the temp dir and
# /var/lib/containers when this run created it;
# packages it installed stay installed (it says which).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/target/release/forklore
PROFILES=(podman docker)
CONTEXTS=root,user
OUT=
die() { echo "container-seccomp.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--profile) [ $# -ge 2 ] || die "--profile needs a value"
		case $2 in podman | docker) PROFILES=("$2") ;; both) PROFILES=(podman docker) ;;
		*) die "--profile: podman, docker or both" ;; esac; shift 2 ;;
	--contexts) [ $# -ge 2 ] || die "--contexts needs a value"; CONTEXTS=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out needs a value"; OUT=$2; shift 2 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "run as root"

WORK=$(mktemp -d /tmp/forklore-container.XXXXXX)
# `podman import` writes a blob-info cache to /var/lib/containers/cache
# whatever --root says; remove that directory at the end if it is new.
[ -e /var/lib/containers ] && NEW_VLC= || NEW_VLC=1
IMAGE=forklore-local-$$
CIDS=()
IMAGE_ID=
P=() # the podman command line, set below
cleanup() {
	local c
	if [ ${#P[@]} -gt 0 ]; then
		for c in "${CIDS[@]}"; do [ -n "$c" ] && "${P[@]}" rm -f "$c" >/dev/null 2>&1; done
		[ -n "$IMAGE_ID" ] && "${P[@]}" rmi -f "$IMAGE_ID" >/dev/null 2>&1
	fi
	# vfs layers are plain directories; unmount anything left under WORK first.
	grep -o " $WORK[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
	[ -n "$NEW_VLC" ] && rm -rf /var/lib/containers
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Tools and build.
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
	echo "container-seccomp.sh: installing ${need[*]} (they stay installed)" >&2
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
fi
(cd "$REPO" && cargo build --release -q) || die "cargo build failed"

# 2. The rootfs and the image, from the local build only.
R=$WORK/rootfs
mkdir -p "$R/tmp" "$R/etc" && chmod 1777 "$R/tmp" || die "mkdir $R"
cp "$BIN" "$R/forklore" || die "cp $BIN"
for lib in $(ldd "$BIN" | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$lib")" && cp -L "$lib" "$R$lib" || die "cp $lib"
done
echo 'root:x:0:0:root:/:/forklore' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
P=(podman --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs --cgroup-manager cgroupfs)
IMAGE_ID=$(tar -C "$R" -c . | "${P[@]}" import -q - "$IMAGE" 2>"$WORK/import.err") ||
	die "podman import failed: $(tail -n 1 "$WORK/import.err")"

# Create a container from the arguments, start it attached, remove it by id.
# stdout is the container's stdout.
run_in() {
	local cid rc
	cid=$("${P[@]}" create "${RUN[@]}" "$@" 2>"$WORK/create.err") || {
		echo "podman create: $(tail -n 1 "$WORK/create.err")" >&2; return 125; }
	CIDS+=("$cid")
	"${P[@]}" start -a "$cid"
	rc=$?
	"${P[@]}" rm -f "$cid" >/dev/null 2>&1 && CIDS=("${CIDS[@]/$cid/}")
	return $rc
}

# 3. A runtime and rlimits this host accepts: smoke-run `forklore --version`.
nofile="$(ulimit -Sn):$(ulimit -Hn)"
hard_u=$(ulimit -Hu)
[ "$hard_u" = unlimited ] && hard_u=4194304
RUNTIME=
smoke_err=
for rt in crun runc; do
	command -v "$rt" >/dev/null || continue
	for nproc in "$hard_u" 65536 32768 16384 4096; do
		[ "$nproc" -le "$hard_u" ] || continue
		RUN=(--runtime "$rt" --network=none --ulimit "nofile=$nofile" --ulimit "nproc=$nproc:$nproc" "$IMAGE_ID")
		if run_in /forklore --version >"$WORK/smoke.out" 2>"$WORK/smoke.err"; then RUNTIME=$rt; break 2; fi
		smoke_err="$rt: $(grep -v '^$' "$WORK/smoke.err" | tail -n 1)"
		grep -qi rlimit "$WORK/smoke.err" || break # not an rlimit problem: next runtime
	done
done
[ -n "$RUNTIME" ] || die "no runtime could start the container (last error: $smoke_err)"
echo "container-seccomp.sh: $("${P[@]}" --version), runtime $RUNTIME ($("$RUNTIME" --version | head -n 1)), rlimits nofile=$nofile nproc=$nproc:$nproc; $(cat "$WORK/smoke.out"); host $(uname -r)"

# 4. The host's simulated context, for comparison.
"$BIN" check --quick --contexts seccomp-clone3-enosys --format json >"$WORK/host-seccomp-clone3-enosys.json" 2>/dev/null
SIM_ENOSYS=$(jq '[.cases[] | select(.expected.syscall == "clone3" and .observed.errno == "ENOSYS")] | length' \
	"$WORK/host-seccomp-clone3-enosys.json" 2>/dev/null)
echo "host, simulated seccomp-clone3-enosys context: $(jq -r '.summary | "pass \(.pass)  fail \(.fail)  skip \(.skip)  env \(.env)  broken \(.broken)"' \
	"$WORK/host-seccomp-clone3-enosys.json" 2>/dev/null); clone3 ENOSYS in ${SIM_ENOSYS:-?} cases"

# 5. The quick suite under each profile.
status=0
for prof in "${PROFILES[@]}"; do
	SEC=()
	case $prof in
	podman)
		desc="podman default ($(dpkg-query -W -f='containers-common ${Version}' golang-github-containers-common 2>/dev/null), $("${P[@]}" info -f '{{.Host.Security.SECCOMPProfilePath}}' 2>/dev/null))"
		;;
	docker)
		deb_dir=$WORK/docker-src
		mkdir -p "$deb_dir" && (cd "$deb_dir" && apt-get download -qq golang-github-docker-docker-dev >/dev/null 2>&1) ||
			die "apt-get download golang-github-docker-docker-dev failed"
		dpkg-deb -x "$deb_dir"/golang-github-docker-docker-dev_*.deb "$deb_dir/x" || die "dpkg-deb -x failed"
		prof_file=$deb_dir/x/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
		[ -f "$prof_file" ] || die "no profiles/seccomp/default.json in golang-github-docker-docker-dev"
		SEC=(--security-opt "seccomp=$prof_file")
		desc="docker default (moby profiles/seccomp/default.json from golang-github-docker-docker-dev $(dpkg-deb -f "$deb_dir"/golang-github-docker-docker-dev_*.deb Version))"
		;;
	esac
	RUN=(--runtime "$RUNTIME" --network=none --ulimit "nofile=$nofile" --ulimit "nproc=$nproc:$nproc" "${SEC[@]}" "$IMAGE_ID")
	J=$WORK/$prof.json
	run_in /forklore check --quick --contexts "$CONTEXTS" --format json >"$J" 2>"$WORK/$prof.err"
	rc=$?
	echo
	echo "== $desc"
	echo "   forklore check --quick --contexts $CONTEXTS: exit $rc"
	if ! jq -e .summary "$J" >/dev/null 2>&1; then
		echo "   (no JSON report: $(grep -v '^$' "$WORK/$prof.err" | tail -n 1))"
		status=1
		continue
	fi
	jq -r '"   \(.summary.total) cases: pass \(.summary.pass)  fail \(.summary.fail)  skip \(.summary.skip)  env \(.summary.env)  broken \(.summary.broken)",
		"   contexts: " + ([.contexts[] | "\(.name) \(.status)" + (if .detected then " (seccomp_filter \(.detected.seccomp_filter), caps \(.detected.caps))" else "" end)] | join("; "))' "$J"
	echo "   divergences ($(jq '.divergences | length' "$J")):"
	jq -r '.divergences[] | "     \(.count) × \(.key)  [\(.contexts | join(","))]  e.g. \(.repro // .first)"' "$J"
	echo "   clone3 outcomes observed (all contexts):"
	jq -r '[.cases[] | select(.expected.syscall == "clone3") | "\(.verdict) \(.observed.errno // .observed.outcome // "not run")"]
		| group_by(.) | map("     \(length) × \(.[0])") | .[]' "$J"
	echo "   not pass, by reason:"
	jq -r '[.cases[] | select(.verdict != "pass") | "\(.verdict) \(.context): \((.reason // "") | sub("^observed [A-Z0-9]+: "; "observed ...: ") | .[0:110])"]
		| group_by(.) | map({n: length, r: .[0]}) | sort_by(-.n) | .[] | "     \(.n) × \(.r)"' "$J"
	jq -e '.summary.fail == 0 and .summary.broken == 0' "$J" >/dev/null || status=1

	# The simulated context's 163 cases (ids ctx/...), run here in the
	# drop-cap-sys_admin context: the same cases with only the real filter
	# in the way (the container has no CAP_SYS_ADMIN to drop).
	C=$WORK/$prof-ctx.json
	run_in /forklore check --quick --contexts drop-cap-sys_admin --format json >"$C" 2>/dev/null
	echo "   the simulated context's cases, host seccomp-clone3-enosys -> this profile (verdict/observed):"
	join -t "$(printf '\t')" \
		<(jq -r '.cases[] | [(.id | sub("/seccomp-clone3-enosys$"; "")), .verdict, (.observed.errno // .observed.outcome // "-")] | @tsv' \
			"$WORK/host-seccomp-clone3-enosys.json" 2>/dev/null | sort) \
		<(jq -r '.cases[] | [(.id | sub("/drop-cap-sys_admin$"; "")), .verdict, (.observed.errno // .observed.outcome // "-")] | @tsv' \
			"$C" 2>/dev/null | sort) |
		awk -F'\t' '{ print $2 "/" $3 " -> " $4 "/" $5 }' | sort | uniq -c | sed 's/^/  /'
done

if [ -n "$OUT" ]; then
	mkdir -p "$OUT" && cp "$WORK"/*.json "$OUT"/ && echo "container-seccomp.sh: reports in $OUT"
fi
exit $status
