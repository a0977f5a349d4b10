#!/usr/bin/env bash
# includes.sh [-v]: the code's include arrows between folders, counted, and whether the core
# stays below the rest. Run from anywhere in the clone; -v also lists each file's includes.
#
# The rule it checks (make check-unit runs it): the core headers that device models and
# firmware build on (vmm/machine.h, mem.h, bus.h, err.h, console.h, config.h, run_end.h)
# include nothing from devices/, firmware/ or fdt/. Arrows go from the parts to the core,
# never back, so a device can be read, built and tested against the core alone.
set -euo pipefail
cd "$(dirname "$0")/.."
verbose=${1:-}
core="vmm/machine.h vmm/mem.h vmm/bus.h vmm/err.h vmm/console.h vmm/config.h vmm/run_end.h"

# "from-folder to-folder" for every local #include "..." in the product's sources.
arrows() {
    for f in $(git ls-files 'vmm/*.[ch]' 'devices/*.[ch]' 'firmware/*.[ch]' 'fdt/*.[ch]' \
                             'include/*.h'); do
        sed -n 's/^#include "\(.*\)"/\1/p' "$f" | while read -r inc; do
            target=$(realpath -m --relative-to=. "$(dirname "$f")/$inc")
            [ "$verbose" = -v ] && echo "  $f -> $target" >&2
            echo "$(dirname "$f") $(dirname "$target")"
        done
    done
}
echo "include arrows between folders (count, from -> to):"
arrows | awk '$1 != $2' | sort | uniq -c | sed 's/ \([a-z]*\) \([a-z]*\)$/ \1 -> \2/'

bad=0
for h in $core; do
    while read -r inc; do
        case $(realpath -m --relative-to=. "$(dirname "$h")/$inc") in
        vmm/*|include/*) ;;
        *) echo "core header $h includes $inc: the core must not depend on the parts"; bad=1 ;;
        esac
    done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$h")
done
[ $bad = 0 ] && echo "the core headers ($core) include only the core"
exit $bad
