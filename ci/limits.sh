#!/usr/bin/env bash
# Run `forklore check --quick` under resource limits and check that the
# suite never blames the kernel for its own shortage.
#
# Usage (as root): ci/limits.sh [path/to/forklore]   (RUNS=10 by default)
#
# Modes, RUNS runs each of `check --quick --format json --output F`:
#   fd16        ulimit -n 16
#   nproc-user  the runner is uid 65534 with ulimit -u 5 (RLIMIT_NPROC)
#   nproc-root  the runner is root with RLIMIT_NPROC 5 (its "user" context drops uid and inherits it)
#   pids10      a pids cgroup with pids.max 10
#   mem64m      a memory cgroup with a 64 MiB limit (ulimit -v 262144 if there is no memory controller)
# Every run happens inside a pids cgroup made by this script, so a process
# left behind is seen exactly (cgroup.procs must be empty afterwards), and
# with TMPDIR in a directory of its own (must be empty afterwards).
#
# A run passes when: the report parses; no verdict is `fail`; every non-pass
# case has a non-empty reason (`broken` is allowed only with one: the suite
# could not run the case and says why); the exit code is 0 without broken
# cases and 3 with some; nothing is left behind. Needs bash, jq, util-linux
# (setpriv, prlimit); creates and removes its cgroups (also on failure).
set -u
BIN=$(readlink -f "${1:-./target/release/forklore}")
RUNS=${RUNS:-10}
[ "$(id -u)" = 0 ] || { echo "limits.sh: run as root" >&2; exit 2; }
[ -x "$BIN" ] || { echo "limits.sh: no binary at $BIN" >&2; exit 2; }
command -v jq >/dev/null || { echo "limits.sh: needs jq (apt-get install jq)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/forklore-limits.XXXXXX)
# The host kernel's known divergences (ci/host-baseline.json) are xfail, not
# fail: this script is about the suite's own shortages. A copy every runner
# (uid 65534 included) can read.
EXPECT=()
HOST_BASELINE=$(dirname "$(readlink -f "$0")")/host-baseline.json
if [ -f "$HOST_BASELINE" ]; then
	chmod 755 "$WORK"
	install -m 0644 "$HOST_BASELINE" "$WORK/host-baseline.json"
	EXPECT=(--expect "$WORK/host-baseline.json")
fi
chmod 1777 "$WORK"
CGS=()
cleanup() {
	local cg pid
	for cg in "${CGS[@]}"; do
		[ -d "$cg" ] || continue
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		sleep 0.2
		rmdir "$cg" 2>/dev/null || echo "limits.sh: could not remove $cg" >&2
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A cgroup of controller $1 (v1 hierarchy, else cgroup2 with the controller enabled).
make_cg() {
	local ctrl=$1 name=$2 dir=""
	if [ -d "/sys/fs/cgroup/$ctrl" ] && [ -f "/sys/fs/cgroup/$ctrl/cgroup.procs" ]; then
		dir=/sys/fs/cgroup/$ctrl/$name
	else
		local v2
		v2=$(awk '$3=="cgroup2"{print $2; exit}' /proc/mounts)
		[ -n "$v2" ] && grep -qw "$ctrl" "$v2/cgroup.controllers" 2>/dev/null || return 1
		echo "+$ctrl" >"$v2/cgroup.subtree_control" 2>/dev/null
		dir=$v2/$name
	fi
	mkdir "$dir" || return 1
	CGS+=("$dir")
	CG=$dir
}

CG=""
make_cg pids "forklore-limits-track-$$" || { echo "limits.sh: no pids cgroup controller" >&2; exit 2; }
TRACK=$CG
make_cg pids "forklore-limits-pids10-$$" && PIDS10=$CG && echo 10 >"$PIDS10/pids.max"
MEM=""
make_cg memory "forklore-limits-mem-$$" && MEM=$CG
if [ -n "$MEM" ]; then
	if [ -f "$MEM/memory.max" ]; then echo 64M >"$MEM/memory.max"; else
		echo 64M >"$MEM/memory.limit_in_bytes"; fi
fi
TMP_BEFORE=$(find /tmp -maxdepth 1 -name '.tmp*' | wc -l)

fail=0
printf '%-11s %4s %5s %5s %5s %5s %6s %6s  %s\n' mode runs fail broken env skip no-why exit "leftovers / violations"
for mode in fd16 nproc-user nproc-root pids10 mem64m; do
	cg=$TRACK
	case $mode in
	fd16) pre='ulimit -n 16;' wrap=() ;;
	nproc-user) pre='ulimit -u 5;' wrap=(setpriv --reuid=65534 --regid=65534 --clear-groups) ;;
	nproc-root) pre='' wrap=(prlimit --nproc=5) ;;
	pids10) pre='' wrap=(); cg=$PIDS10 ;;
	mem64m) wrap=(); if [ -n "$MEM" ]; then pre='' cg=$MEM; else pre='ulimit -v 262144;'; fi ;;
	esac
	[ -n "$cg" ] || { echo "limits.sh: $mode: no cgroup" >&2; fail=1; continue; }
	nf=0 nb=0 ne=0 ns=0 nowhy=0 codes="" bad=""
	for i in $(seq 1 "$RUNS"); do
		out=$WORK/$mode-$i.json tmpd=$WORK/tmp-$mode-$i
		mkdir -m 1777 "$tmpd"
		# shellcheck disable=SC2016
		bash -c 'c=$1 t=$2 b=$3 o=$4; shift 4; echo $$ >"$c/cgroup.procs"; '"$pre"' TMPDIR="$t" exec "$@" "$b" check --quick --format json --output "$o" '"${EXPECT[*]}"' >/dev/null' \
			_ "$cg" "$tmpd" "$BIN" "$out" "${wrap[@]}" 2>"$out.err"
		rc=$?
		codes="$codes $rc"
		sleep 0.1
		left=$(wc -l <"$cg/cgroup.procs")
		[ "$left" = 0 ] || bad="$bad run$i:$left-procs-left"
		[ -z "$(ls -A "$tmpd")" ] || bad="$bad run$i:tempfiles-left"
		if ! jq -e . "$out" >/dev/null 2>&1; then bad="$bad run$i:no-report(rc=$rc)"; continue; fi
		read -r f b e s w < <(jq -r '[([.cases[]|select(.verdict=="fail")]|length),
			([.cases[]|select(.verdict=="broken")]|length),
			([.cases[]|select(.verdict=="env")]|length),
			([.cases[]|select(.verdict=="skip")]|length),
			([.cases[]|select(.verdict!="pass" and ((.reason//"")|length)==0)]|length)]|@tsv' "$out")
		nf=$((nf + f)) nb=$((nb + b)) ne=$((ne + e)) ns=$((ns + s)) nowhy=$((nowhy + w))
		want=0; [ "$b" -gt 0 ] && want=3
		[ "$rc" = "$want" ] || bad="$bad run$i:exit-$rc-want-$want"
	done
	[ "$nf" = 0 ] || bad="$bad fail"
	[ "$nowhy" = 0 ] || bad="$bad reasonless"
	[ -z "$bad" ] || fail=1
	printf '%-11s %4s %5s %5s %5s %5s %6s %6s  %s\n' "$mode" "$RUNS" "$nf" "$nb" "$ne" "$ns" "$nowhy" \
		"$(echo "$codes" | tr ' ' '\n' | grep . | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')" "${bad:-ok}"
done
TMP_AFTER=$(find /tmp -maxdepth 1 -name '.tmp*' | wc -l)
echo "/tmp/.tmp* entries: $TMP_BEFORE before, $TMP_AFTER after (other users of /tmp may change this)"
echo "verdict counts are totals over $RUNS runs; reports kept in nothing (the work dir is removed)"
exit $fail
