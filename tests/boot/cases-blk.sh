# virtio-blk boot cases (sourced by cases.sh; same conventions). $IMAGES holds the images
# made by images.sh.
GK=$GUEST_KERNEL GI=$GUEST_INITRD

# Writes reach the image byte for byte and survive minivmm's exit.
dd if=/dev/zero of="$T/blank.img" bs=1M count=8 2>/dev/null
case_run blk-write -v -k "$GK" -i "$GI" -m 512M -d "$T/blank.img" \
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
rm -f "$T/blank.img" "$T/ro.img" "$T/data.img" "$T/root.img"
