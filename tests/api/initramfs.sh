#!/usr/bin/env bash
# initramfs.sh [QEMU_USER] MINIVMM: the initramfs minivmm makes for --rootfs DIR -- COMMAND,
# read back from --dump-initramfs (which stops before /dev/kvm is opened, so this runs on any
# host, under qemu-user off POWER): its init of the kernel's byte order, the modules found in
# the root by the vmlinux's banner (each after what it needs; built-in ones skipped), the
# command and the root's mode in /minivmm/config, and each refusal with its fix. The kernels
# are tiny made-up ELF files that carry only a banner.
set -uo pipefail
run=()
[ $# -ge 2 ] && { run=("$1"); shift; }
mv=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }

# A vmlinux of either byte order: an ELF64 PowerPC executable whose one segment holds a banner.
python3 - "$T" <<'PY'
import struct, sys
for name, e in (("vmlinux-le", "<"), ("vmlinux-be", ">")):
    text = b"\0Linux version %s\0Linux version 9.9.9-test (ci@minivmm) #1 SMP\n\0" + bytes(64)
    hdr = struct.pack(e + "16sHHIQQQIHHHHHH",
                      b"\x7fELF\x02" + (b"\x01" if e == "<" else b"\x02") + b"\x01" + bytes(9),
                      2, 21, 1, 0xc000000000000000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack(e + "IIQQQQQQ", 1, 7, 120, 0xc000000000000000, 0, len(text), len(text),
                     0x10000)
    open(f"{sys.argv[1]}/{name}", "wb").write(hdr + ph + text)
PY
# A root with the modules a distribution would have installed for it.
R=$T/root M=$R/lib/modules/9.9.9-test
mkdir -p "$M/kernel/v" "$M/kernel/9p" "$M/kernel/o" "$R/bin"
for m in virtio virtio_pci virtio_console 9pnet 9pnet_virtio 9p overlay; do
    echo "module $m" > "$M/kernel/$( case $m in virtio*) echo v;; 9p*) echo 9p;; *) echo o;; esac)/$m.ko"
done
cat > "$M/modules.dep" <<'DEP'
kernel/v/virtio.ko:
kernel/v/virtio_pci.ko: kernel/v/virtio.ko
kernel/v/virtio_console.ko: kernel/v/virtio.ko
kernel/9p/9pnet.ko:
kernel/9p/9pnet_virtio.ko: kernel/9p/9pnet.ko kernel/v/virtio.ko
kernel/9p/9p.ko: kernel/9p/9pnet.ko
kernel/o/overlay.ko:
DEP
echo "kernel/v/virtio_ring.ko" > "$M/modules.builtin"

dump() {   # dump OUT KERNEL minivmm-args...: runs minivmm --dump-initramfs, unpacks into OUT
    local out=$1 k=$2; shift 2
    rm -rf "$out" && mkdir -p "$out"
    "${run[@]}" "$mv" -k "$T/$k" --dump-initramfs "$out.cpio" "$@" > "$out.msg" 2>&1
    local st=$?
    [ -f "$out.cpio" ] && (cd "$out" && cpio -id --quiet < "$out.cpio" 2>/dev/null)
    return $st
}
records() { tr '\0' '\n' < "$1/minivmm/config"; }
elf_data() { od -An -tu1 -j5 -N1 "$1" | tr -d ' '; }   # 1 little-endian, 2 big-endian

dump "$T/a" vmlinux-le --rootfs "$R" -- sh -c 'echo "a b"'
if [ $? = 0 ] && [ -x "$T/a/init" ] && [ "$(elf_data "$T/a/init")" = 1 ]; then
    ok "a little-endian kernel gets the little-endian init"; else bad "LE init ($(cat "$T/a.msg"))"; fi
mods=$(records "$T/a" | sed -n 's|^module=/minivmm/modules/[0-9]*-||p' | tr '\n' ' ')
[ "$mods" = "virtio.ko virtio_pci.ko virtio_console.ko 9pnet.ko 9pnet_virtio.ko 9p.ko overlay.ko " ] &&
    ok "modules in load order, each once" || bad "modules: '$mods'"
[ "$(cat "$T/a/minivmm/modules/"*-9p.ko)" = "module 9p" ] && ok "module files copied" || bad "module files"
want=$'root=minivmm-root\narg=sh\narg=-c\narg=echo "a b"'
got=$(records "$T/a" | grep -E '^(root|rootrw|arg)=')
[ "$got" = "$want" ] && ok "root and argv recorded" || bad "records: $got"
records "$T/a" | grep -qx 'env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' &&
    ok "a sane PATH" || bad "PATH"
[ -c "$T/a/dev/console" ] || [ "$(cpio -itv --quiet < "$T/a.cpio" | grep -c ' dev/console$')" = 1 ] &&
    ok "dev/console in the archive" || bad "dev/console"

dump "$T/b" vmlinux-be --rootfs "$R,rw" -- true
[ $? = 0 ] && [ "$(elf_data "$T/b/init")" = 2 ] && ok "a big-endian kernel gets the big-endian init" ||
    bad "BE init ($(cat "$T/b.msg"))"
records "$T/b" | grep -qx 'rootrw=1' && ! records "$T/b" | grep -q 'overlay' &&
    ok "rw: the root is written, no overlay module" || bad "rw records"

rm "$M/kernel/9p/9p.ko"; sed -i '/9p\.ko:/d' "$M/modules.dep"
dump "$T/c" vmlinux-le --rootfs "$R" -- true
st=$?
[ $st = 125 ] && grep -q "module 9p" "$T/c.msg" && grep -q "CONFIG_9P_FS" "$T/c.msg" &&
    ok "a missing module is named with its config option (125)" || bad "missing module: $st $(cat "$T/c.msg")"
echo "kernel/9p/9p.ko: kernel/9p/9pnet.ko" >> "$M/modules.dep"
ln -s /etc/hostname "$M/kernel/9p/9p.ko"
dump "$T/d" vmlinux-le --rootfs "$R" -- true
st=$?
[ $st = 125 ] && grep -q "outside the root" "$T/d.msg" &&
    ok "a module linking out of the root is refused" || bad "symlinked module: $st $(cat "$T/d.msg")"
dump "$T/e" vmlinux-le --rootfs "$R" --modules "$T/nowhere" -- true
st=$?
[ $st = 125 ] && grep -q "modules.dep" "$T/e.msg" && ok "--modules without modules.dep is refused" ||
    bad "--modules: $st $(cat "$T/e.msg")"
dump "$T/f" vmlinux-le --rootfs "$T/nowhere" -- true
st=$?
[ $st = 125 ] && grep -q "nowhere" "$T/f.msg" && ok "a missing root is refused (125)" ||
    bad "missing root: $st $(cat "$T/f.msg")"
mkdir -p "$T/bare"
dump "$T/g" vmlinux-le --rootfs "$T/bare" -- true
[ $? = 0 ] && ! records "$T/g" | grep -q '^module=' && ok "no modules directory: none loaded" ||
    bad "bare root ($(cat "$T/g.msg"))"
dump "$T/h" vmlinux-le --rootfs "$T/bare" -- $(seq 5000)
st=$?
[ $st = 125 ] && grep -q "5000 words" "$T/h.msg" && ok "a command longer than the init takes is refused" ||
    bad "5000 words: $st $(cat "$T/h.msg")"
dump "$T/i" vmlinux-le -i "$T/vmlinux-le" --rootfs "$T/bare" -- true
st=$?
[ $st = 125 ] && grep -q "drop -i" "$T/i.msg" && ok "a command with -i is refused" ||
    bad "-i with a command: $st $(cat "$T/i.msg")"
echo "initramfs: $pass passed, $fail failed"
[ $fail = 0 ]
