#!/bin/sh
# Developer helper: carry edits of this repository's new files (the
# version the adding patch has) into the dev worktree (build/BASE/dev), where
# later patches may have changed the same file: the edit is merged into
# the worktree's version with git merge-file, never copied over it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dev=${1:-$top/build/${BASE:-debian12}/dev}
cd "$top"
old=$(mktemp)
trap 'rm -f "$old"' EXIT
for f in $(find hw-display include-hw tests-qtest -type f 2>/dev/null); do
    case "$f" in
    hw-display/*)  d="hw/display/${f#hw-display/}" ;;
    include-hw/*)  d="include/hw/${f#include-hw/}" ;;
    tests-qtest/*) d="tests/qtest/${f#tests-qtest/}" ;;
    esac
    owner=$(git -C "$dev" log --format=%H --diff-filter=A base..HEAD -- "$d" |
            tail -n 1)
    if [ -z "$owner" ]; then
        # not in the series yet: the file is new in the worktree too
        if ! cmp -s "$f" "$dev/$d"; then
            mkdir -p "$(dirname "$dev/$d")"
            cp "$f" "$dev/$d"
            echo "synced $d"
        fi
        continue
    fi
    git -C "$dev" show "$owner:$d" > "$old"
    cmp -s "$f" "$old" && continue
    git merge-file "$dev/$d" "$old" "$f" ||
        { echo "dev-sync: conflict merging $f into $dev/$d" >&2; exit 1; }
    echo "merged $d"
done
