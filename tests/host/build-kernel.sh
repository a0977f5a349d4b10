#!/usr/bin/env bash
# build-kernel.sh KIND: builds a Linux 6.1 kernel from Debian's linux-source-6.1 with the cross
# compiler, small (allnoconfig plus a fragment below: a few minutes on 2 cores). KIND is
#   l1-4k     the second emulated host (L1): little-endian pseries/powernv, 4 KiB pages, KVM-HV
#             and KVM-PR built in (Debian's ppc64el kernel has 64 KiB pages and no KVM-PR);
#   guest-be  a big-endian pseries guest with 64 KiB pages: minivmm boots both byte orders.
# Prints nothing on stdout but the directory that holds: vmlinux, config, version.
# The cache directory's name carries a hash of the fragment and of the source's version: an
# unchanged script reuses it, a changed fragment (or a new linux-source-6.1) rebuilds.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kind=${1:-}
src_pkg=linux-source-6.1
tarball=/usr/src/$src_pkg.tar.xz

# Everything not named in a fragment is off (allnoconfig), except what these select or what
# Kconfig only offers with CONFIG_EXPERT (futex, epoll, block layer, ...), which stays on.
l1_4k='
# 64-bit little-endian Book3S, as a pseries guest.
CONFIG_PPC64=y
CONFIG_PPC_BOOK3S_64=y
CONFIG_CPU_LITTLE_ENDIAN=y
CONFIG_PPC_PSERIES=y
CONFIG_PPC_SPLPAR=y
# KVM_BOOK3S_64_HV depends on it (the kernel still runs as a pseries guest).
CONFIG_PPC_POWERNV=y
# QEMU boots through SLOF, which enters the kernel via prom_init (and its CAS, where
# disable_radix takes effect).
CONFIG_PPC_OF_BOOT_TRAMPOLINE=y
CONFIG_PPC_4K_PAGES=y
CONFIG_PPC_64S_HASH_MMU=y
CONFIG_PPC_RADIX_MMU=y
CONFIG_PPC_RADIX_MMU_DEFAULT=y
# Debian ppc64el user space (busybox, minivmm) is built for POWER8: it uses VMX and VSX.
CONFIG_PPC_FPU=y
CONFIG_ALTIVEC=y
CONFIG_VSX=y
CONFIG_SMP=y
CONFIG_NR_CPUS=8
CONFIG_HZ_100=y
CONFIG_HIGH_RES_TIMERS=y
# KVM, built in: both flavours and the in-kernel XICS.
CONFIG_VIRTUALIZATION=y
CONFIG_KVM_BOOK3S_64=y
CONFIG_KVM_BOOK3S_64_HV=y
CONFIG_KVM_BOOK3S_64_PR=y
CONFIG_KVM_XICS=y
# The console: the sPAPR vty as a pseries guest, the OPAL console on an emulated bare-metal
# POWER9 (powernv, the host kind where KVM-PR guests run; see l1-run.sh).
CONFIG_TTY=y
CONFIG_HVC_CONSOLE=y
CONFIG_HVC_OPAL=y
CONFIG_PRINTK=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
# What l1-init and the test cases use.
CONFIG_DEVTMPFS=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_PROC_PAGE_MONITOR=y
CONFIG_SYSFS=y
CONFIG_TMPFS=y
CONFIG_HUGETLBFS=y
CONFIG_EVENTFD=y
# minivmm sandboxes its threads (seccomp filters are BPF, which needs NET).
CONFIG_NET=y
CONFIG_SECCOMP=y
CONFIG_SECCOMP_FILTER=y
CONFIG_KALLSYMS=y
# The test network (l1-run.sh L1_HOSTFWD): a virtio NIC on the user-mode network of QEMU, through
# which a debugger on the machine running QEMU reaches the gdb stub of minivmm inside this host.
CONFIG_INET=y
CONFIG_NETDEVICES=y
CONFIG_NET_CORE=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
'

