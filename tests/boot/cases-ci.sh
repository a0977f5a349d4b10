# Unattended-run cases (sourced by cases.sh; same conventions): timeouts, patterns, the JSON
# summary, logs and the guest's exit code.
GK=$GUEST_KERNEL GI=$GUEST_INITRD

show_json() { echo "--- JSON"; cat "$1" 2>/dev/null; echo "--- END JSON"; }

echo "=== CASE ci-timeout"
timeout "$LIMIT" "$MINIVMM" -q -k "$GK" -i "$GI" -a "console=hvc0 quiet minivmm.test=hang" \
    --timeout 20 --json "$T/timeout.json" </dev/null 2>&1
st=$?; show_json "$T/timeout.json"; echo "=== RESULT ci-timeout status=$st"

# A hang is reported on: at --timeout (above), and on SIGUSR1 while the guest runs on (two
# vCPUs, each paused at its next exit for it; the guest's ticks go on after each report).
echo "=== CASE ci-sigusr1"
"$MINIVMM" -q -c 2 -k "$GK" -i "$GI" --timeout 300 --log "$T/usr1.log" --json "$T/usr1.json" \
    -a "console=hvc0 quiet minivmm.test=tick" \
    </dev/null > "$T/usr1.out" 2>&1 &
pid=$!
count() { n=$(grep -c "$1" "$2" 2>/dev/null); echo "${n:-0}"; }
for _ in $(seq 240); do [ "$(count TICK "$T/usr1.log")" -ge 2 ] && break; sleep 1; done
for n in 1 2; do
    kill -USR1 "$pid"
    for _ in $(seq 30); do [ "$(count '(asked for)' "$T/usr1.out")" -ge $n ] && break; sleep 1; done
    before=$(count TICK "$T/usr1.log")   # the report is out: does the guest run on?
    for _ in $(seq 60); do [ "$(count TICK "$T/usr1.log")" -gt "$before" ] && break; sleep 1; done
    [ "$(count TICK "$T/usr1.log")" -gt "$before" ] && echo "the guest ran on after report $n"
done
kill -TERM "$pid"; wait "$pid"; st=$?
cat "$T/usr1.out"; echo "reports: $(count 'what the vCPUs were doing (asked for)' "$T/usr1.out")"
show_json "$T/usr1.json"; echo "=== RESULT ci-sigusr1 status=$st"

echo "=== CASE ci-expect"
timeout "$LIMIT" "$MINIVMM" -k "$GK" -i "$GI" -a "console=hvc0 quiet minivmm.test=hang" \
    --expect MINIVMM-HANG --json "$T/expect.json" </dev/null 2>&1
st=$?; show_json "$T/expect.json"; echo "=== RESULT ci-expect status=$st"

echo "=== CASE ci-panic"
timeout "$LIMIT" "$MINIVMM" -q -k "$GK" -i "$GI" -a "console=hvc0 minivmm.test=panic" \
    --json "$T/panic.json" </dev/null 2>&1
st=$?; show_json "$T/panic.json"; echo "=== RESULT ci-panic status=$st"

echo "=== CASE ci-fail-on"
timeout "$LIMIT" "$MINIVMM" -q -k "$GK" -i "$GI" -a "console=hvc0 quiet minivmm.test=hang" \
    --fail-on MINIVMM-HANG --json "$T/fail.json" </dev/null 2>&1
st=$?; show_json "$T/fail.json"; echo "=== RESULT ci-fail-on status=$st"

echo "=== CASE ci-exit-code"
timeout "$LIMIT" "$MINIVMM" -q -k "$GK" -i "$GI" \
    -a "console=hvc0 quiet minivmm.test=exitcode minivmm.code=42" --json "$T/code.json" \
    --log "$T/console.log" </dev/null 2>&1
st=$?; show_json "$T/code.json"
echo "--- LOG"; grep MINIVMM-GUEST-UP "$T/console.log"; echo "--- END LOG"
echo "=== RESULT ci-exit-code status=$st"
