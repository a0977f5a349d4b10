#!/usr/bin/env bash
# check-image.sh ORDER LINKED IMAGE: the test payload's build rule checks that the image it
# made runs wherever it is loaded, before anything boots it. ORDER is le or be; LINKED is the
# image as linked with its relocations kept (-Wl,-q), IMAGE the same without them.
#
#   - ELF64, EM_PPC64, ORDER's byte order, an executable, entered at 0, with no dynamic
#     section and no relocations: nothing is left for a loader to patch;
#   - its segments start at 0 (virtual = physical), not at 0xc000000000000000;
#   - every address in it is relative: the relocations the linker resolved are PC- or
#     TOC-relative (r2 is computed from the PC at each entry), except two kinds of absolute
#     ones that no instruction ever reaches: ELFv1 function descriptors (.opd), used only to
#     call through a function pointer, and the ELFv2 global entry points, which set r2 to a
#     link-time .TOC. and are used only by calls through pointers or from other modules.
#     So: no call through a pointer (bctrl), and no branch to a global entry.
set -euo pipefail
order=$1 linked=$2 image=$3
readelf=${CROSS_COMPILE:-}readelf objdump=${CROSS_COMPILE:-}objdump
bad() { echo "check-image: $image: $*" >&2; exit 1; }

hdr=$($readelf -h "$image")
want_data=$([ "$order" = le ] && echo "little endian" || echo "big endian")
grep -q 'Class: *ELF64' <<<"$hdr" || bad "not ELF64"
grep -q "Data: .*$want_data" <<<"$hdr" || bad "not $want_data"
grep -q 'Machine: *PowerPC64' <<<"$hdr" || bad "not EM_PPC64"
grep -q 'Type: *EXEC' <<<"$hdr" || bad "not an executable (ET_EXEC)"
grep -q 'Entry point address: *0x0$' <<<"$hdr" || bad "the entry is not at 0"
$readelf -d "$image" | grep -q 'no dynamic section' || bad "has a dynamic section"
$readelf -r "$image" | grep -q 'no relocations' || bad "has relocations"

# LOAD segments: the first at 0, each with its physical address equal to its virtual one.
loads=$($readelf -lW "$image" | awk '$1 == "LOAD" { print $3, $4 }')
[ -n "$loads" ] || bad "no LOAD segment"
[ "$(head -n1 <<<"$loads" | awk '{ print $1 }')" = 0x0000000000000000 ] ||
    bad "the first LOAD segment is not at 0"
awk '$1 != $2 { exit 1 }' <<<"$loads" || bad "a LOAD segment's p_paddr differs from its p_vaddr"

# Relocations the linker resolved: relative ones anywhere, absolute ones only where allowed.
# (They are there because the rule links with -q; with none to read, nothing would be proved.)
grep -q 'R_PPC64_REL24' <<<"$($readelf -rW "$linked")" ||
    bad "has no relocations kept to check (was it linked with -Wl,-q?)"
# The ELFv2 global entries (functions with a separate local entry): each one's lis/addi pair.
globals=$($readelf -sW "$linked" | awk '/FUNC/ && /localentry/ { print $2, $8 }' | sort -u)
entry_words=$(while read -r addr _; do
    if [ -n "$addr" ]; then printf '%016x %016x\n' $((16#$addr)) $((16#$addr + 4)); fi
done <<<"$globals")
$readelf -rW "$linked" | awk -v allowed="$entry_words" '
    BEGIN { n = split(allowed, a, /[ \n]/); for (i = 1; i <= n; i++) entry_word[a[i]] = 1 }
    /^Relocation section/ { section = $3; next }
    $3 !~ /^R_PPC64_/ { next }
    $3 ~ /^R_PPC64_(REL24|REL14(_BRN?TAKEN)?|REL16_(HA|LO))$/ { next }
    $3 ~ /^R_PPC64_TOC16(_HA|_LO|_DS|_LO_DS)?$/ { next }
    section == "'"'.rela.opd'"'" && $3 ~ /^R_PPC64_(ADDR64|TOC)$/ { next }
    $5 == ".TOC." && $3 ~ /^R_PPC64_ADDR16_(HA|LO)$/ && ($1 in entry_word) { next }
    { print "check-image: absolute relocation " $3 " against " $5 " at 0x" $1 " in " section; bad = 1 }
    END { exit bad }
' >&2 || bad "holds absolute addresses, wrong anywhere but at the link address"

# Nothing reaches the descriptors or the global entries: no call through a pointer, no branch
# to a global entry (objdump names a global entry <f>, a local entry <f+0x8>).
dis=$($objdump -d "$image")
! grep -qE $'\t(bctrl|bcctrl)' <<<"$dis" || bad "calls through a function pointer (bctrl)"
while read -r _ name; do
    [ -z "$name" ] || ! grep -qE $'\tb[a-z+-]*\\s[^<]*<'"$name"'>$' <<<"$dis" ||
        bad "branches to $name's global entry (which sets r2 to a link-time address)"
done <<<"$globals"
echo "check-image: $image: $order, ELF64 EM_PPC64 at 0, no relocations, position-independent"
