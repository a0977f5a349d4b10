# Unattended-run cases (sourced by cases.sh; same conventions): timeouts, patterns, the JSON
# summary, logs and the guest's exit code.
GK=$GUEST_KERNEL GI=$GUEST_INITRD

show_json() { echo "--- JSON"; cat "$1" 2>/dev/null; echo "--- END JSON"; }

echo "=== CASE ci-timeout"
timeout "$LIMIT" "$MINIVMM" -q -k "$GK" -i "$GI" -a "console=hvc0 quiet minivmm.test=hang" \
    --timeout 20 --json "$T/timeout.json" </dev/null 2>&1
st=$?; show_json "$T/timeout.json"; echo "=== RESULT ci-timeout status=$st"

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
