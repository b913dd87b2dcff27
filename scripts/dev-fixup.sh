#!/bin/sh
# Developer helper: fold the working changes of the dev worktree (after
# scripts/dev-sync.sh) into the commit whose subject matches PATTERN,
# then re-export every patch of the series from the dev worktree.
#   scripts/dev-fixup.sh PATTERN [DEV_TREE]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pattern=$1
dev=${2:-$top/build/dev}
"$top/scripts/dev-sync.sh" "$dev"
cd "$dev"
target=$(git log --format=%H --grep="$pattern" base..HEAD | head -n 1)
[ -n "$target" ] || { echo "no commit matches $pattern" >&2; exit 1; }
git add -A
git -c user.name=x -c user.email=x@x commit -q --fixup="$target"
GIT_SEQUENCE_EDITOR=true git -c user.name=x -c user.email=x@x \
    rebase -q -i --autosquash base
# Re-export in series order: the n-th commit after base is the n-th patch.
i=0
for c in $(git rev-list --reverse base..HEAD); do
    i=$((i + 1))
    name=$(sed -n "${i}p" "$top/patches/series")
    "$top/scripts/export-patch.sh" "$dev" "$c" "$name" >/dev/null
done
echo "folded into: $(git log -1 --format=%s "$(git log --format=%H --grep="$pattern" base..HEAD | head -n 1)")"
