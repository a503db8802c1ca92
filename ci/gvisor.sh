#!/usr/bin/env bash
# Run forklore inside gVisor (Debian's runsc) and cross-check what it sees
# against a plain C program making the same raw syscalls in the same
# sandbox.
#
# Usage (as root, from the repository): ci/gvisor.sh [OUTDIR]
#   OUTDIR (default: a temporary directory, removed at the end) receives
#   host-crosscheck.txt, gvisor-crosscheck.txt, crosscheck.tsv,
#   gvisor-check.json, gvisor-bench.json.
#
# Steps:
#   1. apt-get install runsc, gcc and jq if missing; cargo build --release.
#   2. Inside `runsc --network=none --platform=ptrace do` (root, no network;
#      the host filesystem read-only under a tmpfs overlay, so every result
#      comes back on stdout):
#        forklore check --quick --format json   (with --expect, see below)
#        forklore bench --json --pin 0 --no-perf
#   3. ci/gvisor-crosscheck.c, built with gcc, run on the host and in the
#      sandbox; for each of its cases the matching `forklore probe` (or
#      scenario fact) is run in the same place, and the two answers are
#      compared: agree / DISAGREE / forklore skipped.
#   4. A summary. Exit 0 when forklore and the C program agree on every case
#      forklore observed in both places (and `check --expect` passed, when
#      used); 1 otherwise; 2 on a setup problem.
#
# Leaves the host as found: every runsc this script starts is waited for,
# or killed by pid on interruption; its temporary directory is removed.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/target/release/forklore
RUNSC_FLAGS=(--network=none --platform=ptrace)
[ "$(id -u)" = 0 ] || { echo "gvisor.sh: run as root" >&2; exit 2; }

WORK=$(mktemp -d /tmp/forklore-gvisor.XXXXXX)
OUT=${1:-$WORK/out}
mkdir -p "$OUT"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run "$@" inside the sandbox; stdout and stderr as given by the caller.
# runsc runs in the background so that an interruption can kill it by pid
# (runsc tears its sandbox and gofer down when it dies).
in_gvisor() {
	runsc "${RUNSC_FLAGS[@]}" do -quiet "$@" &
	local pid=$!
	PIDS+=("$pid")
	wait "$pid"
	local rc=$?
	PIDS=("${PIDS[@]/$pid/}")
	return $rc
}

# 1. Tools and build.
need=()
command -v runsc >/dev/null || need+=(runsc)
command -v gcc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
	echo "gvisor.sh: installing ${need[*]}" >&2
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		{ echo "gvisor.sh: apt-get install ${need[*]} failed" >&2; exit 2; }
fi
(cd "$REPO" && cargo build --release -q) || { echo "gvisor.sh: cargo build failed" >&2; exit 2; }
gcc -O2 -Wall -o "$WORK/crosscheck" "$REPO/ci/gvisor-crosscheck.c" || { echo "gvisor.sh: gcc failed" >&2; exit 2; }
cd "$WORK" || exit 2 # runsc do starts the command in the current directory
RUNSC_VERSION=$(runsc --version 2>/dev/null | head -1)
echo "gvisor.sh: $RUNSC_VERSION, runsc ${RUNSC_FLAGS[*]} do; host $(uname -r)"
status=0

# 2. The quick suite and the bench inside gVisor.
EXPECT=()
# --- baseline: ci/gvisor-baseline.json (known divergences become xfail) ---
# With a forklore that knows --expect and a checked-in baseline for this
# runsc version, known divergences become xfail and only a new one fails.
if "$BIN" check --help 2>/dev/null | grep -q -- --expect && [ -f "$REPO/ci/gvisor-baseline.json" ]; then
	EXPECT=(--expect "$REPO/ci/gvisor-baseline.json")
fi
# -------------------------------------------------------------------------
in_gvisor "$BIN" check --quick --format json "${EXPECT[@]}" >"$OUT/gvisor-check.json" 2>"$WORK/check.err"
check_rc=$?
echo "check --quick${EXPECT[*]:+ ${EXPECT[*]}} in gVisor: exit $check_rc"
if jq -e . "$OUT/gvisor-check.json" >/dev/null 2>&1; then
	jq -r '"  verdicts: " + ([.cases[]? | .verdict] | group_by(.) | map("\(.[0]) \(length)") | join(", "))' \
		"$OUT/gvisor-check.json" 2>/dev/null
else
	echo "  (no JSON report)"
fi
if [ ${#EXPECT[@]} -gt 0 ] && [ $check_rc -ne 0 ]; then status=1; fi

in_gvisor "$BIN" bench --json --pin 0 --no-perf >"$OUT/gvisor-bench.json" 2>"$WORK/bench.err"
bench_rc=$?
echo "bench in gVisor: exit $bench_rc"
if jq -e . "$OUT/gvisor-bench.json" >/dev/null 2>&1; then
	jq -r '.results[] | "  \(.method): p50 \(.stats.p50_ns) ns"' "$OUT/gvisor-bench.json"
	jq -r '.unavailable[]? | "  \(.method): unavailable (\(.call): \(.errno // .reason))"' "$OUT/gvisor-bench.json"
else
	echo "  (no JSON report: $(head -n 1 "$WORK/bench.err"))"
	status=1
fi

# 3. The C cross-check: the C program, then forklore on the same cases,
# on the host and in gVisor. One line per case: ID, C outcome, forklore's.
cat >"$WORK/inside.sh" <<'EOS'
#!/bin/sh
# $1 = forklore, $2 = the C program. Prints ID <TAB> C <TAB> forklore-json.
BIN=$1
"$2" > /tmp/forklore-crosscheck.$$ 2>/dev/null
prev=""
while IFS="$(printf '\t')" read -r id c how; do
	set -- $how
	kind=$1; shift
	case $kind in
	probe) j=$("$BIN" probe "$@" --json 2>/dev/null | tr -d '\n') ;;
	scenario)
		if [ "$1" != "$prev" ]; then
			sj=$("$BIN" probe --scenario "$1" --json 2>/dev/null | tr -d '\n'); prev=$1
		fi
		j="{\"fact\":\"$2\",\"scenario\":$( [ -n "$sj" ] && echo "$sj" || echo null )}" ;;
	*) j="" ;;
	esac
	printf '%s\t%s\t%s\n' "$id" "$c" "$j"
