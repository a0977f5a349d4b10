# virtio-net boot cases (sourced by cases.sh; same conventions): the guest's network through
# passt, which minivmm starts itself (the emulated host has Debian's ppc64el passt on PATH and
# a dummy uplink: l1-run.sh L1_PASST=1), and through a tap device. Traffic stays inside this
# host: the guest's gateway is this host's loopback, where a web server serves the files.
GK=$GUEST_KERNEL GI=$GUEST_INITRD
if ! command -v passt >/dev/null 2>&1; then
    echo "=== CASE net-skip"
    echo "no passt on this host (Debian's package passt): the network cases cannot run"
    echo "=== RESULT net-skip status=0"
    return 0 2>/dev/null || exit 0
fi
# The passt processes (busybox here has no pgrep): passt runs through its loader, so its
# command line names it.
passt_pids() {
    for p in /proc/[0-9]*; do
        grep -q usr/bin/passt "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"
    done
}
mkdir -p "$T/www"
dd if=/dev/urandom of="$T/www/16M" bs=1M count=16 2>/dev/null
echo "a small file" > "$T/www/small"
httpd -p 0.0.0.0:8080 -h "$T/www"
echo "=== CASE net-files"
echo "16M $(md5sum < "$T/www/16M" | cut -d' ' -f1)"
echo "small $(md5sum < "$T/www/small" | cut -d' ' -f1)"
echo "=== RESULT net-files status=0"

# 1. DHCP from passt, 16 MiB and a small file over TCP to the guest (frames of up to the
# 65520-byte MTU and bare ACKs), then passt is killed: the guest's carrier goes off, minivmm
# says so and runs on until the guest powers off. (No upload is checked here: an upload to
# this host's busybox nc through passt is sometimes reset part way, for QEMU's guests too;
# the bench measures it and reports a reset as an error.)
"$MINIVMM" -v --stats --net passt -k "$GK" -i "$GI" -m 512M \
    -a "console=hvc0 quiet minivmm.test=net minivmm.url=8080/16M minivmm.url=8080/small minivmm.netwait=1" \
    < /dev/null > "$T/net.out" 2>&1 &
pid=$!
i=0
while ! grep -q MINIVMM-NET-WAITING "$T/net.out" && kill -0 $pid 2>/dev/null && [ $i -lt "$LIMIT" ]; do
    sleep 1; i=$((i + 1))
done
passts=$(passt_pids | tr '\n' ' ')
[ -n "$passts" ] && kill $passts
wait $pid
st=$?
echo "=== CASE net-passt"
echo "passt processes while the guest ran: $passts"
cat "$T/net.out"
echo "=== RESULT net-passt status=$st"
echo "=== CASE net-passt-gone"
# minivmm stopped and reaped its passt: none is left behind.
sleep 1
[ -z "$(passt_pids)" ] && echo "no passt left"
echo "=== RESULT net-passt-gone status=0"

# 2. Two NICs: each gets its own MAC and passt; the second is eth1.
case_run net-two --net passt --net mac=02:00:00:00:00:2a -k "$GK" -i "$GI" -m 512M \
    -a "console=hvc0 quiet minivmm.test=run -- cat /sys/class/net/eth0/address /sys/class/net/eth1/address"

# 3. --rootfs: minivmm's own init sets eth0 as passt will route it (no DHCP client in the
# guest) and names the gateway as the nameserver; the host's busybox wget fetches.
# There is no outside: a name resolves to nothing (the nameserver is passt, which has no
# resolver of this host's to forward to), and the guest says so. (busybox's nslookup: its
# static wget cannot resolve names at all, the C library's NSS being absent.)
case_run net-rootfs -k "$GK" -m 512M --net passt --rootfs / -- \
    sh -c 'wget -q -O - http://10.0.2.2:8080/small; ip route | grep default; cat /etc/resolv.conf
           nslookup example.org >/dev/null 2>&1 || echo "resolves nothing outside"'

# 4. A tap device minivmm creates (this host's root may): the host end gets an address, the
# guest a static one, and the guest fetches from this host across it.
# (Only in the emulated host: on a real one this would touch the host's own network.)
if [ -n "${IN_EMULATED_HOST:-}" ] && [ -e /dev/net/tun ]; then
    "$MINIVMM" --net tap=mvmtap0 -k "$GK" -i "$GI" -m 512M \
        -a "console=hvc0 quiet minivmm.test=net minivmm.addr=192.168.77.2/24 minivmm.gw=192.168.77.1 minivmm.url=8080/small" \
        < /dev/null > "$T/tap.out" 2>&1 &
    pid=$!
    i=0
    while [ ! -e /sys/class/net/mvmtap0 ] && kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done
    ip addr add 192.168.77.1/24 dev mvmtap0 && ip link set mvmtap0 up
    wait $pid
    st=$?
    echo "=== CASE net-tap"
    cat "$T/tap.out"
    echo "=== RESULT net-tap status=$st"
else
    echo "=== CASE net-tap"
    echo "SKIP only in the emulated host (it adds a device and an address to the host)"
    echo "=== RESULT net-tap status=0"
fi

# 5. Bad input: said at once, with the fix.
case_run net-bad-passt --net passt=/no/such/passt -k "$GK" -i "$GI" -m 512M
case_run net-bad-spec --net frob -k "$GK" -i "$GI" -m 512M
PATH_SAVED=$PATH
PATH=/bin
case_run net-no-passt --net passt -k "$GK" -i "$GI" -m 512M
PATH=$PATH_SAVED
for p in /proc/[0-9]*; do grep -q httpd "$p/cmdline" 2>/dev/null && kill "${p#/proc/}"; done
