# minivmm --rootfs DIR -- COMMAND boot cases (sourced by cases.sh; same conventions): a guest
# whose root is a host directory runs one command with minivmm's stdio and exit status. The
# root is this host's own / (the emulated host's: busybox, and the guest kernel's modules in
# /lib/modules/VERSION, as a distribution installs them; found through the vmlinux's banner).
GK=$GUEST_KERNEL
A="-k $GK -m 512M"
VER=$(uname -r)   # the emulated host runs the guest's kernel: its modules are the guest's

case_run rootfs-true $A --rootfs / -- true
case_run rootfs-exit7 $A --rootfs / -- sh -c 'exit 7'
case_run rootfs-kill9 $A --rootfs / -- sh -c 'kill -9 $$'
case_run rootfs-not-found $A --rootfs / -- no-such-command-here
case_run rootfs-not-executable $A --rootfs / -- /proc/version
case_run rootfs-uname $A --rootfs / --json "$T/rootfs.json" -- uname -a
echo "=== CASE rootfs-json"; cat "$T/rootfs.json"; echo "=== RESULT rootfs-json status=0"

# stdout and stderr kept apart, kernel messages in neither.
echo "=== CASE rootfs-stdio-apart"
$MINIVMM $A --rootfs / --log "$T/rootfs.log" -a loglevel=7 -- sh -c 'echo to-out; echo to-err >&2; exit 3' \
    > "$T/out" 2> "$T/err" < /dev/null
echo "status $?"
[ "$(cat "$T/out")" = to-out ] && echo "stdout is the command's alone"
[ "$(cat "$T/err")" = to-err ] && echo "stderr is the command's alone"
grep -q "Linux version" "$T/rootfs.log" && echo "the kernel's messages are in the log"
echo "=== RESULT rootfs-stdio-apart status=0"

# 1 MiB of binary data through stdin and back out, byte for byte.
head -c 1048576 /dev/urandom > "$T/rand"
echo "=== CASE rootfs-binary"
$MINIVMM $A --rootfs / -- cat < "$T/rand" > "$T/rand.out"
echo "status $?"
[ "$(md5sum < "$T/rand" | cut -d' ' -f1)" = "$(md5sum < "$T/rand.out" | cut -d' ' -f1)" ] &&
    echo "1 MiB came back unchanged"
echo "=== RESULT rootfs-binary status=0"

# A command that reads little of its stdin leaves the rest for the next reader, as a pipe
# would: at most one guest buffer (64 KiB) is taken ahead.
echo "=== CASE rootfs-stdin-left"
left=$({ $MINIVMM $A --rootfs / -- head -c 10 > /dev/null; wc -c; } < "$T/rand" | tr -d " ")
echo "left $left"
[ "$left" -ge $((1048576 - 65536)) ] && echo "the rest of stdin was left for the next reader"
echo "=== RESULT rootfs-stdin-left status=0"

# The host's current directory is the command's, when it lies inside the root (not under
# /tmp, which is the guest's own tmpfs).
D=$(cd "$(dirname "$MINIVMM")" && pwd)
echo "=== CASE rootfs-cwd"
got=$(cd "$D" && $MINIVMM $A --rootfs / -- sh -c pwd < /dev/null)
echo "status $? pwd $got"
[ "$got" = "$D" ] && echo "the command ran in the host's directory"
echo "=== RESULT rootfs-cwd status=0"

# Writes go to an overlay in guest memory: they work, and the host never sees them.
rm -f /minivmm-written
echo "=== CASE rootfs-overlay"
$MINIVMM $A --rootfs / -- sh -c "echo x > /tmp/t && echo y > /minivmm-written && cat /tmp/t /minivmm-written" < /dev/null
echo "status $?"
[ ! -e /minivmm-written ] && echo "the host's root is unchanged"
echo "=== RESULT rootfs-overlay status=0"

# rw: writes reach the host directory (a small root of its own: busybox, the modules given).
W=$T/rwroot
rm -rf "$W"; mkdir -p "$W/bin"
bb=/bin/busybox; [ -x "$bb" ] || bb=$(command -v busybox)
cp "$bb" "$W/bin/busybox" && ln -s busybox "$W/bin/sh"
case_run rootfs-rw $A --rootfs "$W,rw" --modules "/lib/modules/$VER" -- sh -c 'echo from-guest > /made'
# A script without "#!" runs with /bin/sh, as execvp and env(1) run it.
printf '%s\n' 'echo script-without-shebang "$@"' > "$W/script" && chmod +x "$W/script"
case_run rootfs-no-shebang $A --rootfs "$W" --modules "/lib/modules/$VER" -- /script a1
echo "=== CASE rootfs-rw-check"
[ "$(cat "$W/made" 2>/dev/null)" = from-guest ] && echo "the guest's file reached the host"
echo "=== RESULT rootfs-rw-check status=0"

# What programs find on a system: the /dev/fd links, /dev/shm, the loopback interface up.
echo "=== CASE rootfs-system"
$MINIVMM $A --rootfs / -- sh -c '[ -L /dev/stdin ] && [ -L /dev/fd ] && echo fd-links;
    [ -d /dev/shm ] && echo shm-there; echo "lo=$(cat /sys/class/net/lo/flags)"' < /dev/null
echo "status $?"
echo "=== RESULT rootfs-system status=0"

# No command: an interactive shell on a terminal (the stdio device's console port, hvc1),
# here fed from a pipe; its exit status is minivmm's.
echo "=== CASE rootfs-shell"
printf 'tty\necho shell-says-$((6 * 7))\nexit 5\n' > "$T/typed"
timeout "$LIMIT" $MINIVMM $A --rootfs / < "$T/typed" 2>&1
st=$?
echo
echo "=== RESULT rootfs-shell status=$st"

# No modules to be found and a modular kernel: the guest has no 9p; said with the options.
mkdir -p "$T/bare"
case_run rootfs-no-9p $A --rootfs "$T/bare" -- true
# A modules directory without 9p: refused up front, naming the module and its option.
rm -rf "$T/mods"; cp -r "/lib/modules/$VER" "$T/mods"
rm -f "$T/mods/kernel/fs/9p/9p.ko"; sed -i '/\/9p\.ko:/d' "$T/mods/modules.dep"
case_run rootfs-module-missing $A --rootfs / --modules "$T/mods" -- true
case_run rootfs-bad-dir $A --rootfs "$T/no-such-dir" -- true
case_run rootfs-no-rootfs $A -- true

# A big-endian guest runs a command too (its kernel has 9p, overlay and the console built in;
# its root holds one big-endian program).
if [ -n "${GUEST_KERNEL_BE:-}" ] && [ -f "${GUEST_MARKER_BE:-}" ]; then
    rm -rf "$T/beroot"; mkdir -p "$T/beroot"
    cp "$GUEST_MARKER_BE" "$T/beroot/marker"
    case_run rootfs-be -k "$GUEST_KERNEL_BE" -m 512M --rootfs "$T/beroot" -- /marker a1 last-arg
fi
rm -rf "$T/rand" "$T/rand.out" "$W" "$T/mods" "$T/beroot"
