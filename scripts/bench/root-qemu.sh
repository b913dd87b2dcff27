#!/bin/sh
# Run a QEMU binary linked against a Debian root's libraries on the
# host's file system, so that the caller's paths (and a 9p export of /)
# mean the same as for a native build:
#   scripts/bench/root-qemu.sh ROOT MODULE_DIR QEMU_BINARY QEMU-ARGS...
# The root's ld.so and library path run it; everything QEMU and Mesa
# would look up at compiled-in /usr paths is pointed into the root.
# LD_PRELOAD (e.g. a sanitizer's) is not ours.
set -eu
R=$1 M=$2 Q=$3
shift 3
L=$R/usr/lib/x86_64-linux-gnu
unset LD_PRELOAD WAYLAND_DISPLAY
export QEMU_MODULE_DIR="$M" LIBGL_DRIVERS_PATH="$L/dri" \
       GBM_BACKENDS_PATH="$L/gbm" \
       __EGL_VENDOR_LIBRARY_DIRS="$R/usr/share/glvnd/egl_vendor.d"
exec "$L/ld-linux-x86-64.so.2" --library-path "$L:$L/pulseaudio" "$Q" \
    -L "$R/usr/share/qemu" -L "$R/usr/share/seabios" -L "$R/usr/lib/ipxe/qemu" \
    "$@"
