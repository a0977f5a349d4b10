#!/usr/bin/env bash
# Runs libFuzzer targets for a while each: run.sh SECONDS NAME...
#
# Each build/fuzz/fuzz_NAME fuzzes a scratch copy of tests/fuzz/corpus/NAME (the committed
# seeds stay as they are) in build/fuzz/corpus/NAME; crash artifacts go to
# build/fuzz/artifacts/NAME-*, the full output to build/fuzz/logs/NAME.log. Prints one line per
# target and exits non-zero if any target crashed (or failed to run).
set -u
secs=$1
shift
B=build/fuzz
mkdir -p "$B/artifacts" "$B/logs"
failed=()
for name in "$@"; do
    bin=$B/fuzz_$name corpus=$B/corpus/$name log=$B/logs/$name.log
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp -R tests/fuzz/corpus/"$name"/. "$corpus"/ 2>/dev/null || true
    # Leak detection is on (ASan's default with libFuzzer); a hang of 10 s counts as a crash.
    UBSAN_OPTIONS=print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS} \
        "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$B/artifacts/$name-" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    units=$(find "$corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz %-15s ok     %10s execs in %ss, corpus %s\n' "$name" "${execs:-?}" "$secs" \
            "$units"
    else
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        printf 'fuzz %-15s FAILED %10s execs (exit %s), artifact %s, log %s\n' "$name" \
            "${execs:-?}" "$rc" "${art:-none}" "$log"
        grep -m 4 -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error|^ +#[0-2] ' "$log" | sed 's/^/    /'
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi
