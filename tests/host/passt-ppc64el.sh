#!/usr/bin/env bash
# passt-ppc64el.sh: Debian's ppc64el passt (the user-mode network daemon minivmm's --net
# starts), unpacked with the ppc64el loader and libc, so it runs inside the emulated POWER
# host (L1), whose initramfs is busybox only and has no libc.
# Prints nothing on stdout but the directory that holds the tree:
#   DIR/passt                              an sh wrapper: the binary through the bundled
#                                          loader (what minivmm finds on PATH in the L1)
#   DIR/usr/bin/passt                      the binary
#   DIR/lib/powerpc64le-linux-gnu/         ld64.so.2 and libc.so.6
# With the argument l1_files it prints instead the SRC=DEST list that puts the tree at /opt/passt in the L1.
# The result is cached ($MINIVMM_CACHE/passt-ppc64el) and reused. Safe to run again.
set -euo pipefail
. "$(dirname "$0")/common.sh"

base=$MINIVMM_CACHE/passt-ppc64el
dir=$base/root
if [ ! -f "$dir/.complete" ]; then
    apt-cache show passt:ppc64el >/dev/null 2>&1 ||
        die "passt:ppc64el is not in the apt index: run tests/host/deps.sh"
    rm -rf "$base"; mkdir -p "$base/debs" "$dir.new"
    # As root, apt's _apt download user cannot write to a cache under /root: say it is root.
    sandbox=(); [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$base/debs" && apt-get download -q "${sandbox[@]}" passt:ppc64el libc6:ppc64el >&2)
    for f in "$base"/debs/*.deb; do dpkg-deb -x "$f" "$base/stage"; done
    # passt needs libc alone (its Depends says so; checked here, so a newer passt that needs
    # more fails loudly instead of in the L1).
    needed=$(readelf -d "$base/stage/usr/bin/passt" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    [ "$needed" = libc.so.6 ] || die "passt needs $(echo $needed): more than the libc bundled here"
    mkdir -p "$dir.new/usr/bin" "$dir.new/lib/powerpc64le-linux-gnu"
    cp -L "$base/stage/usr/bin/passt" "$dir.new/usr/bin/"
    cp -L "$base"/stage/lib/powerpc64le-linux-gnu/{ld64.so.2,libc.so.6} "$dir.new/lib/powerpc64le-linux-gnu/"
    cat > "$dir.new/passt" <<'EOF'
#!/bin/sh
# Runs the bundled passt with the bundled loader and libc (the host has none). The loader
# passes its file descriptors on, so minivmm's --fd reaches passt.
d=$(cd "$(dirname "$0")" && pwd)
exec "$d/lib/powerpc64le-linux-gnu/ld64.so.2" --library-path "$d/lib/powerpc64le-linux-gnu" \
    "$d/usr/bin/passt" "$@"
EOF
    chmod 755 "$dir.new/passt"
    dpkg-deb -f "$base"/debs/passt_*.deb Version > "$dir.new/version"
    touch "$dir.new/.complete"
    rm -rf "$base/stage" "$dir"; mv "$dir.new" "$dir"
    log "passt $(cat "$dir/version") (ppc64el) ready in $dir"
fi
if [ "${1:-}" = l1_files ]; then
    for f in passt usr/bin/passt lib/powerpc64le-linux-gnu/ld64.so.2 lib/powerpc64le-linux-gnu/libc.so.6; do
        printf '%s=opt/passt/%s ' "$dir/$f" "$f"
    done
    echo
else
    echo "$dir"
fi
