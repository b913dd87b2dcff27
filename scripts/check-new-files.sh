#!/bin/sh
# Every new file of this repository (hw-display/, include-hw/,
# tests-qtest/) is the code that runs: it must equal its counterpart in
# the patched tree of the line, byte for byte.
#   scripts/check-new-files.sh GIT_TREE
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/paths.sh"
tree=$1
n=0 bad=0
for f in $(cd "$top" && find hw-display include-hw tests-qtest -type f | sort); do
    d=$(tree_path "$f")
    n=$((n + 1))
    if ! cmp -s "$top/$f" "$tree/$d"; then
        echo "check-files: $f differs from $d in $tree" >&2
        bad=$((bad + 1))
    fi
done
[ "$bad" -eq 0 ] || { echo "check-files: error: $bad of $n new files differ" >&2; exit 1; }
echo "check-files: $n new files equal their counterparts in $tree"
