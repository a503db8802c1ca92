# Sourced by the /init of the kernel-matrix and arm64-matrix guests (busybox
# sh): the filesystems and settings both need before forklore runs. One copy,
# so the two guests cannot drift apart.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Pseudo-terminals (the controlling-terminal scenario): opening /dev/ptmx
# looks up the devpts instance at /dev/pts (devpts_acquire), ENOENT without.
mkdir -p /dev/pts
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
chmod 1777 /tmp
mount -t tmpfs tmpfs /out
chmod 1777 /out
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# The cgroup2 root delegates the pids controller, as systemd hosts do.
echo +pids > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
# A named cgroup v1 hierarchy (no controllers), so that the CLONE_INTO_CGROUP
# "v1 directory" case runs as on hybrid hosts instead of being skipped.
mount -t tmpfs tmpfs /run
mkdir -p /run/cgroup-v1
mount -t cgroup -o none,name=forklore cgroup /run/cgroup-v1 2>/dev/null || true
# Debian kernels default to transparent hugepages "always"; most hosts (and
# the one the suite was written on) use "madvise". With "always" a 16 MiB
# buffer is faulted in 2 MiB pieces and the rusage scenario's page-fault
# count assumption does not hold. Match the usual host setting.
echo madvise > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true
