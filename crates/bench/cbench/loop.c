/* Plain C reference loops for forklore bench.
 *
 * The same operations forklore times, written the way a C programmer would:
 * libc wrappers where libc has one (syscall(SYS_fork), vfork(), execve(),
 * posix_spawn(), waitpid()), a raw trampoline where it has none (clone3,
 * clone with a child stack). Each operation is timed with
 * clock_gettime(CLOCK_MONOTONIC) into a fixed buffer of 4096 samples, which
 * is written to stdout (native-endian uint64 nanoseconds) whenever it is
 * full and at the end: the reader computes the statistics, as forklore
 * does with its own timing process. fork copies the caller's memory, so
 * the loop keeps no per-iteration array. At the end one line goes to
 * stderr:
 *
 *   footprint RSS_ANON_KIB MAPPINGS
 *
 * Usage: loop METHOD ITERATIONS WARMUP CPU|-1 EXEC_TARGET
 * Build:  gcc -static -O2 -o loop loop.c   (examples/c_baseline.rs does
 * this: static, like forklore's timing process, so both have the fewest
 * mappings fork can copy and no PLT. Built dynamically, use -Wl,-z,now:
 * with lazy binding each fork-exec child would resolve execve through the
 * PLT itself, ~25 us more per operation here)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

struct child_exec {
    const char *path;
    char *const *argv;
    char *const *envp;
};

static char *empty_env[] = {NULL};
static char *argv_buf[2];
static struct child_exec exec_args;
static const struct child_exec *child_arg; /* NULL: the child just exits */
static void *stack_base;
static const size_t stack_len = 64 * 1024;
static volatile uint32_t tid_word;
static int pidfd_slot;

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs in the child: execve (optional) then SYS_exit, raw syscalls only. */
__attribute__((used, noreturn)) void forklore_child_main(const struct child_exec *e)
{
    long code = 0;
    if (e) {
        long r;
        __asm__ volatile("syscall" : "=a"(r)
                         : "0"((long)SYS_execve), "D"(e->path), "S"(e->argv), "d"(e->envp)
                         : "rcx", "r11", "memory");
        code = 127;
    }
    for (;;)
        __asm__ volatile("syscall" : : "a"((long)SYS_exit), "D"(code) : "rcx", "r11", "memory");
}

/* clone/clone3 whose child never returns into C frames (no libc wrapper
 * exists for a child on its own stack). */
static inline long spawn_raw(long nr, long a1, long a2, long a3, long a4, long a5,
                             const struct child_exec *arg)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r12 __asm__("r12") = (long)arg;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "and $-16, %%rsp\n\t"
                     "mov %%r12, %%rdi\n\t"
                     "call forklore_child_main\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r12)
                     : "rcx", "r11", "memory");
    return ret;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void reap(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, __WALL) != pid)
        die("waitpid");
    if (status != 0) {
        fprintf(stderr, "child status %#x\n", status);
        exit(1);
    }
}

static void join_thread(void)
{
    uint32_t v;
    while ((v = tid_word) != 0)
        syscall(SYS_futex, &tid_word, FUTEX_WAIT, v, NULL, NULL, 0);
}

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
                      CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

static long do_clone3(uint64_t flags, int own_stack)
{
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.exit_signal = (flags & CLONE_THREAD) ? 0 : SIGCHLD;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd_slot;
    a.child_tid = a.parent_tid = (uint64_t)(uintptr_t)&tid_word;
    if (own_stack) {
        a.stack = (uint64_t)(uintptr_t)stack_base;
        a.stack_size = stack_len;
    }
    return spawn_raw(SYS_clone3, (long)&a, sizeof a, 0, 0, 0, child_arg);
}

enum method { M_GETPID, M_FORK, M_FORK_RETURN, M_FORK_LIBC, M_VFORK_LIBC, M_VFORK, M_CLONE3, M_CLONE3_VFORK, M_CLONE3_PIDFD, M_THREAD, M_THREAD3, M_POSIX_SPAWN, M_POSIX_SPAWN_TRUE, M_FORK_EXEC, M_FORK_EXEC_TRUE, M_VFORK_EXEC, M_VFORK_EXEC_TRUE, M_COUNT };
static const char *const method_names[M_COUNT] = {"getpid", "fork", "fork-return", "fork-libc", "vfork-libc", "vfork", "clone3", "clone3-vfork", "clone3-pidfd", "thread", "thread3", "posix-spawn", "posix-spawn-true", "fork-exec", "fork-exec-true", "vfork-exec", "vfork-exec-true"};

/* One operation; returns the end timestamp (fork-return stops the clock
 * before the reap). */
