# virtio-9p boot cases (sourced by cases.sh; same conventions): a host directory in the guest.
GK=$GUEST_KERNEL GI=$GUEST_INITRD

# The share: a file the host wrote, a directory of 1000 files, symlinks inside and pointing
# out, and a canary beside the share that nothing may touch. A second, read-only share.
S=$T/share R=$T/share-ro
rm -rf "$S" "$R" "$T/canary"
mkdir -p "$S/many" "$S/sub" "$R"
echo "the host's canary" > "$T/canary"
head -c 1048576 /dev/urandom > "$S/from-host.bin"
echo "inside the share" > "$S/sub/file.txt"
ln -s sub/file.txt "$S/link-inside"
ln -s / "$S/link-to-root"
ln -s ../canary "$S/link-out"
i=0; while [ $i -lt 1000 ]; do : > "$S/many/f$i"; i=$((i + 1)); done
echo "read only" > "$R/kept.txt"
ro_before=$(ls -la "$R" | md5sum)
want_read=$(md5sum < "$S/from-host.bin" | cut -d' ' -f1)

case_run 9p-share -v --stats -k "$GK" -i "$GI" -m 512M --share "$S,tag=host" --share "$R,tag=ro,ro" \
    -a "console=hvc0 quiet minivmm.test=9p"
echo "=== CASE 9p-share-check"
echo "host wrote $want_read"
[ "$(md5sum < "$S/from-guest.bin" 2>/dev/null | cut -d' ' -f1)" = \
  "$(yes MINIVMM-9P-WRITE | head -c 1048576 | md5sum | cut -d' ' -f1)" ] && echo "the guest's file reached the host"
[ "$(cat "$T/canary")" = "the host's canary" ] && echo "canary intact"
[ "$ro_before" = "$(ls -la "$R" | md5sum)" ] && echo "read-only share unchanged"
echo "=== RESULT 9p-share-check status=0"

# The doctor says what would be shared.
case_run 9p-check --check --share "$S,tag=host,ro"

# Bad shares: refused with the reason before anything runs.
case_run 9p-missing -k "$GK" --share "$T/no-such-dir"
case_run 9p-badopt -k "$GK" --share "$S,rw"
case_run 9p-same-tag -k "$GK" -i "$GI" --share "$S,tag=x" --share "$R,tag=x"
rm -rf "$S" "$R" "$T/canary"
