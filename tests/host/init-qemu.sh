#!/usr/bin/env bash
# init-qemu.sh: the guest init (firmware/init.c, its INIT_TEST build) run end to end without a
# guest: under qemu-user (off POWER) for both byte orders, chrooted into a made-up initramfs,
# in a private mount namespace. Its "ports" are files there and its root "share" a directory
# it binds in place of a 9p mount; everything else is the real init: the mounts, the config,
# the overlay, the switch of root, the command's fork, exec, stdio and status line.
# Needs root (mounts; they die with the namespace) and qemu-user-static; skips otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    echo "init-qemu: skipped (needs root and unshare)"; exit 0
fi
W=$(mktemp -d /tmp/minivmm-init.XXXXXX)
trap 'rm -rf "$W"' EXIT
gcc -std=gnu11 -O2 -static -o "$W/tool" tests/host/init-tool.c
fails=0

# run ORDER CONFIG-RECORD...: a fresh initramfs in $W/fs, the init run in it.
run() {
    local order=$1 q; shift
    q=$(command -v "qemu-$([ "$order" = le ] && echo ppc64le || echo ppc64)-static")
    rm -rf "$W/fs" && mkdir -p "$W/fs"/{dev,proc,sys,minivmm,test/dev,share/bin,share/etc}
    cp "build/firmware/init-test-$order" "$W/fs/init"
    cp "$q" "$W/fs/qemu"
    cp "$W/tool" "$W/fs/share/bin/tool"
    echo "root:x:0:0::/:/bin/sh" > "$W/fs/share/etc/passwd"
    local i=1
    for p in stdin stdout stderr status; do
        mkdir -p "$W/fs/test/ports/vport0p$i"
        echo "minivmm.$p" > "$W/fs/test/ports/vport0p$i/name"
        : > "$W/fs/test/dev/vport0p$i"
        i=$((i + 1))
    done
    printf 'typed input\n' > "$W/fs/test/dev/vport0p1"
    printf '%s\0' root=/share "$@" > "$W/fs/minivmm/config"
    timeout 60 unshare -m --propagation private chroot "$W/fs" /qemu /init \
        > "$W/console" 2>&1 || true
}

# expect WHAT FILE TEXT: FILE (status, stdout, stderr, console) is exactly TEXT.
expect() {
    local f
    case $2 in
    status) f=$W/fs/test/dev/vport0p4 ;; stdout) f=$W/fs/test/dev/vport0p2 ;;
    stderr) f=$W/fs/test/dev/vport0p3 ;; console) f=$W/console ;;
    esac
    if [ "$(cat "$f")" = "$3" ]; then echo "ok   $1"; else
        echo "FAIL $1: $2 is \"$(cat "$f")\", not \"$3\""; cat "$W/console"; fails=$((fails + 1))
    fi
}

for o in le be; do
    run $o env=PATH=/bin arg=tool arg=echo arg=hello arg=world
    expect "$o: a command on PATH runs, its stdio on the ports" status "exit 0"
    expect "$o: stdout" stdout "hello world"
    expect "$o: stderr" stderr "err"
    run $o arg=/bin/tool arg=exit arg=3
    expect "$o: the exit status" status "exit 3"
    run $o arg=/bin/tool arg=kill arg=9
    expect "$o: a killed command" status "signal 9"
    run $o env=PATH=/nowhere:/bin arg=frobnicate
    expect "$o: command not found" status "error 127 frobnicate: command not found"
    run $o arg=/etc/passwd
    expect "$o: not executable" status "error 126 /etc/passwd: not executable (Permission denied)"
    run $o arg=/bin/tool arg=cat
    expect "$o: stdin from its port" stdout "typed input"
    run $o cwd=/etc arg=/bin/tool arg=pwd
    expect "$o: cwd" stdout "/etc"
    run $o cwd=/nope arg=/bin/tool arg=pwd
    expect "$o: a missing cwd: /" stdout "/"
    expect "$o: a missing cwd: said" console "minivmm-init: cannot enter /nope (No such file or directory): the command runs in /"
    run $o env=A=1 env=B=x=y arg=/bin/tool arg=env
    expect "$o: the whole environment" stdout $'A=1\nB=x=y'
    run $o arg=/bin/tool arg=fds
    expect "$o: only fds 0 1 2 reach the command" stdout "0 1 2 "
    run $o arg=/bin/tool arg=write arg=/new
    expect "$o: writes go to the overlay" status "exit 0"
    [ ! -e "$W/fs/share/new" ] && echo "ok   $o: the share is untouched" ||
        { echo "FAIL $o: the share was written"; fails=$((fails + 1)); }
    run $o rootrw=1 arg=/bin/tool arg=write arg=/new
    [ "$(cat "$W/fs/share/new" 2>&1)" = written ] && echo "ok   $o: rootrw writes the share" ||
        { echo "FAIL $o: rootrw did not write the share"; fails=$((fails + 1)); }
    run $o arg=/bin/tool frob=1
    expect "$o: a bad config" console 'minivmm-init: error 125 /minivmm/config: unknown record "frob=1"'
    expect "$o: a bad config, reported" status 'error 125 /minivmm/config: unknown record "frob=1"'
done
[ $fails = 0 ] && echo "init-qemu: all passed" || { echo "init-qemu: $fails failed"; exit 1; }
