#!/usr/bin/env bash
# Runs every cross-errno ordering of model-spec §1.H and a few hundred random
# flag words through `forklore probe`, as root and as an unprivileged user,
# and checks that no process is left behind (count /proc before and after).
# Usage: ci/probe-spotcheck.sh [path/to/forklore] [random-cases-per-context]
set -uo pipefail
F=${1:-./target/release/forklore}
N=${2:-150}
[ -x "$F" ] || { echo "probe-spotcheck: $F is not an executable (cargo build --release first)" >&2; exit 2; }
count_procs() { ls -d /proc/[0-9]* 2>/dev/null | wc -l; }
before=$(count_procs)
pass=0 fail=0 skip=0 other=0
run() { # name, args...
  local name=$1; shift
  out=$("$F" probe "$@" 2>&1); rc=$?
  case $rc in
    0) pass=$((pass+1));;
    1) fail=$((fail+1)); echo "FAIL $name: forklore probe $*"; echo "$out" | sed 's/^/    /';;
    4) skip=$((skip+1)); echo "skip $name: $(echo "$out" | tail -1)";;
    *) other=$((other+1)); echo "rc=$rc $name: forklore probe $*"; echo "$out" | sed 's/^/    /';;
  esac
}
# model-spec §1.H, one line per row (the contexts the row names).
run 1.H-1  --syscall clone3 --args-mem null --size 63
run 1.H-2  --syscall clone3 --args-mem null --size 4097
run 1.H-3  --syscall clone3 --size 96 --args-mem truncated:88 --flags 0x10000000000
run 1.H-4  --flags 'NEWUTS|THREAD|SIGHAND|VM' --context user
run 1.H-5  --flags 'NEWUTS|SIGCHLD' --context nproc-1
run 1.H-6  --flags 'NEWUSER|FS|SIGCHLD' --context nproc-1
run 1.H-7  --syscall clone3 --flags INTO_CGROUP --set-tid unused --cgroup not-open --context user
run 1.H-8r --syscall clone3 --set-tid self --context root
run 1.H-8u --syscall clone3 --set-tid self --context user
run 1.H-9r --flags 'NEWIPC|SYSVSEM|SIGCHLD' --context root
run 1.H-9u --flags 'NEWIPC|SYSVSEM|SIGCHLD' --context user
run 1.H-10 --syscall clone3 --flags 'PIDFD|INTO_CGROUP' --pidfd null --cgroup not-open
run 1.H-11 --syscall clone3 --flags SETTLS --tls 0xffff800000000000 --set-tid 0
# Random flag words (low 32 bits; namespaces included), both syscalls, both contexts.
seed=12345
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); echo $seed; }
for ctx in root user; do
  for ((i = 0; i < N; i++)); do
    f=$(( $(rnd) & ~0x40000000 ))   # NEWNET teardown is slow; it has its own groups
    if (( i % 2 )); then
      run "clone-$ctx-$i" --flags "$(printf '0x%x' $(( (f & ~0xff) | 17 )))" --context "$ctx"
    else
      run "clone3-$ctx-$i" --syscall clone3 --flags "$(printf '0x%x' $(( f & ~0xff )))" --exit-signal 0 --context "$ctx"
    fi
  done
done
after=$(count_procs)
echo "probe-spotcheck: $pass pass, $fail fail, $skip skip, $other other; processes before $before, after $after"
[ "$fail" -eq 0 ] && [ "$other" -eq 0 ] && [ "$after" -le "$before" ]
