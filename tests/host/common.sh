# Shared by the emulated-host scripts: where the cache lives and small helpers.
# The cache holds downloads and built images; it sits outside the clone so CI and later
# sessions reuse it, and everything in it can be rebuilt from nothing.
MINIVMM_CACHE=${MINIVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minivmm}
SYSROOT=$MINIVMM_CACHE/sysroot-ppc64el
mkdir -p "$MINIVMM_CACHE"

# Kernel modules the test guest's initramfs carries (Debian builds virtio and ext4 as modules).
# (mkinitramfs.sh adds each one's dependencies from its depends= field: virtio_net brings
# net_failover and failover; vmw_vsock_virtio_transport brings vsock and
# vmw_vsock_virtio_transport_common.)
GUEST_MODULES="virtio_pci virtio_blk virtio_console crc32c_generic ext4 9pnet_virtio 9p pseries-rng \
virtio_net vmw_vsock_virtio_transport"
# KVM modules the test guest carries but does not load (its "kvm" mode does, under --nested-hv).
# Files the test guest's /init uses beyond busybox and GUEST_MODULES: KVM (the nested-HV case)
# and device-mapper with its table tool (the read-only disk case writes around the guest
# kernel's own check), blkzero (the discard case). SRC=DEST arguments for mkinitramfs.sh.
guest_test_files() {   # guest_test_files KERNEL_DIR
    local k=$1/modules/kernel top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    echo "$k/arch/powerpc/kvm/kvm.ko=lib/kvm/kvm.ko $k/arch/powerpc/kvm/kvm-hv.ko=lib/kvm/kvm-hv.ko"
    # (dmtable is built by make check-boot; other users of the guest do without it.)
    [ -f "$top/build/tests/dmtable" ] &&
        echo "$k/drivers/md/dm-mod.ko=lib/dm-mod.ko $top/build/tests/dmtable=bin/dmtable"
    # (so is blkzero, the blk-discard case's write zeroes)
    [ -f "$top/build/tests/blkzero" ] && echo "$top/build/tests/blkzero=bin/blkzero"
    # (and vsockxfer, the vsock case's both ends)
    [ -f "$top/build/tests/vsockxfer" ] && echo "$top/build/tests/vsockxfer=bin/vsockxfer"
    return 0
}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
