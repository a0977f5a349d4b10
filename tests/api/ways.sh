#!/usr/bin/env bash
# Runs the API test as every kind of host this machine can pretend to be, so a branch on the
# host is never tested only the way the developer's machine happens to take it:
#   - as it is;
#   - with /dev/kvm the other way round (hidden when there is one, a stand-in when there is
#     none), in a private mount namespace: a tmpfs over /dev holding only what a process needs;
#   - as the other kind of user: nobody when we are root, root of a user namespace when not.
# Usage: ways.sh COMMAND... (the command that runs the test binary: qemu-user off POWER).
# A way this machine cannot fake (no unshare permission, in some containers) is a counted,
# printed skip, never a silent pass. Exits non-zero if any way failed.
set -u
case "$(uname -m)" in ppc64le|ppc64) host=power ;; *) host=other ;; esac
ran=0 failed=0 skipped=0

way() {   # way NAME [API_KVM value] -- COMMAND...
    local name=$1 kvm=$2; shift 3
    echo "== check-api: $name"
    if API_HOST=$host API_KVM=$kvm "$@"; then ran=$((ran + 1))
    else
        local st=$?
        # unshare/setpriv failing to set up (not the test failing) is exit 125/126 from our
        # wrapper below; anything else is the test's verdict.
        if [ $st = 125 ]; then echo "SKIP check-api: $name: this machine cannot fake it"; skipped=$((skipped + 1))
        else failed=$((failed + 1)); fi
    fi
}

# The inside of the private mount namespace: a /dev with null, zero, urandom and, when asked,
# a kvm that is not the host's: a character device 10:232 where we may create one (root),
# else a plain file (which opens, and answers no KVM ioctl).
flip_kvm_inner() {
    local want=$1; shift
    local d
    d=$(mktemp -d) || exit 125
    mount -t tmpfs tmpfs "$d" || exit 125
    for n in null zero urandom random; do
        touch "$d/$n" && mount --bind "/dev/$n" "$d/$n" || exit 125
    done
    if [ "$want" = present ]; then
        mknod "$d/kvm" c 10 232 2>/dev/null || touch "$d/kvm" || exit 125
        chmod 666 "$d/kvm"
    fi
    mount --rbind "$d" /dev || exit 125
    exec "$@"
}

if [ "$(id -u)" = 0 ]; then userns=(); other_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else userns=(-r); other_user=(unshare -r); fi
if [ -e /dev/kvm ]; then flip=absent; else flip=present; fi

way "as this host is ($host, /dev/kvm $([ -e /dev/kvm ] && echo present || echo absent), uid $(id -u))" \
    "$([ -e /dev/kvm ] || echo absent)" -- "$@"
if unshare "${userns[@]}" --mount true 2>/dev/null; then
    export -f flip_kvm_inner
    way "/dev/kvm $flip" "$flip" -- \
        unshare "${userns[@]}" --mount --propagation private bash -c 'flip_kvm_inner "$@"' _ "$flip" "$@"
else
    way "/dev/kvm $flip" "$flip" -- sh -c 'exit 125'
fi
if "${other_user[@]}" true 2>/dev/null; then
    way "as the other kind of user (${other_user[0]})" "$([ -e /dev/kvm ] || echo absent)" -- \
        "${other_user[@]}" "$@"
else
    way "as the other kind of user" "" -- sh -c 'exit 125'
fi
echo "check-api: $ran ways passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
