#!/bin/sh
# make check: every line's check-line, one after the other.
#   scripts/check-lines.sh LINE...
# A line built in its own Debian root (LINE_ROOT) first needs that root,
# its source and its images: downloads and unpacking, which mostly wait
# on the network and the disk.  On a machine without them they are made
# in the background from the start (make prepare), beside the lines
# before it, and waited for before the line's own check.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

started=
for l in "$@"; do
    grep -q '^LINE_ROOT=1' "scripts/lines/$l.conf" || continue
    [ -f "build/$l/os/.stamp" ] && continue
    # the machine's packages first: two apt runs would fight for its lock
    [ -n "$started" ] || scripts/deps.sh mmdebstrap || exit 1
    mkdir -p "build/$l"
    echo "check: $l: its root, source and images are made in the" \
        "background (log: build/$l/prepare.log)"
    make --no-print-directory BASE="$l" prepare > "build/$l/prepare.log" 2>&1 &
    eval "prepare_$l=\$!"
    started="$started $l"
done

for l in "$@"; do
    pid=$(eval echo "\${prepare_$l:-}")
    if [ -n "$pid" ]; then
        if ! wait "$pid"; then
            tail -n 30 "build/$l/prepare.log"
            echo "check: $l: make prepare failed (build/$l/prepare.log)" >&2
            exit 1
        fi
        sed "s/^/prepare: /" "build/$l/prepare.log"
    fi
    make --no-print-directory BASE="$l" check-line || exit 1
done
