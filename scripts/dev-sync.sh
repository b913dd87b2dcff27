#!/bin/sh
# Developer helper: carry edits of this repository's new files into the
# dev worktree (build/BASE/dev).  The edit is merged into the worktree's
# version with git merge-file, never copied over it, so that work not
# yet folded back into the repository survives.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/paths.sh"
dev=${1:-$top/build/${BASE:-debian12}/dev}
cd "$top"
old=$(mktemp)
trap 'rm -f "$old"' EXIT
for f in $(find hw-display include-hw tests-qtest -type f 2>/dev/null); do
    d=$(tree_path "$f")
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
