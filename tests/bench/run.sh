#!/usr/bin/env bash
# make bench: minivmm against QEMU (Debian's ppc64el build, -accel kvm -M pseries) in the same
# emulated POWER host, in the same run, alternating. Prints a table of medians and ratios and
# writes build/bench/results.csv (every run) and build/bench/summary.csv (the table).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/host/common.sh"
out=$top/build/bench
mkdir -p "$out"
log=$out/bench.log
export ROUNDS=${ROUNDS:-5}

start=$(date +%s)
# The bench guest: the test guest's /init and modules, plus the hcall loop.
[ -x "$top/build/guest/rtas-loop" ] && [ -x "$top/build/tests/vsockxfer" ] && [ -x "$top/build/tests/firstbyte" ] ||
    die "build the bench guest's programs first (make bench)"
initrd=$out/guest.cpio.gz
MODULES="$GUEST_MODULES" bash "$top/tests/host/mkinitramfs.sh" "$initrd" "$top/tests/guest/init" \
    "$top/build/guest/rtas-loop=bin/rtas-loop" "$top/build/tests/vsockxfer=bin/vsockxfer" \
    "$here/blk-count=bin/blk-count"
case "$(uname -m)" in
ppc64le|ppc64)
    [ -n "${QEMU_DIR:-}" ] || die "on a POWER host set QEMU_DIR to a directory holding qemu-system-ppc64"
    kdir=$(bash "$top/tests/host/fetch-kernel.sh")
    MINIVMM=$top/minivmm GUEST_KERNEL=$kdir/vmlinux GUEST_INITRD=$initrd sh "$here/in-l1.sh" > "$log" 2>&1
    ;;
*)
    # The script reads ROUNDS, GUEST_INITRD and BENCH_PARTS from the L1's environment: set
    # them inside the script (the L1's own guest initramfs has no rtas-loop; this one goes in
    # beside it).
    script=$(mktemp); trap 'rm -f "$script"' EXIT
    { echo "ROUNDS=$ROUNDS GUEST_INITRD=/guest/bench.cpio.gz BENCH_PARTS='${BENCH_PARTS:-all}'"
      cat "$here/in-l1.sh"; } > "$script"
    L1_EXTRA="$initrd=guest/bench.cpio.gz $(bash "$top/tests/host/modtree.sh" "$out/modtree") \
              $top/build/tests/vsockxfer=bin/vsockxfer $top/build/tests/firstbyte=bin/firstbyte ${L1_EXTRA:-}" \
        L1_PASST=1 bash "$top/tests/host/l1-run-qemu.sh" "$script" 3000 > "$log" 2>&1 || true
    ;;
esac
grep -q BENCH-DONE "$log" || die "the benchmark did not finish; see $log"

tr -d '\r' < "$log" | grep '^BENCH vmm=' | sed 's/^BENCH //' > "$out/runs.txt"
# One CSV row per run.
{ echo "vmm,mode,round,status,marker_s,exit_s,rss_kb,write_s,read_s,con_s,hcall_calls,hcall_s,hcall_per_s,before_clock_s,p9w_s,p9r_s,p9meta_s,net_rx_s,net_tx_s,vsock_s,vsock_bytes,exits,w_exits,w_hcalls,w_vmm_hcalls,r_exits,r_hcalls,r_vmm_hcalls,count_mib,fb_cpu_us,fb_wall_us,fb_guest_us,fb_user_us,fb_sys_us"
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         rate = (v["calls"] != "" && v["hcall_s"] > 0) ? sprintf("%.0f", v["calls"] / v["hcall_s"]) : ""
         # What the host saw before the guest kernel started its clock: the VMM, its firmware
         # and the kernel'"'"'s earliest boot.
         before = ""
         # (Not when the marker was only found after the exit: then marker_s is exit_s.)
         if (v["guest_up_s"] != "" && v["guest_up_s"] != "none" && v["marker_s"] != "none" &&
             v["marker_s"] != v["exit_s"])
             before = sprintf("%.2f", v["marker_s"] - v["guest_up_s"])
         printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s", v["vmm"], v["mode"], v["round"],
                v["status"], v["marker_s"], v["exit_s"], v["rss_kb"], v["write_s"], v["read_s"],
                v["seconds"], v["calls"], v["hcall_s"], rate, before, v["p9w_s"], v["p9r_s"],
                v["p9meta_s"], v["rx_s"], v["tx_s"], v["vsock_s"], v["vsock_bytes"], v["exits"]
         printf ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", v["w_exits"], v["w_hcalls"], v["w_vmm_hcalls"],
                v["r_exits"], v["r_hcalls"], v["r_vmm_hcalls"], v["count_mib"], v["fb_cpu_us"], v["fb_wall_us"],
                v["fb_guest_us"], v["fb_user_us"], v["fb_sys_us"];
         delete v }' "$out/runs.txt"; } > "$out/results.csv"

