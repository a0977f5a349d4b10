#!/usr/bin/env bash
# qemu-ppc64el.sh: Debian's own ppc64el QEMU (qemu-system-ppc64), unpacked with every shared
# library it loads and the ppc64el dynamic loader and libc, so it runs inside the emulated
# POWER host (L1), whose initramfs is busybox only and has no libc. It is the peer minivmm
# is compared against (-accel kvm -M pseries, with SLOF or with VOF).
# Prints nothing on stdout but the directory that holds the tree:
#   DIR/usr/bin/qemu-system-ppc64        the binary (its ELF interpreter path is the system's,
#                                        so start it through DIR/qemu-system-ppc64, below)
#   DIR/lib/powerpc64le-linux-gnu/       ld64.so.2, libc and every library it needs
#   DIR/usr/share/qemu/                  slof.bin, vof.bin (the only data pseries needs)
#   DIR/qemu-system-ppc64                an sh wrapper: runs the binary through the bundled
#                                        loader and libraries, with -L DIR/usr/share/qemu
# The tree is position-independent: copy DIR anywhere (e.g. /qemu in the L1) and run the
# wrapper from there. Only Debian's archive is used, through apt-get; the result is cached
# ($MINIVMM_CACHE/qemu-ppc64el) and reused. Safe to run again.
set -euo pipefail
. "$(dirname "$0")/common.sh"

base=$MINIVMM_CACHE/qemu-ppc64el
dir=$base/root
if [ -f "$dir/.complete" ] && [ -x "$dir/usr/bin/qemu-system-ppc64" ]; then echo "$dir"; exit 0; fi

if ! apt-cache show qemu-system-ppc:ppc64el >/dev/null 2>&1; then
    dpkg --print-foreign-architectures | grep -qx ppc64el || [ "$(dpkg --print-architecture)" = ppc64el ] ||
        die "the ppc64el architecture is not enabled: run tests/host/deps.sh"
    # The ppc64el security index has been seen half-synced ("File has unexpected size"); the
    # main index is enough, so a failed update is not fatal.
    as_root apt-get update -q >&2 || log "apt-get update reported errors; continuing with what it fetched"
    apt-cache show qemu-system-ppc:ppc64el >/dev/null 2>&1 || die "qemu-system-ppc:ppc64el is not in the apt index"
fi

# The dependency closure (Depends and Pre-Depends only), ppc64el and Architecture: all
# packages only (a name without :ppc64el is the native or the 'all' package; virtual names come
# in <...>). Packages that carry no shared library QEMU could load (maintainer-script tools,
# data, the login/PAM stack pulled in through adduser) are not downloaded.
skip='^(adduser|passwd|debconf|cdebconf|dpkg|tar|install-info|iso-codes|readline-common|libdebian-installer4|libnewt0\.52|libslang2|libtextwrap1|libpam-modules|libpam-modules-bin|libpam0g|libsemanage2|libsemanage-common|libsepol2|libaudit1|libaudit-common|libcap2-bin|libdb5\.3|libasound2-data|libdrm-common|qemu-system-common)$'
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
              --no-replaces --no-enhances qemu-system-ppc:ppc64el 2>/dev/null | grep -v '^[ <]' | sort -u)
native=$(printf '%s\n' "$closure" | grep -v ':ppc64el$' || true)
# Of the names without :ppc64el, only the Architecture: all ones are wanted (one look-up).
all=$(apt-cache show --no-all-versions $native 2>/dev/null |
      awk '/^Package: /{p=$2} /^Architecture: all$/{print p}' | sort -u)
pkgs=()
for p in $(printf '%s\n' "$closure" | grep ':ppc64el$') $all; do
    [[ ${p%:ppc64el} =~ $skip ]] || pkgs+=("$p")
done
grep -qx 'qemu-system-ppc:ppc64el' <<< "$(printf '%s\n' "${pkgs[@]}")" || die "dependency resolution failed"
grep -qx 'libc6:ppc64el' <<< "$(printf '%s\n' "${pkgs[@]}")" || pkgs+=(libc6:ppc64el)

