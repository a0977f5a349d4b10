# virtio-vsock (--vsock CID,uds=PATH): Firecracker's hybrid vsock, with vsockxfer at both ends
# (tests/host/vsockxfer.c: AF_VSOCK in the guest, the UNIX sockets here). Sourced by cases.sh;
# checked in run.sh.
#
# One guest, three steps, each connection sending its bytes of vsockxfer's pattern while it
# reads the other end's, both ways at once:
#   1. host-initiated, one connection, 16 MiB each way (CONNECT 5000 / OK);
#   2. host-initiated, 16 connections at once, 1 MiB each way (16 MiB in all each way);
#   3. guest-initiated, 16 connections at once to CID 2 port 6000, i.e. to PATH_6000.
# Then it counts the connections whose checksums both ends agree on (vsockxfer sum).
VSOCKXFER=${VSOCKXFER:-/bin/vsockxfer}
vsock_wait() {   # vsock_wait TEXT: the guest said TEXT (or 300 s passed, or the VM ended)
    n=0
    while ! tr -d '\r' < "$vmlog" | grep -qF "$1"; do
        kill -0 "$vm" 2>/dev/null || return 1
        n=$((n + 1)); [ $n -gt 300 ] && return 1
        sleep 1
    done
}
echo "=== CASE vsock"
sock=$T/vsock.sock vmlog=$T/vsock.log
: > "$vmlog"
big=16777216 small=1048576
# The host's listener for step 3 is up before the guest is.
"$VSOCKXFER" uds-listen "${sock}_6000" 16 $small > "$T/vsock-listen.out" 2>&1 &
lst=$!
timeout "$LIMIT" "$MINIVMM" -v --stats -k "$GUEST_KERNEL" -i "$GUEST_INITRD" -m 512M -c 2 \
    --vsock "3,uds=$sock" \
    -a "console=hvc0 quiet minivmm.test=vsock minivmm.vsock=listen:5000:1:$big,listen:5001:16:$small,connect:2:6000:16:$small" \
    </dev/null >"$vmlog" 2>&1 &
vm=$!
: > "$T/vsock-host.out"
vsock_wait "vsockxfer: listening on 5000" &&
    timeout 600 "$VSOCKXFER" uds-connect "$sock" 5000 1 $big >> "$T/vsock-host.out" 2>&1
vsock_wait "vsockxfer: listening on 5001" &&
    timeout 600 "$VSOCKXFER" uds-connect "$sock" 5001 16 $small >> "$T/vsock-host.out" 2>&1
wait "$vm"; st=$?
kill "$lst" 2>/dev/null; wait "$lst"
sed 's/^/host: /' "$T/vsock-host.out"
sed 's/^/host-listen: /' "$T/vsock-listen.out"
tr -d '\r' < "$vmlog" | grep -E 'vsockxfer|^conn |MINIVMM-|stats|vsock|minivmm:'
# Both ends of every connection agree with the pattern's own checksum, both ways.
fb=$("$VSOCKXFER" sum $big) fs=$("$VSOCKXFER" sum $small)
intact() { tr -d '\r' < "$2" | grep -cF "sent $1 fnv $3 recv $1 fnv $3"; }
echo "vsock: intact both ways: guest $(intact $big "$vmlog" "$fb") x 16 MiB," \
    "$(intact $small "$vmlog" "$fs") x 1 MiB; host $(intact $big "$T/vsock-host.out" "$fb") x 16 MiB," \
    "$(intact $small "$T/vsock-host.out" "$fs") x 1 MiB; host listener" \
    "$(intact $small "$T/vsock-listen.out" "$fs") x 1 MiB"
[ -e "$sock" ] || echo "vsock: the socket file is gone after the run"
echo "=== RESULT vsock status=$st"
rm -f "$vmlog" "$T/vsock-host.out" "$T/vsock-listen.out" "${sock}_6000"

# Bad --vsock: refused with the fix before anything runs.
case_run vsock-bad-cid --vsock 2,uds=$T/v.sock -k "$GUEST_KERNEL"
case_run vsock-no-uds --vsock 3 -k "$GUEST_KERNEL"
echo "not a socket" > "$T/not-a-socket"
case_run vsock-not-socket --vsock "3,uds=$T/not-a-socket" -k "$GUEST_KERNEL"
rm -f "$T/not-a-socket"

# --rootfs with --vsock: minivmm's initramfs brings the transport's modules (device.h's
# guest_modules), and the driver binds to the device.
case_run vsock-rootfs -k "$GUEST_KERNEL" -m 512M --vsock "3,uds=$T/vr.sock" --rootfs / -- \
    sh -c 'echo "vsock transports bound: $(ls /sys/bus/virtio/drivers/vmw_vsock_virtio_transport | grep -c virtio)"'