static uint64_t op(enum method m)
{
    pid_t pid;
    switch (m) {
    case M_GETPID: {
        long r; /* raw, like forklore: glibc's syscall() adds a call and errno check */
        __asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getpid) : "rcx", "r11", "memory");
        break;
    }
    case M_FORK:
    case M_FORK_RETURN: {
        pid = syscall(SYS_fork);
        if (pid == 0)
            syscall(SYS_exit, 0);
        if (pid < 0)
            die("fork");
        uint64_t t = now_ns();
        reap(pid);
        return m == M_FORK_RETURN ? t : now_ns();
    }
    case M_FORK_LIBC:
        pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            die("fork");
        reap(pid);
        break;
    case M_VFORK: {
        /* As forklore defines vfork: clone(VM|VFORK) with the child on its own stack. */
        long r = spawn_raw(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, (long)stack_base + stack_len,
                           0, 0, 0, NULL);
        if (r < 0)
            die("clone");
        reap(r);
        break;
    }
    case M_VFORK_LIBC:
        pid = vfork();
        if (pid == 0)
            syscall(SYS_exit, 0);
        if (pid < 0)
            die("vfork");
        reap(pid);
        break;
    case M_CLONE3:
    case M_CLONE3_VFORK:
    case M_CLONE3_PIDFD: {
        uint64_t flags = m == M_CLONE3 ? 0 : m == M_CLONE3_VFORK ? CLONE_VM | CLONE_VFORK : CLONE_PIDFD;
        long r = do_clone3(flags, flags & CLONE_VM);
        if (r < 0)
            die("clone3");
        if (flags & CLONE_PIDFD) {
            siginfo_t si;
            if (syscall(SYS_waitid, P_PIDFD, pidfd_slot, &si, WEXITED | __WALL, NULL) != 0)
                die("waitid");
            close(pidfd_slot);
        } else {
            reap(r);
        }
        break;
    }
    case M_THREAD:
    case M_THREAD3: {
        tid_word = ~0u;
        long r = m == M_THREAD3 ? do_clone3(THREAD_FLAGS, 1)
                                : spawn_raw(SYS_clone, THREAD_FLAGS, (long)stack_base + stack_len,
                                            (long)&tid_word, (long)&tid_word, 0, NULL);
        if (r < 0)
            die("clone");
        join_thread();
        break;
    }
    case M_POSIX_SPAWN:
    case M_POSIX_SPAWN_TRUE: {
        int e = posix_spawn(&pid, exec_args.path, NULL, NULL, exec_args.argv, empty_env);
        if (e)
            die("posix_spawn");
        reap(pid);
        break;
    }
    case M_FORK_EXEC:
    case M_FORK_EXEC_TRUE:
        pid = syscall(SYS_fork);
        if (pid == 0) {
            execve(exec_args.path, exec_args.argv, empty_env);
            syscall(SYS_exit, 127);
        }
        if (pid < 0)
            die("fork");
        reap(pid);
        break;
    case M_VFORK_EXEC:
    case M_VFORK_EXEC_TRUE:
        pid = vfork();
        if (pid == 0) {
            execve(exec_args.path, exec_args.argv, empty_env);
            syscall(SYS_exit, 127);
        }
        if (pid < 0)
            die("vfork");
        reap(pid);
        break;
    default:
        exit(2);
    }
    return now_ns();
}

#define BATCH 4096

/* Lives on main's stack, like the timing process's buffer. */
struct batch {
    long filled;
    uint64_t v[BATCH];
};

static void flush(struct batch *b)
{
    const char *p = (const char *)b->v;
    size_t left = b->filled * sizeof b->v[0];
    while (left) {
        ssize_t w = write(1, p, left);
        if (w <= 0)
            die("write");
        p += w;
        left -= w;
    }
    b->filled = 0;
}

static inline void record(struct batch *b, uint64_t v)
{
    b->v[b->filled++] = v;
    if (b->filled == BATCH)
        flush(b);
}

/* RssAnon (KiB) and mapping count, read with raw read(2) so no stdio
 * buffer joins the process before it is measured. */
static void footprint(long *anon, long *maps)
{
    char buf[4096];
    *anon = -1;
    *maps = 0;
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n > 0) {
        buf[n] = 0;
        char *p = strstr(buf, "RssAnon:");
        if (p)
            *anon = atol(p + 8);
    }
    fd = open("/proc/self/maps", O_RDONLY);
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            *maps += buf[i] == '\n';
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s METHOD ITERATIONS WARMUP CPU|-1 EXEC_TARGET\n", argv[0]);
        return 2;
    }
    enum method m = M_COUNT;
    for (int i = 0; i < M_COUNT; i++)
        if (!strcmp(argv[1], method_names[i]))
            m = i;
    if (m == M_COUNT) {
        fprintf(stderr, "unknown method %s\n", argv[1]);
        return 2;
    }
    long n = atol(argv[2]), warm = atol(argv[3]), cpu = atol(argv[4]);
    if (n <= 0)
        return 2;
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set))
            die("sched_setaffinity");
    }
    const char *target = strstr(argv[1], "-true") ? "/bin/true" : argv[5];
    argv_buf[0] = (char *)target;
    exec_args = (struct child_exec){target, argv_buf, empty_env};
    /* A child stack only for the methods whose child shares our memory. */
    if (m == M_VFORK || m == M_CLONE3_VFORK || m == M_THREAD || m == M_THREAD3) {
        stack_base = mmap(NULL, stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack_base == MAP_FAILED)
            die("mmap");
    }
    /* Raw-trampoline children exec the target for the exec methods only;
     * thread/clone3 children just exit. */
    child_arg = NULL;

    struct batch b;
    b.filled = 0;
    for (long i = 0; i < warm; i++)
        op(m);
    if (m == M_GETPID) {
        /* Dedicated loop: the generic one's switch would cost more than getpid. */
        for (long i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            long r;
            __asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getpid) : "rcx", "r11", "memory");
            record(&b, now_ns() - t0);
        }
    } else {
        for (long i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            record(&b, op(m) - t0);
        }
    }
    flush(&b);
    long anon, maps;
    footprint(&anon, &maps);
    fprintf(stderr, "footprint %ld %ld\n", anon, maps);
    return 0;
}
