#!/bin/sh
# Configure the patched tree for the minimal x86_64-softmmu build.
#   scripts/build/configure.sh SRC_TREE OBJ_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(realpath "$1")
obj=$(realpath -m "$2")

cp "$here/devices-x86_64.mak" "$src/configs/devices/x86_64-softmmu/vgpu-series.mak"
exclude=$(git -C "$src" rev-parse --path-format=absolute --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF '/configs/devices/x86_64-softmmu/vgpu-series.mak' "$exclude" 2>/dev/null ||
    echo '/configs/devices/x86_64-softmmu/vgpu-series.mak' >> "$exclude"

# Options that changed name between the lines' QEMU versions.
major=$(cut -d. -f1 "$src/VERSION")
if [ "$major" -ge 9 ]; then
    # and, as Debian does, without the firmware its +ds source lacks
    nodownload="--disable-download --disable-install-blobs"
    sanitizers="--enable-asan --enable-ubsan"
else
    nodownload=--with-git-submodules=ignore
    sanitizers=--enable-sanitizers
fi
# SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer
[ -z "${SANITIZE:-}" ] && sanitizers=

mkdir -p "$obj"
cd "$obj"
# Debian's +dfsg source ships no firmware blobs: take them from the
# seabios and qemu-system-data packages.  Modules, as Debian builds QEMU:
# virtio-gpu, virgl and the GL UI are loadable modules, so every test
# crosses the module boundary a packaged binary crosses.  Seccomp, as
# Debian builds QEMU: the tests run the device under libvirt's -sandbox.
"$src/configure" \
    --target-list=x86_64-softmmu \
    --without-default-devices --with-devices-x86_64=vgpu-series \
    $nodownload \
    --disable-docs --disable-user --disable-tools --enable-modules \
    --disable-gtk --disable-sdl --disable-vnc --disable-spice --disable-slirp \
    --disable-xen --disable-curses --disable-dbus-display \
    --enable-opengl --enable-virglrenderer --enable-virtfs --enable-seccomp \
    --enable-trace-backends=log --enable-werror \
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
    $sanitizers ${QEMU_CONFIGURE_EXTRA:-}

# Run from the build directory, QEMU looks for firmware under qemu-bundle/.
for d in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
    mkdir -p "$obj/qemu-bundle$(dirname "$d")"
    ln -sfn "$d" "$obj/qemu-bundle$d"
done