guest_be='
# 64-bit big-endian Book3S pseries guest, booted by minivmm from its device tree.
CONFIG_PPC64=y
CONFIG_PPC_BOOK3S_64=y
CONFIG_CPU_BIG_ENDIAN=y
CONFIG_PPC_PSERIES=y
CONFIG_PPC_64K_PAGES=y
CONFIG_PPC_64S_HASH_MMU=y
CONFIG_PPC_RADIX_MMU=y
CONFIG_PPC_FPU=y
CONFIG_ALTIVEC=y
CONFIG_VSX=y
CONFIG_SMP=y
CONFIG_NR_CPUS=8
CONFIG_HZ_100=y
# The console (sPAPR vty) and an initramfs holding one static program.
CONFIG_TTY=y
CONFIG_HVC_CONSOLE=y
CONFIG_PRINTK=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_BINFMT_ELF=y
CONFIG_DEVTMPFS=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
# A virtio disk behind the sPAPR PCI host bridge: a big-endian driver on little-endian rings.
CONFIG_PCI=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
# minivmm --rootfs DIR -- COMMAND: the root over virtio-9p with an overlay on tmpfs, and
# the stdio of the command on virtio console ports.
CONFIG_VIRTIO_CONSOLE=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_NET_9P=y
CONFIG_NET_9P_VIRTIO=y
CONFIG_NETWORK_FILESYSTEMS=y
CONFIG_9P_FS=y
CONFIG_OVERLAY_FS=y
CONFIG_TMPFS=y
'

case $kind in
    l1-4k)    fragment=$l1_4k endian=little ;;
    guest-be) fragment=$guest_be endian=big ;;
    *)        die "usage: build-kernel.sh l1-4k|guest-be" ;;
esac

ver=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null || true)
[ -n "$ver" ] && [ -f "$tarball" ] || die "$src_pkg is not installed; run tests/host/deps.sh"
key=$(printf '%s\n%s\n' "$ver" "$fragment" | sha256sum | cut -c1-12)
dir=$MINIVMM_CACHE/$kind-$key
if [ -f "$dir/vmlinux" ]; then echo "$dir"; exit 0; fi

# One build at a time; whoever waited may find the result in the cache.
exec 9>"$MINIVMM_CACHE/$kind.lock"
flock 9
if [ -f "$dir/vmlinux" ]; then echo "$dir"; exit 0; fi

# The kernel picks its byte order from the configuration; the compiler must produce it.
case "$(uname -m)-$endian" in
    ppc64le-little|ppc64-big) cross= ;;
    *-little) cross=powerpc64le-linux-gnu- ;;
    *-big)    cross=powerpc64-linux-gnu- ;;
esac
command -v "${cross}gcc" >/dev/null || die "${cross}gcc not found; run tests/host/deps.sh"

# An interrupted build (of this configuration or another) leaves a .build or .new directory
# behind, the former over 1.5 GB: holding the lock, nothing else is building, so they go.
build=$dir.build
rm -rf "$MINIVMM_CACHE/$kind"-*.build "$MINIVMM_CACHE/$kind"-*.new
mkdir -p "$build"
trap 'rm -rf "$build" "$dir.new"' EXIT
log "unpacking $src_pkg $ver"
tar -xf "$tarball" -C "$build" --strip-components=1
printf '%s\n' "$fragment" > "$build/kind.fragment"

mk() { make -C "$build" -s ARCH=powerpc CROSS_COMPILE="$cross" "$@"; }
mk KCONFIG_ALLCONFIG=kind.fragment allnoconfig >&2
# allnoconfig drops what it cannot satisfy without a word: check every choice stuck.
bad=$(grep '^CONFIG_' "$build/kind.fragment" | while read -r line; do
          grep -qx "$line" "$build/.config" || echo "$line"
      done)
[ -z "$bad" ] || die "these options did not stick in .config: ${bad//$'\n'/ }"

log "building $kind vmlinux (linux $ver) with $(nproc) jobs"
start=$SECONDS
mk -j"$(nproc)" vmlinux >&2
log "built in $((SECONDS - start)) s"

mkdir -p "$dir.new"
cp "$build/vmlinux" "$dir.new/vmlinux"
cp "$build/.config" "$dir.new/config"
echo "$ver" > "$dir.new/version"
rm -rf "$build"
rm -rf "$dir"; mv "$dir.new" "$dir"
log "kernel ready in $dir"
echo "$dir"
