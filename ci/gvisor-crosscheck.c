/* gvisor-crosscheck: the same raw syscalls as a list of forklore cases,
 * made by a plain C program, so that what forklore observes in a sandbox
 * (gVisor, a seccomp profile) can be checked against an independent
 * program run in the same sandbox.
 *
 * x86_64 Linux only; build: gcc -O2 -o gvisor-crosscheck gvisor-crosscheck.c
 * Run as root (the namespace cases need it). Output, one line per case:
 *
 *   ID <TAB> OUTCOME <TAB> FORKLORE
 *
 * OUTCOME is `ok` (the call succeeded) or the errno's name (`EINVAL`).
 * FORKLORE says which forklore observation is the same call:
 *   probe ARGS...          `forklore probe ARGS --json`: observed.outcome/errno
 *   scenario ID KEY        `forklore probe --scenario ID --json`: observed[KEY]
 *
 * Every syscall is made with syscall(2) or inline asm, never through a
 * libc wrapper that could change it (glibc's clone/fork/wait wrappers do).
 * Children created by clone/clone3 run no C code: the inline-asm block
 * below makes the child call SYS_exit(0) right after the syscall returns 0
 * in it, so a child sharing our memory (CLONE_VM) never touches our stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __x86_64__
#error "x86_64 only (the clone trampoline is x86_64 asm)"
#endif

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Clone flags: the UAPI values, spelled out (no libc headers). */
#define F_CSIGNAL 0x000000ffULL
#define F_VM 0x00000100ULL
#define F_FS 0x00000200ULL
#define F_FILES 0x00000400ULL
#define F_SIGHAND 0x00000800ULL
#define F_PIDFD 0x00001000ULL
#define F_PTRACE 0x00002000ULL
#define F_VFORK 0x00004000ULL
#define F_PARENT 0x00008000ULL
#define F_THREAD 0x00010000ULL
#define F_NEWNS 0x00020000ULL
#define F_SYSVSEM 0x00040000ULL
#define F_SETTLS 0x00080000ULL
#define F_PARENT_SETTID 0x00100000ULL
#define F_CHILD_CLEARTID 0x00200000ULL
#define F_DETACHED 0x00400000ULL
#define F_UNTRACED 0x00800000ULL
#define F_CHILD_SETTID 0x01000000ULL
#define F_NEWCGROUP 0x02000000ULL
#define F_NEWUTS 0x04000000ULL
#define F_NEWIPC 0x08000000ULL
#define F_NEWUSER 0x10000000ULL
#define F_NEWPID 0x20000000ULL
#define F_NEWNET 0x40000000ULL
#define F_IO 0x80000000ULL
#define F_CLEAR_SIGHAND 0x100000000ULL
#define F_INTO_CGROUP 0x200000000ULL
#define TH (F_THREAD | F_SIGHAND | F_VM)

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int ptid_word, ctid_word;

/* syscall(nr, a1, a2, a3, a4, a5); in the child (return 0) SYS_exit(0)
 * at once, without touching memory. Returns the raw result (-errno). */
