#!/bin/sh
# Build QEMU and the qtests after each patch of the series, in order, and
# run the qtests that exist at that point (qos-test, and the region's own
# test once it is there), so that every patch is known to build and to
# pass its tests (bisectable).  Uses a worktree of the patched tree and
# an object directory of its own.  BISECT_FROM=N starts at the N-th
# patch, after a fix to it, when the ones before are known good.
#   scripts/check-bisect.sh GIT_TREE OBJ_DIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$(realpath "$1")
obj=$(realpath -m "$2")
wt="$tree.bisect"

# The worktree is kept between runs: a fresh one would touch every file
# and rebuild everything.
if ! git -C "$wt" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    rm -rf "$wt"
    git -C "$tree" worktree prune
    git -C "$tree" worktree add -q -f --detach "$wt" base
fi
# configure.sh puts the device list into the tree; a new worktree lacks it
cp "$top/scripts/build/devices-x86_64.mak" \
   "$wt/configs/devices/x86_64-softmmu/vgpu-series.mak"
if [ ! -f "$obj/build.ninja" ]; then
    "$top/scripts/build/configure.sh" "$wt" "$obj" > "$obj.configure.log" 2>&1
fi
n=0
for c in $(git -C "$tree" rev-list --reverse base..main); do
    n=$((n + 1))
    [ "$n" -ge "${BISECT_FROM:-1}" ] || continue
    git -C "$wt" checkout -q --detach "$c"
    subject=$(git -C "$wt" log -1 --format=%s)
    tests="qtest-x86_64/qos-test"
    targets="qemu-system-x86_64 tests/qtest/qos-test"
    if [ -f "$wt/tests/qtest/virtio-gpu-region-test.c" ]; then
        tests="$tests qtest-x86_64/virtio-gpu-region-test"
        targets="$targets tests/qtest/virtio-gpu-region-test"
    fi
    # shellcheck disable=SC2086
    if ! ninja -C "$obj" $targets $("$top/scripts/build/modules.sh" "$obj") \
            > "$obj.log" 2>&1; then
        tail -n 20 "$obj.log"
        echo "not ok $n - does not build after: $subject"
        exit 1
    fi
    # shellcheck disable=SC2086
    if ! meson test -C "$obj" --no-rebuild --timeout-multiplier 3 \
            $tests > "$obj.log" 2>&1; then
        grep -E "^not ok|ERROR|Bail out" "$obj/meson-logs/testlog.txt" |
            head -n 10
        echo "not ok $n - qtests fail after: $subject"
        exit 1
    fi
    echo "ok $n - builds and passes its qtests after: $subject"
done
echo "all $n patches build and pass their qtests in order${BISECT_FROM:+ (from $BISECT_FROM)}"