# awk: the median of x[0..n-1] (sorts x), and the column named col of the CSV header.
AWK_LIB='
function med(x, n,    i, j, t) {
    for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
    return (n % 2) ? x[int(n / 2)] : (x[n / 2 - 1] + x[n / 2]) / 2
}
NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
'
median() {   # median VMM MODE COLUMN
    awk -F, -v vmm="$1" -v mode="$2" -v col="$3" "$AWK_LIB"'
        $1 == vmm && $2 == mode && $4 == 0 && $c != "" && $c != "none" { x[n++] = $c }
        END { if (!n) print "-"; else print med(x, n) }' "$out/results.csv"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# The median over rounds of a run's value over its peer's in the same round. A round's runs
# are back to back, so a slow spell of the emulated host (they come and go, from 1x to 2x)
# weighs on both sides of each ratio instead of on whichever medians it fell into.
paired() {   # paired VMM PEER MODE COLUMN [rate]: "rate" compares the inverse (times -> rates)
    awk -F, -v a="$1" -v b="$2" -v mode="$3" -v col="$4" -v rate="${5:-}" "$AWK_LIB"'
        $2 == mode && $4 == 0 && $c != "" && $c != "none" { if ($1 == a) x[$3] = $c; if ($1 == b) y[$3] = $c }
        END { for (r in x) if ((r in y) && x[r] > 0 && y[r] > 0) q[n++] = rate ? y[r] / x[r] : x[r] / y[r]
              if (!n) print "-"; else printf "%.2f", med(q, n) }' "$out/results.csv"
}

info=$(tr -d '\r' < "$log" | grep '^BENCH-INFO' | head -n1)
mv_bytes=$(sed -n 's/.*minivmm_bytes=\([0-9]*\).*/\1/p' <<< "$info")
q_kb=$(sed -n 's/.*qemu_kb=\([0-9]*\).*/\1/p' <<< "$info")
# How much the guest moved through its disk each way (its BENCH-BLK line says).
mib=$(awk 'match($0, / mib=[0-9]+/) { print substr($0, RSTART + 5, RLENGTH - 5); exit }' "$out/runs.txt")

m_up=$(median minivmm marker marker_s) v_up=$(median qemu-vof marker marker_s) s_up=$(median qemu-slof marker marker_s)
m_bc=$(median minivmm marker before_clock_s) v_bc=$(median qemu-vof marker before_clock_s) s_bc=$(median qemu-slof marker before_clock_s)
m_ex=$(median minivmm marker exit_s) v_ex=$(median qemu-vof marker exit_s) s_ex=$(median qemu-slof marker exit_s)
m_rss=$(median minivmm bench rss_kb) v_rss=$(median qemu-vof bench rss_kb)
m_w=$(median minivmm bench write_s) v_w=$(median qemu-vof bench write_s)
m_r=$(median minivmm bench read_s) v_r=$(median qemu-vof bench read_s)
m_c=$(median minivmm bench con_s) v_c=$(median qemu-vof bench con_s)
m_9w=$(median minivmm bench p9w_s) v_9w=$(median qemu-vof bench p9w_s)
m_9r=$(median minivmm bench p9r_s) v_9r=$(median qemu-vof bench p9r_s)
m_9m=$(median minivmm bench p9meta_s) v_9m=$(median qemu-vof bench p9meta_s)
m_nr=$(median minivmm bench net_rx_s) v_nr=$(median qemu-vof bench net_rx_s)
m_nt=$(median minivmm bench net_tx_s) v_nt=$(median qemu-vof bench net_tx_s)
# vsock: the big runs' time; exits per MiB moved (64 MiB each way) over the 1-byte runs'.
m_vs=$(awk -F, -v col=vsock_s "$AWK_LIB"'$2 == "vsock" && $4 == 0 && $21 == 67108864 { x[n++] = $c }
      END { if (!n) print "-"; else print med(x, n) }' "$out/results.csv")
vs_exits=$(awk -F, -v col=exits "$AWK_LIB"'$2 == "vsock" && $4 == 0 && $c != "none" {
          if ($21 == 67108864) big[nb++] = $c; else small[ns++] = $c }
      END { if (!nb || !ns) print "-"; else printf "%.1f", (med(big, nb) - med(small, ns)) / 128 }' "$out/results.csv")
m_rt=$(median minivmm rootfs exit_s) v_rt=$(median qemu-vof rootfs exit_s)
m_h=$(median minivmm bench hcall_per_s) v_h=$(median qemu-vof bench hcall_per_s) s_h=$(median qemu-slof bench hcall_per_s)
tput() { awk -v s="$1" -v amount="$2" 'BEGIN { if (s == "-" || s <= 0 || amount == "") print "-"; else printf "%.1f", amount / s }'; }
# The counts' rows: a median count over the MiB it moved (QEMU's are below 0.1 per MiB: two
# decimals); CPU microseconds as milliseconds.
cmib=$(awk 'match($0, / count_mib=[0-9]+/) { print substr($0, RSTART + 11, RLENGTH - 11); exit }' "$out/runs.txt")
per() { awk -v n="$1" -v d="$2" -v f="${3:-%.2f}" 'BEGIN { if (n == "-" || d == "" || d <= 0) print "-"; else printf f, n / d }'; }
for c in w_exits r_exits w_hcalls r_hcalls; do
    eval "m_$c=\$(per \"\$(median minivmm count $c)\" \"\$cmib\")"
    eval "v_$c=\$(per \"\$(median qemu-vof count $c)\" \"\$cmib\")"
done
m_fb=$(per "$(median minivmm firstbyte fb_cpu_us)" 1000 %.1f) v_fb=$(per "$(median qemu-vof firstbyte fb_cpu_us)" 1000 %.1f)

{
echo "metric,minivmm,qemu_vof,qemu_slof,minivmm_over_vof,minivmm_over_slof"
echo "start_to_marker_s,$m_up,$v_up,$s_up,$(paired minivmm qemu-vof marker marker_s),$(paired minivmm qemu-slof marker marker_s)"
echo "start_to_guest_clock_s,$m_bc,$v_bc,$s_bc,$(paired minivmm qemu-vof marker before_clock_s),$(paired minivmm qemu-slof marker before_clock_s)"
echo "start_to_exit_s,$m_ex,$v_ex,$s_ex,$(paired minivmm qemu-vof marker exit_s),$(paired minivmm qemu-slof marker exit_s)"
echo "rootfs_true_exit_s,$m_rt,$v_rt,,$(paired minivmm qemu-vof rootfs exit_s),"
echo "vmm_memory_kib,$m_rss,$v_rss,,$(ratio "$m_rss" "$v_rss"),"
echo "on_disk_kib,$((mv_bytes / 1024)),$q_kb,,$(ratio "$((mv_bytes / 1024))" "$q_kb"),"
echo "blk_write_mib_s,$(tput "$m_w" "$mib"),$(tput "$v_w" "$mib"),,$(paired minivmm qemu-vof bench write_s rate),"
echo "blk_read_mib_s,$(tput "$m_r" "$mib"),$(tput "$v_r" "$mib"),,$(paired minivmm qemu-vof bench read_s rate),"
echo "console_kib_s,$(tput "$m_c" 64),$(tput "$v_c" 64),,$(paired minivmm qemu-vof bench con_s rate),"
echo "9p_write_mib_s,$(tput "$m_9w" 128),$(tput "$v_9w" 128),,$(paired minivmm qemu-vof bench p9w_s rate),"
echo "9p_read_mib_s,$(tput "$m_9r" 128),$(tput "$v_9r" 128),,$(paired minivmm qemu-vof bench p9r_s rate),"
echo "9p_stat_2000_files_s,$m_9m,$v_9m,,$(paired minivmm qemu-vof bench p9meta_s),"
echo "net_host_to_guest_mib_s,$(tput "$m_nr" 64),$(tput "$v_nr" 64),,$(paired minivmm qemu-vof bench net_rx_s rate),"
echo "net_guest_to_host_mib_s,$(tput "$m_nt" 16),$(tput "$v_nt" 16),,$(paired minivmm qemu-vof bench net_tx_s rate),"
echo "vsock_mib_s_each_way,$(tput "$m_vs" 64),,,,"
echo "vsock_exits_per_mib,$vs_exits,,,,"
echo "hcall_rtas_per_s,$m_h,$v_h,$s_h,$(paired minivmm qemu-vof bench hcall_per_s),$(paired minivmm qemu-slof bench hcall_per_s)"
echo "blk_write_exits_per_mib,$m_w_exits,$v_w_exits,,$(paired minivmm qemu-vof count w_exits),"
echo "blk_read_exits_per_mib,$m_r_exits,$v_r_exits,,$(paired minivmm qemu-vof count r_exits),"
echo "blk_write_hcalls_per_mib,$m_w_hcalls,$v_w_hcalls,,$(paired minivmm qemu-vof count w_hcalls),"
echo "blk_read_hcalls_per_mib,$m_r_hcalls,$v_r_hcalls,,$(paired minivmm qemu-vof count r_hcalls),"
echo "first_output_cpu_ms,$m_fb,$v_fb,,$(paired minivmm qemu-vof firstbyte fb_cpu_us),"
} > "$out/summary.csv"

echo "minivmm vs QEMU $( ( [ -x "$(command -v qemu-system-ppc64)" ] && qemu-system-ppc64 --version | head -n1 ) || echo) in the same"
echo "emulated POWER9 host, same run, $ROUNDS alternating rounds: medians, and as ratios of times and"
echo "rates the median of each round's own ratio. Absolute times inside an emulated host mean"
echo "little; compare the ratios. ($(( $(date +%s) - start )) s in all)"
echo
awk -F, '{ printf "%-25s %10s %10s %10s %17s %18s\n", $1, $2, $3, $4, $5, $6 }' "$out/summary.csv"
echo
echo "start_to_guest_clock_s: start_to_marker_s minus the guest's uptime at the marker: the"
echo "VMM, its firmware and the kernel's earliest boot (before it starts its clock); the rest"
echo "is the same kernel and /init, whichever VMM runs them."
echo "vmm_memory_kib: resident memory of the VMM process outside guest RAM, at the guest's"
echo "/init marker. on_disk_kib: the static minivmm binary vs QEMU's binary, libraries and"
echo "firmware. hcall_rtas_per_s: guest user-space rtas(2) get-time-of-day calls per second;"
echo "each is a round trip guest kernel -> RTAS blob -> H_RTAS hcall -> VMM userspace -> guest."
echo "9p_*: a shared host directory (minivmm --share, QEMU -virtfs security_model=none), the"
echo "guest's msize 512 KiB: 128 MiB written (fsync) and read, then ls -lR over 2000 files."
echo "net_*: TCP through passt (minivmm --net passt; QEMU -netdev stream to a passt started"
echo "alike), the guest's address by DHCP: wget of 64 MiB from a web server on the emulated"
echo "host's loopback (the guest's gateway), and 16 MiB sent with nc to a sink there."
echo "vsock_*: minivmm only (QEMU 7.2 has only the kernel's vhost-vsock): 64 MiB each way at once"
echo "on one connection between vsockxfer in the guest and in the host (hybrid vsock), every"
echo "byte checked; exits to minivmm per MiB moved (128 MiB), over a run that moves 1 byte."
echo "blk_*_exits_per_mib, blk_*_hcalls_per_mib: counts, not times (lower is better; ratio"
echo "minivmm/QEMU+VOF), by the emulated host's kernel for either VMM (tracefs hist triggers)"
echo "while the guest (tests/bench/blk-count) writes 128 MiB to its disk (fsync) and reads them"
echo "back: exits = KVM_RUN calls (each follows an exit to the VMM's userspace: hcall, MMIO or"
echo "signal), hcalls = those KVM-HV handles or passes on (all but H_CEDE). BENCH-HCALLS lines"
echo "in bench.log name them. first_output_cpu_ms: the VMM's CPU time (user+sys, every thread; the"
echo "vCPU's time in the guest too) from exec to the guest's first console byte (the kernel's"
echo "first printk line, no quiet), from wait4 (tests/host/firstbyte.c); lower is better."
echo "Every run: $out/results.csv; this table: $out/summary.csv"
tr -d '\r' < "$log" | grep '^BENCH-ERROR' | sort -u || true