static long raw_spawn(long nr, uint64_t a1, uint64_t a2, uint64_t a3,
                      uint64_t a4, uint64_t a5)
{
    long ret;
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

static const char *outcome(long ret)
{
    if (ret >= 0)
        return "ok";
    const char *n = strerrorname_np((int)-ret);
    static char buf[32];
    if (n)
        return n;
    snprintf(buf, sizeof buf, "errno%ld", -ret);
    return buf;
}

static long sys_ret(long r)
{
    return r < 0 ? -errno : r;
}

/* Reap a child we created (any exit signal), unless it is a thread. */
static void reap(long pid, uint64_t flags)
{
    if (pid <= 0 || (flags & (F_THREAD | F_PARENT)))
        return;
    int st;
    syscall(SYS_wait4, pid, &st, __WALL, NULL);
}

static void settle_threads(void)
{
    /* A CLONE_THREAD child exits on its own within microseconds. */
    usleep(2000);
}

/* ---------------------------------------------------------------- clone */

struct ccase {
    const char *id;
    int is_clone3;
    uint64_t flags;       /* clone: without the exit signal */
    uint64_t exit_signal; /* clone: the low byte */
    const char *probe;    /* forklore probe arguments */
};

static const struct ccase clone_cases[] = {
    {"clone-sigchld", 0, 0, SIGCHLD, "--syscall clone --flags SIGCHLD"},
    {"clone-0", 0, 0, 0, "--syscall clone --flags 0"},
    {"clone-vm-vfork", 0, F_VM | F_VFORK, SIGCHLD, "--syscall clone --flags VM|VFORK|SIGCHLD"},
    {"clone-vfork", 0, F_VFORK, SIGCHLD, "--syscall clone --flags VFORK|SIGCHLD"},
    {"clone-thread-alone", 0, F_THREAD, 0, "--syscall clone --flags THREAD"},
    {"clone-sighand-alone", 0, F_SIGHAND, 0, "--syscall clone --flags SIGHAND"},
    {"clone-thread-sighand", 0, F_THREAD | F_SIGHAND, 0, "--syscall clone --flags THREAD|SIGHAND"},
    {"clone-thread", 0, TH, 0, "--syscall clone --flags THREAD|SIGHAND|VM"},
    {"clone-thread-sigchld", 0, TH, SIGCHLD, "--syscall clone --flags THREAD|SIGHAND|VM|SIGCHLD"},
    {"clone-newns-fs", 0, F_NEWNS | F_FS, SIGCHLD, "--syscall clone --flags NEWNS|FS|SIGCHLD"},
    {"clone-newuser-fs", 0, F_NEWUSER | F_FS, SIGCHLD, "--syscall clone --flags NEWUSER|FS|SIGCHLD"},
    {"clone-newpid-thread", 0, F_NEWPID | TH, 0, "--syscall clone --flags NEWPID|THREAD|SIGHAND|VM"},
    {"clone-newuser-thread", 0, F_NEWUSER | TH, 0, "--syscall clone --flags NEWUSER|THREAD|SIGHAND|VM"},
    {"clone-pidfd", 0, F_PIDFD, SIGCHLD, "--syscall clone --flags PIDFD|SIGCHLD"},
    {"clone-pidfd-thread", 0, F_PIDFD | TH, 0, "--syscall clone --flags PIDFD|THREAD|SIGHAND|VM"},
    {"clone-pidfd-detached", 0, F_PIDFD | F_DETACHED, SIGCHLD, "--syscall clone --flags PIDFD|DETACHED|SIGCHLD"},
    {"clone-pidfd-parent-settid", 0, F_PIDFD | F_PARENT_SETTID, SIGCHLD, "--syscall clone --flags PIDFD|PARENT_SETTID|SIGCHLD"},
    {"clone-newpid", 0, F_NEWPID, SIGCHLD, "--syscall clone --flags NEWPID|SIGCHLD"},
    {"clone-newuser", 0, F_NEWUSER, SIGCHLD, "--syscall clone --flags NEWUSER|SIGCHLD"},
    {"clone-newnet", 0, F_NEWNET, SIGCHLD, "--syscall clone --flags NEWNET|SIGCHLD"},
    {"clone-newuts", 0, F_NEWUTS, SIGCHLD, "--syscall clone --flags NEWUTS|SIGCHLD"},
    {"clone-newipc", 0, F_NEWIPC, SIGCHLD, "--syscall clone --flags NEWIPC|SIGCHLD"},
    {"clone-newns", 0, F_NEWNS, SIGCHLD, "--syscall clone --flags NEWNS|SIGCHLD"},
    {"clone-newcgroup", 0, F_NEWCGROUP, SIGCHLD, "--syscall clone --flags NEWCGROUP|SIGCHLD"},
    {"clone-newuser-newpid", 0, F_NEWUSER | F_NEWPID, SIGCHLD, "--syscall clone --flags NEWUSER|NEWPID|SIGCHLD"},
    {"clone-io", 0, F_IO, SIGCHLD, "--syscall clone --flags IO|SIGCHLD"},
    {"clone-sysvsem", 0, F_SYSVSEM, SIGCHLD, "--syscall clone --flags SYSVSEM|SIGCHLD"},
    {"clone-untraced", 0, F_UNTRACED, SIGCHLD, "--syscall clone --flags UNTRACED|SIGCHLD"},
    {"clone-ptrace", 0, F_PTRACE, SIGCHLD, "--syscall clone --flags PTRACE|SIGCHLD"},
    {"clone-detached", 0, F_DETACHED, SIGCHLD, "--syscall clone --flags DETACHED|SIGCHLD"},
    {"clone-files-fs", 0, F_FILES | F_FS, SIGCHLD, "--syscall clone --flags FILES|FS|SIGCHLD"},
    {"clone-settid-cleartid", 0, F_PARENT_SETTID | F_CHILD_SETTID | F_CHILD_CLEARTID, SIGCHLD,
     "--syscall clone --flags PARENT_SETTID|CHILD_SETTID|CHILD_CLEARTID|SIGCHLD"},
    {"clone-vm-alone", 0, F_VM, SIGCHLD, "--syscall clone --flags VM|SIGCHLD"},
    {"clone-exit-signal-64", 0, 0, 64, "--syscall clone --flags 0 --exit-signal 64"},
    {"clone3-sigchld", 1, 0, SIGCHLD, "--syscall clone3 --flags 0"},
    {"clone3-thread", 1, TH, 0, "--syscall clone3 --flags THREAD|SIGHAND|VM"},
    {"clone3-vm-vfork", 1, F_VM | F_VFORK, SIGCHLD, "--syscall clone3 --flags VM|VFORK"},
    {"clone3-pidfd", 1, F_PIDFD, SIGCHLD, "--syscall clone3 --flags PIDFD"},
    {"clone3-thread-alone", 1, F_THREAD, 0, "--syscall clone3 --flags THREAD"},
    {"clone3-clear-sighand-sighand", 1, F_CLEAR_SIGHAND | F_SIGHAND | F_VM, SIGCHLD,
     "--syscall clone3 --flags CLEAR_SIGHAND|SIGHAND|VM"},
    {"clone3-newpid", 1, F_NEWPID, SIGCHLD, "--syscall clone3 --flags NEWPID"},
    {"clone3-exit-signal-65", 1, 0, 65, "--syscall clone3 --flags 0 --exit-signal 65"},
    {"clone3-unknown-bit-40", 1, 1ULL << 40, SIGCHLD, "--syscall clone3 --flags 0x10000000000"},
};

static void run_clone_case(const struct ccase *c)
{
    long r;
    uint64_t flags = c->flags;
    if (!c->is_clone3) {
        int pidfd = -1;
        uint64_t ptid = (flags & F_PIDFD) ? (uint64_t)&pidfd : (uint64_t)&ptid_word;
        r = raw_spawn(SYS_clone, flags | (c->exit_signal & F_CSIGNAL), 0, ptid,
                      (uint64_t)&ctid_word, 0);
        if (r > 0 && (flags & F_PIDFD) && pidfd >= 0)
            close(pidfd);
    } else {
        int pidfd = -1;
        struct clone_args_v2 a;
        memset(&a, 0, sizeof a);
        a.flags = flags;
        a.exit_signal = c->exit_signal;
        a.pidfd = (uint64_t)&pidfd;
        a.parent_tid = (uint64_t)&ptid_word;
        a.child_tid = (uint64_t)&ctid_word;
        r = raw_spawn(SYS_clone3, (uint64_t)&a, sizeof a, 0, 0, 0);
        if (r > 0 && (flags & F_PIDFD) && pidfd >= 0)
            close(pidfd);
    }
    reap(r, flags);
    if (r > 0 && (flags & F_THREAD))
        settle_threads();
    printf("%s\t%s\tprobe %s\n", c->id, outcome(r), c->probe);
}

/* clone3's argument block itself. */
static void clone3_block_cases(void)
{
    static unsigned char big[8192];
    struct clone_args_v2 a;
    long r;

    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    r = raw_spawn(SYS_clone3, (uint64_t)&a, 64, 0, 0, 0);
    reap(r, 0);
    printf("clone3-size-64\t%s\tprobe --syscall clone3 --flags 0 --size 64\n", outcome(r));

    r = raw_spawn(SYS_clone3, (uint64_t)&a, 63, 0, 0, 0);
    reap(r, 0);
    printf("clone3-size-63\t%s\tprobe --syscall clone3 --flags 0 --size 63\n", outcome(r));

    r = raw_spawn(SYS_clone3, 0, sizeof a, 0, 0, 0);
    reap(r, 0);
    printf("clone3-args-null\t%s\tprobe --syscall clone3 --flags 0 --args-mem null\n", outcome(r));

    memset(big, 0, sizeof big);
    memcpy(big, &a, sizeof a);
    r = raw_spawn(SYS_clone3, (uint64_t)big, 4097, 0, 0, 0);
    reap(r, 0);
    printf("clone3-size-4097\t%s\tprobe --syscall clone3 --flags 0 --size 4097\n", outcome(r));

    big[96] = 1;
    r = raw_spawn(SYS_clone3, (uint64_t)big, 104, 0, 0, 0);
    reap(r, 0);
    printf("clone3-tail-nonzero\t%s\tprobe --syscall clone3 --flags 0 --size 104 --tail-nonzero-at 96\n",
           outcome(r));
    big[96] = 0;

    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    a.stack_size = 65536; /* a size without a stack */
    r = raw_spawn(SYS_clone3, (uint64_t)&a, sizeof a, 0, 0, 0);
    reap(r, 0);
    printf("clone3-stack-size-no-stack\t%s\tprobe --syscall clone3 --flags 0 --stack 0:65536\n",
           outcome(r));
}

/* ---------------------------------------------------------------- wait */

static long fork_exit(int code)
{
    long pid = syscall(SYS_fork);
    if (pid == 0)
        syscall(SYS_exit_group, code);
    return pid;
}

static void wait_cases(void)
{
    int st;
    siginfo_t si;
    long r;

    /* No children at all. */
    r = sys_ret(syscall(SYS_wait4, -1, &st, 0, NULL));
    printf("wait4-no-children\t%s\tscenario lifecycle/wait/echild no_children\n", outcome(r));
    r = sys_ret(syscall(SYS_wait4, getppid(), &st, 0, NULL));
    printf("wait4-not-a-child\t%s\tscenario lifecycle/wait/echild not_a_child\n", outcome(r));

    long pid = fork_exit(0);
    usleep(20000);
    syscall(SYS_wait4, pid, &st, 0, NULL);
    r = sys_ret(syscall(SYS_wait4, pid, &st, 0, NULL));
    printf("wait4-already-reaped\t%s\tscenario lifecycle/wait/echild already_reaped\n", outcome(r));

    /* Bad options and ids, with a live child present. */
    long live = syscall(SYS_fork);
    if (live == 0) {
        for (;;)
            pause();
    }
    r = sys_ret(syscall(SYS_wait4, -1, &st, 0x100, NULL));
    printf("wait4-bad-bit-0x100\t%s\tscenario lifecycle/wait/einval-options bad_bit_0x100\n", outcome(r));
    r = sys_ret(syscall(SYS_wait4, -1, &st, WNOWAIT, NULL));
    printf("wait4-wnowait\t%s\tscenario lifecycle/wait/einval-options wnowait_in_wait4\n", outcome(r));
    r = sys_ret(syscall(SYS_wait4, INT32_MIN, &st, 0x100, NULL));
    printf("wait4-int-min-bad-bit\t%s\tscenario lifecycle/wait/einval-options int_min_and_bad_bit\n",
           outcome(r));
    r = sys_ret(syscall(SYS_waitid, P_ALL, 0, &si, WNOHANG, NULL));
    printf("waitid-no-wexited\t%s\tscenario lifecycle/wait/einval-options waitid_no_wexited\n", outcome(r));
    r = sys_ret(syscall(SYS_waitid, P_PID, 0, &si, WEXITED | WNOHANG, NULL));
    printf("waitid-pid-0\t%s\tscenario lifecycle/wait/einval-options waitid_pid_0\n", outcome(r));
    r = sys_ret(syscall(SYS_waitid, 9, 0, &si, WEXITED | WNOHANG, NULL));
    printf("waitid-bad-idtype\t%s\tscenario lifecycle/wait/einval-options waitid_bad_idtype\n", outcome(r));
    r = sys_ret(syscall(SYS_wait4, INT32_MIN, &st, 0, NULL));
    printf("wait4-int-min\t%s\tscenario lifecycle/wait/esrch-int-min int_min\n", outcome(r));
    r = sys_ret(syscall(SYS_wait4, live, &st, WNOHANG, NULL));
    printf("wait4-wnohang-live\t%s\t-\n", r == 0 ? "ok(0)" : outcome(r));
    kill(live, SIGKILL);
    syscall(SYS_wait4, live, &st, 0, NULL);

    /* A bad status pointer after the child is reaped. */
    pid = fork_exit(0);
    usleep(20000);
    r = sys_ret(syscall(SYS_wait4, pid, (void *)8, 0, NULL));
    printf("wait4-efault-status\t%s\tscenario lifecycle/wait/efault-after-reap bad_status_pointer\n",
           outcome(r));
    r = sys_ret(syscall(SYS_wait4, pid, &st, WNOHANG, NULL));
    printf("wait4-after-efault\t%s\tscenario lifecycle/wait/efault-after-reap then\n", outcome(r));
    if (r == 0)
        syscall(SYS_wait4, pid, &st, 0, NULL);

    /* waitid(P_PIDFD). */
    r = sys_ret(syscall(SYS_waitid, P_PIDFD, -1, &si, WEXITED | WNOHANG, NULL));
    printf("waitid-pidfd-minus-1\t%s\t-\n", outcome(r));
    int devnull = open("/dev/null", O_RDONLY);
    r = sys_ret(syscall(SYS_waitid, P_PIDFD, devnull, &si, WEXITED | WNOHANG, NULL));
    printf("waitid-pidfd-not-a-pidfd\t%s\t-\n", outcome(r));
    close(devnull);

    /* pidfd_open. */
    r = sys_ret(syscall(SYS_pidfd_open, getpid(), 0));
    printf("pidfd-open-self\t%s\tscenario lifecycle/pidfd/open-errors self\n", outcome(r));
    if (r >= 0)
        close((int)r);
    r = sys_ret(syscall(SYS_pidfd_open, getpid(), 1));
    printf("pidfd-open-unknown-flag\t%s\tscenario lifecycle/pidfd/open-errors self_unknown_flag\n",
           outcome(r));
    pid = fork_exit(0);
    usleep(20000);
    syscall(SYS_wait4, pid, &st, 0, NULL);
    r = sys_ret(syscall(SYS_pidfd_open, pid, 0));
    printf("pidfd-open-reaped\t%s\tscenario lifecycle/pidfd/open-errors reaped_pid\n", outcome(r));
    if (r >= 0)
        close((int)r);
}

static void nothing(int sig)
{
    (void)sig;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A child's exit signal other than SIGCHLD would kill us by default:
     * catch every catchable signal but SIGCHLD with a handler that does
     * nothing (not SIG_IGN, which would change how children are reaped). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nothing;
    sa.sa_flags = SA_RESTART;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
            sigaction(s, &sa, NULL);
    for (size_t i = 0; i < sizeof clone_cases / sizeof clone_cases[0]; i++)
        run_clone_case(&clone_cases[i]);
    clone3_block_cases();
    wait_cases();
    /* Leave nothing behind: every child was reaped above; threads exited. */
    return 0;
}
