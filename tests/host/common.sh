# Shared by the emulated-host scripts: where the cache lives and small helpers.
# The cache holds downloads and built images; it sits outside the clone so CI and later
# sessions reuse it, and everything in it can be rebuilt from nothing.
MINIVMM_CACHE=${MINIVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minivmm}
SYSROOT=$MINIVMM_CACHE/sysroot-ppc64el
mkdir -p "$MINIVMM_CACHE"

# Kernel modules the test guest's initramfs carries (Debian builds virtio and ext4 as modules).
GUEST_MODULES="virtio_pci virtio_blk virtio_console crc32c_generic ext4"
# KVM modules the test guest carries but does not load (its "kvm" mode does, under --nested-hv).
guest_kvm_files() {   # guest_kvm_files KERNEL_DIR: SRC=DEST arguments for mkinitramfs.sh
    local k=$1/modules/kernel/arch/powerpc/kvm
    echo "$k/kvm.ko=lib/kvm/kvm.ko $k/kvm-hv.ko=lib/kvm/kvm-hv.ko"
}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
