#!/bin/sh
# Developer helper: copy the new files of this repository into the dev
# worktree (build/dev) after editing them here, so that a commit there can
# be amended and exported again with scripts/export-patch.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dev=${1:-$top/build/dev}
cd "$top"
for f in $(find hw-display include-hw tests-qtest -type f 2>/dev/null); do
    case "$f" in
    hw-display/*)  d="hw/display/${f#hw-display/}" ;;
    include-hw/*)  d="include/hw/${f#include-hw/}" ;;
    tests-qtest/*) d="tests/qtest/${f#tests-qtest/}" ;;
    esac
    if [ -e "$dev/$d" ] && ! cmp -s "$f" "$dev/$d"; then
        cp "$f" "$dev/$d"
        echo "synced $d"
    fi
done
