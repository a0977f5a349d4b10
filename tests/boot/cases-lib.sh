# The embedding library (sourced by cases.sh; same conventions): the examples, built against
# an installed libminivmm via pkg-config, and snapshot disks.
GK=$GUEST_KERNEL GI=$GUEST_INITRD
BIN=${EXAMPLES:-/bin}

# A command runs in a throw-away guest and its exit code comes back through the library.
echo "=== CASE lib-run-in-vm"
printf 'from\0stdin' | timeout "$LIMIT" "$BIN/run-in-vm" "$GK" / sh -c \
    'echo hello-from-the-sandbox; echo to-stderr >&2; od -An -tx1; exit 3' 2>&1
echo "=== RESULT lib-run-in-vm status=$?"

# Several VMs one after another from one process leave no descriptor or thread behind.
echo "=== CASE lib-sequence"
timeout "$LIMIT" "$BIN/vm-sequence" "$GK" "$GI" 3 </dev/null 2>&1
echo "=== RESULT lib-sequence status=$?"

# --snapshot: the guest writes, the image stays as it was.
cp "$IMAGES/data.ext4" "$T/snap.img"
before=$(md5sum < "$T/snap.img")
case_run snapshot -k "$GK" -i "$GI" -m 512M --snapshot -d "$T/snap.img" \
    -a "console=hvc0 quiet minivmm.test=blk-write"
echo "=== CASE snapshot-check"
[ "$before" = "$(md5sum < "$T/snap.img")" ] && echo "image unchanged"
echo "=== RESULT snapshot-check status=0"
rm -f "$T/snap.img"