# Downloads are kept in the cache (debs/, under the names apt gives them, which carry the
# version); what is already there is not downloaded again, what is no longer wanted goes.
debs=$base/debs
mkdir -p "$debs"
# (--print-uris leaves out what is already in the current directory: ask from an empty one.)
empty=$(mktemp -d); trap 'rm -rf "$empty" "$base/stage" "$dir.new"' EXIT
uris=$(cd "$empty" && apt-get download --print-uris -q "${pkgs[@]}") || die "apt-get cannot download ${pkgs[*]}"
mapfile -t files < <(printf '%s\n' "$uris" | awk '{print $2}')
[ ${#files[@]} = ${#pkgs[@]} ] || die "apt-get named ${#files[@]} files for ${#pkgs[@]} packages"
want=()
for f in "${files[@]}"; do    # NAME_VERSION_ARCH.deb
    [ -f "$debs/$f" ] && continue
    case $f in *_ppc64el.deb) want+=("${f%%_*}:ppc64el") ;; *) want+=("${f%%_*}") ;; esac
done
if [ ${#want[@]} -gt 0 ]; then
    log "downloading ${#want[@]} of ${#pkgs[@]} packages (ppc64el and all) for qemu-system-ppc64"
    # As root, apt's _apt download user cannot write to a cache under /root: say it is root.
    sandbox=(); [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$debs" && apt-get download -q "${sandbox[@]}" "${want[@]}" >&2)
fi
for f in "$debs"/*.deb; do
    grep -qxF "$(basename "$f")" <<< "$(printf '%s\n' "${files[@]}")" || rm -f "$f"
done

# Unpack everything into a staging tree, then keep only what the binary needs: the ELF
# NEEDED closure of qemu-system-ppc64 (read with readelf, which reads any architecture), the
# loader, and pseries' firmware.
stage=$base/stage
rm -rf "$stage" "$dir.new"; mkdir -p "$stage" "$dir.new"
for f in "${files[@]}"; do dpkg-deb -x "$debs/$f" "$stage"; done

libdirs=(lib/powerpc64le-linux-gnu usr/lib/powerpc64le-linux-gnu)
find_lib() {    # prints the staging path of the library named $1
    local d
    for d in "${libdirs[@]}"; do [ -e "$stage/$d/$1" ] && { echo "$d/$1"; return 0; }; done
    return 1
}
declare -A seen=()
copy_with_deps() {  # copy_with_deps RELPATH: RELPATH and every library it needs, recursively
    local rel=$1 n lib
    [ -n "${seen[$rel]:-}" ] && return 0
    seen[$rel]=1
    mkdir -p "$dir.new/$(dirname "$rel")"
    cp -L "$stage/$rel" "$dir.new/$rel"
    for n in $(readelf -d "$stage/$rel" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        lib=$(find_lib "$n") || die "$rel needs $n, which no downloaded package provides"
        copy_with_deps "$lib"
    done
}
copy_with_deps usr/bin/qemu-system-ppc64
copy_with_deps lib/powerpc64le-linux-gnu/ld64.so.2
mkdir -p "$dir.new/lib64"
ln -s ../lib/powerpc64le-linux-gnu/ld64.so.2 "$dir.new/lib64/ld64.so.2"
mkdir -p "$dir.new/usr/share/qemu"
cp "$stage"/usr/share/qemu/{slof.bin,vof.bin} "$dir.new/usr/share/qemu/"

cat > "$dir.new/qemu-system-ppc64" <<'EOF'
#!/bin/sh
# Runs the bundled qemu-system-ppc64 with the bundled loader and libraries (no libc needed on
# the host); firmware (slof.bin, vof.bin) comes from this tree. Arguments are QEMU's.
d=$(cd "$(dirname "$0")" && pwd)
exec "$d/lib/powerpc64le-linux-gnu/ld64.so.2" \
    --library-path "$d/lib/powerpc64le-linux-gnu:$d/usr/lib/powerpc64le-linux-gnu" \
    "$d/usr/bin/qemu-system-ppc64" -L "$d/usr/share/qemu" "$@"
EOF
chmod 755 "$dir.new/qemu-system-ppc64"
ver=$(apt-cache show --no-all-versions qemu-system-ppc:ppc64el | sed -n 's/^Version: //p' | head -n1)
echo "$ver" > "$dir.new/version"
touch "$dir.new/.complete"
rm -rf "$stage" "$dir"; mv "$dir.new" "$dir"
log "qemu-system-ppc64 $ver (ppc64el) ready in $dir: $(du -sh "$dir" | cut -f1), $(find "$dir" -name '*.so*' | wc -l) libraries"
echo "$dir"
