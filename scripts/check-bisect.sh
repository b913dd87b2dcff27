#!/bin/sh
# Build QEMU and the qtests after each patch of the series, in order, so
# that every patch is known to build (bisectable).  Uses a worktree of
# the patched tree and an object directory of its own.
#   scripts/check-bisect.sh GIT_TREE OBJ_DIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$(realpath "$1")
obj=$(realpath -m "$2")
wt="$tree.bisect"

git -C "$tree" worktree remove -f "$wt" 2>/dev/null || rm -rf "$wt"
git -C "$tree" worktree prune
git -C "$tree" worktree add -q -f --detach "$wt" base
if [ ! -f "$obj/build.ninja" ]; then
    "$top/scripts/build/configure.sh" "$wt" "$obj" > "$obj.configure.log" 2>&1
fi
n=0
for c in $(git -C "$tree" rev-list --reverse base..main); do
    n=$((n + 1))
    git -C "$wt" checkout -q --detach "$c"
    if ninja -C "$obj" qemu-system-x86_64 tests/qtest/qos-test > "$obj.log" 2>&1; then
        echo "ok $n - builds after: $(git -C "$wt" log -1 --format=%s)"
    else
        tail -n 20 "$obj.log"
        echo "not ok $n - does not build after: $(git -C "$wt" log -1 --format=%s)"
        exit 1
    fi
done
echo "all $n patches build in order"
