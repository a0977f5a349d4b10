# virtio-blk boot cases (sourced by cases.sh; same conventions). $IMAGES holds the images
# made by images.sh.
GK=$GUEST_KERNEL GI=$GUEST_INITRD

# Writes reach the image byte for byte and survive minivmm's exit.
dd if=/dev/zero of="$T/blank.img" bs=1M count=8 2>/dev/null
case_run blk-write -v --stats -k "$GK" -i "$GI" -m 512M -d "$T/blank.img" \
    -a "console=hvc0 quiet minivmm.test=blk-write"
want=$(yes MINIVMM-BLOCK-PATTERN | head -c 1048576 | md5sum | cut -d' ' -f1)
got=$(head -c 1048576 "$T/blank.img" | md5sum | cut -d' ' -f1)
rest=$(tail -c +1048577 "$T/blank.img" | md5sum | cut -d' ' -f1)
zero=$(head -c 7340032 /dev/zero | md5sum | cut -d' ' -f1)
echo "=== CASE blk-write-check"
[ "$want" = "$got" ] && echo "pattern intact"
[ "$rest" = "$zero" ] && echo "rest untouched"
echo "=== RESULT blk-write-check status=0"

# A read-only disk refuses writes inside the guest and the image does not change.
cp "$IMAGES/data.ext4" "$T/ro.img"
before=$(md5sum < "$T/ro.img")
case_run blk-ro -k "$GK" -i "$GI" -m 512M -d "$T/ro.img,ro" \
    -a "console=hvc0 quiet minivmm.test=blk-ro"
echo "=== CASE blk-ro-check"
[ "$before" = "$(md5sum < "$T/ro.img")" ] && echo "image unchanged"
echo "=== RESULT blk-ro-check status=0"

# Discard and write zeroes reach the image: holes where the guest discarded or zeroed with
# unmap (the host's file system punches them: tmpfs in the emulated host), zeros read back,
# the rest and the size kept. st_blocks counts 512-byte units: 512 KiB freed is 1024.
dd if=/dev/zero of="$T/discard.img" bs=1M count=8 2>/dev/null
before=$(stat -c %b "$T/discard.img")
case_run blk-discard -k "$GK" -i "$GI" -m 512M -d "$T/discard.img" \
    -a "console=hvc0 quiet minivmm.test=blk-discard"
after=$(stat -c %b "$T/discard.img")
md5() { md5sum | cut -d' ' -f1; }
echo "=== CASE blk-discard-check"
echo "blocks: $before before, $after after"
[ "$after" -le $((before - 1024)) ] && echo "holes punched"
[ "$(head -c 786432 "$T/discard.img" | md5)" = "$(head -c 786432 /dev/zero | md5)" ] &&
    echo "three quarters zero"
[ "$(head -c 1048576 "$T/discard.img" | tail -c 262144 | md5)" = \
  "$(yes MINIVMM-DISCARD-PATTERN | head -c 1048576 | tail -c 262144 | md5)" ] && echo "last quarter kept"
[ "$(stat -c %s "$T/discard.img")" = 8388608 ] && echo "size kept"
echo "=== RESULT blk-discard-check status=0"

# An ext4 image prepared on the host mounts in the guest and a file reads back.
cp "$IMAGES/data.ext4" "$T/data.img"
case_run blk-ext4 -k "$GK" -i "$GI" -m 512M -d "$T/data.img,serial=minivmm-data" \
    -a "console=hvc0 quiet minivmm.test=blk-ext4"

# The root file system on virtio-blk.
cp "$IMAGES/root.ext4" "$T/root.img"
case_run blk-root -k "$GK" -i "$GI" -m 512M -c 2 -d "$T/root.img" \
    -a "console=hvc0 quiet root=/dev/vda minivmm.test=root"

# Bad disk arguments.
case_run blk-missing -k "$GK" -d "$T/no-such.img"
case_run blk-dir -k "$GK" -d "$T"
case_run blk-badopt -k "$GK" -d "$T/blank.img,bogus"
# cache=none where the file system has no O_DIRECT (the emulated host's initramfs is tmpfs;
# on a real host with an ext4 /tmp this boots instead, so the check is made only in the L1).
case_run blk-direct -k "$GK" -i "$GI" -d "$T/blank.img,cache=none" \
    -a "console=hvc0 quiet minivmm.test=marker"
rm -f "$T/blank.img" "$T/discard.img" "$T/ro.img" "$T/data.img" "$T/root.img"