done < /tmp/forklore-crosscheck.$$
rm -f /tmp/forklore-crosscheck.$$
EOS
chmod 755 "$WORK/inside.sh"
sh "$WORK/inside.sh" "$BIN" "$WORK/crosscheck" >"$WORK/host.raw"
in_gvisor sh "$WORK/inside.sh" "$BIN" "$WORK/crosscheck" >"$WORK/gvisor.raw" 2>/dev/null

# forklore's answer as the C program spells it: ok, an errno name, skip.
# shellcheck disable=SC2016
DEFS='
def ename: {"1":"EPERM","2":"ENOENT","3":"ESRCH","7":"E2BIG","9":"EBADF","10":"ECHILD",
            "11":"EAGAIN","12":"ENOMEM","14":"EFAULT","22":"EINVAL","38":"ENOSYS"}[tostring] // "errno\(.)";
def norm: if type == "string" then (if test("^E[A-Z0-9]+$") then . else "ok" end)
          elif type == "object" and has("error") then (.error | ename)
          elif type == "object" and has("Err") then (.Err | ename)
          elif type == "object" and (has("Ok") or has("reaped")) then "ok"
          elif . == null then "skip" else tostring end;'
NORM=$DEFS'
if . == null then "skip"
elif has("fact") then (if .scenario == null or .scenario.verdict == "skip" then "skip"
                       else (.scenario.observed[.fact] | norm) end)
elif .observed == null or .observed.skipped != null then "skip"
elif .observed.outcome == "success" then "ok"
elif .observed.outcome == "error" then .observed.errno
else "skip" end'
# What the model predicts for the case (the probe's expected side).
MODEL=$DEFS'
if . == null then "-"
elif has("fact") then (if .scenario == null or .scenario.expected == null then "-"
                       else (.scenario.expected[.fact] | norm) end)
elif .expected == null then "-"
elif .expected.outcome == "success" then "ok"
else .expected.errno end'
summarise() { # $1 = raw file, $2 = label; writes ID C FORKLORE MODEL to stdout
	while IFS="$(printf '\t')" read -r id c j; do
		if [ -z "$j" ]; then f="-"; m="-"
		else
			f=$(printf '%s' "$j" | jq -r "$NORM" 2>/dev/null || echo skip)
			m=$(printf '%s' "$j" | jq -r "$MODEL" 2>/dev/null || echo -)
		fi
		printf '%s\t%s\t%s\t%s\n' "$id" "$c" "$f" "$m"
	done <"$1"
}
summarise "$WORK/host.raw" >"$OUT/host-crosscheck.txt"
summarise "$WORK/gvisor.raw" >"$OUT/gvisor-crosscheck.txt"
join -t "$(printf '\t')" <(sort "$OUT/host-crosscheck.txt") <(sort "$OUT/gvisor-crosscheck.txt") |
	awk -F'\t' 'BEGIN { OFS = "\t"; print "case", "C host", "forklore host", "C gVisor", "forklore gVisor", "model" }
		{ print $1, $2, $3, $5, $6, ($4 != "-" ? $4 : $7) }' >"$OUT/crosscheck.tsv"

# 4. Summary.
awk -F'\t' 'NR > 1 {
		n++
		if ($2 != $4) differ++
		if ($3 == "skip" || $3 == "-") hs++; else if ($2 == $3) ha++; else { hd++; bad = bad " " $1 "(host)" }
		if ($5 == "skip" || $5 == "-") gs++; else if ($4 == $5) ga++; else { gd++; bad = bad " " $1 "(gVisor)" }
		if ($6 != "-") { mk++; if ($6 == $2) ma++ }
	}
	END {
		printf "C cross-check: %d cases, %d differ between the host and gVisor\n", n, differ
		printf "  host:   forklore agrees with C on %d, disagrees on %d, did not observe %d\n", ha, hd, hs
		printf "  gVisor: forklore agrees with C on %d, disagrees on %d, did not observe %d\n", ga, gd, gs
		printf "  the model predicts the host C outcome on %d of the %d cases it has a prediction for\n", ma, mk
		if (bad != "") printf "  DISAGREE:%s\n", bad
		exit (hd + gd > 0)
	}' "$OUT/crosscheck.tsv" || status=1
echo "cases where gVisor differs from the host (C program):"
awk -F'\t' 'NR > 1 && $2 != $4 { printf "  %-30s host %-7s gVisor %-7s forklore in gVisor %s\n", $1, $2, $4, $5 }' "$OUT/crosscheck.tsv"
[ -n "${1:-}" ] && echo "gvisor.sh: results in $OUT"
exit $status
