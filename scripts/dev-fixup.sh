#!/bin/sh
# Developer helper: fold the working changes of the dev worktree into the
# series of the line (BASE), then re-export every patch.  A change to a
# new file goes to where that file lives, whole: this repository's
# hw-display/, include-hw/ or tests-qtest/ (through the patch that adds
# it, which no other patch touches).  Any other change, an edit of QEMU's
# own files, goes into the patch whose subject matches PATTERN.  Edits of
# the new files made here are copied into the dev worktree first
# (scripts/dev-sync.sh).
#   scripts/dev-fixup.sh PATTERN [DEV_TREE]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/line.sh"
pattern=$1
dev=$(realpath "${2:-$top/build/$LINE/dev}")
"$top/scripts/dev-sync.sh" "$dev"
cd "$dev"
git() { command git -c user.name=x -c user.email=x@x "$@"; }

git add -A
for f in $(git diff --cached --name-only); do
    owner=$(git log --format=%H --diff-filter=A base..HEAD -- "$f" | tail -n 1)
    if [ -n "$owner" ]; then
        git commit -q --fixup="$owner" -- "$f"
    fi
done
if ! git diff --cached --quiet; then
    target=$(git log --format=%H --grep="$pattern" base..HEAD | head -n 1)
    [ -n "$target" ] || { echo "no commit matches $pattern" >&2; exit 1; }
    git commit -q --fixup="$target"
fi
GIT_SEQUENCE_EDITOR=true git rebase -q -i --autosquash base

# Re-export in series order: the n-th commit after base is the n-th patch.
i=0
for c in $(git rev-list --reverse base..HEAD); do
    i=$((i + 1))
    name=$(grep -v '^#' "$PATCH_DIR/series" | sed -n "${i}p")
    "$top/scripts/export-patch.sh" "$dev" "$c" "$name" >/dev/null
done
echo "re-exported $i patches"
