#!/bin/sh
# Run this series' Debian 13 build (build/debian13/obj) like a qemu
# binary, on the host's file system, for make bench-compare:
#   scripts/bench/line-qemu.sh QEMU-ARGS...
# It is linked against the Debian 13 root's libraries, so it runs
# through root-qemu.sh, as the peer does.  No X server: the series'
# egl-headless falls back to surfaceless EGL (llvmpipe) without a DRM
# render node.  Not for venus: the render server would be the host's.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$TOP/build/${LINE_QEMU_BASE:-debian13}
R=$B/os/root
L=$R/usr/lib/x86_64-linux-gnu
[ -x "$B/obj/qemu-system-x86_64" ] && [ -x "$L/ld-linux-x86-64.so.2" ] || {
    echo "line-qemu: error: no build in $B/obj or no root in $R" \
         "(make build BASE=${LINE_QEMU_BASE:-debian13})" >&2
    exit 1
}
exec "$TOP/scripts/bench/root-qemu.sh" "$R" "$B/obj" \
    "$B/obj/qemu-system-x86_64" "$@"
