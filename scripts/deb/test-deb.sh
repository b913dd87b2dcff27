#!/bin/sh
# The Linux guest lane against the packaged QEMU: unpack the built
# packages into a throwaway root and boot the guest on its
# qemu-system-x86_64.  Debian 12's binary finds its modules the way an
# installed one does, relative to itself (usr/lib/<triplet>/qemu);
# Debian 13's is not relocatable and is told the directory.  The check
# below makes sure the virtio-gpu-gl module it loaded is the package's.
# Debian 12's looks for firmware relative to itself too, so the root
# also gets the packages it depends on for that: Debian's own
# qemu-system-data (architecture-independent, not rebuilt: the series
# does not touch it), seabios and ipxe-qemu, downloaded with apt-get
# download (Debian 13's finds the same packages in the line's root).
#   scripts/deb/test-deb.sh DEB_DIR GUEST_IMAGE_DIR VENUS_ICD [--tap FILE]
# With DEB_UNPACK_ONLY=1 it stops once the root is unpacked and checked.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(realpath "$1") image=$(realpath "$2") icd=$(realpath "$3")
shift 3
root="$debs/root"
if [ "${1:-}" = --tap ]; then
    rm -f "$2"              # no stale results if this stops early
fi
rm -rf "$root"              # nor a stale binary for the libvirt lane

die() { echo "deb: error: $*" >&2; exit 1; }

# The built package named $1, as a path relative to $debs.
built() {
    (cd "$debs" && ls "./$1"_*.deb 2>/dev/null | head -n 1) | grep . ||
        die "no $1 package in $debs; run make deb first"
}

# Installable: apt resolves what they depend on (simulated; the
# qemu-system metapackage is left out, it needs every other system
# package, which a restricted build does not make).
pkgs=
for p in qemu-system-x86 qemu-system-common qemu-system-gui \
         qemu-block-extra qemu-utils qemu-guest-agent; do
    pkgs="$pkgs $(built "$p")"
done
# Debian 13 carries the gl and spice modules in packages of their own
for p in qemu-system-modules-opengl qemu-system-modules-spice; do
    if ls "$debs/${p}_"*.deb >/dev/null 2>&1; then
        pkgs="$pkgs $(built "$p")"
    fi
done
# shellcheck disable=SC2086
(cd "$debs" && apt-get install -s -q $pkgs) > "$debs/install-check.log" 2>&1 ||
    die "apt cannot install the packages; see $debs/install-check.log"
echo "deb: apt can install:$pkgs"

for deb in $pkgs; do
    case $deb in
    ./qemu-system-*) dpkg -x "$debs/$deb" "$root" ;;
    esac
done
mkdir -p "$debs/deps"
for p in qemu-system-data seabios ipxe-qemu; do
    if ! ls "$debs/deps/${p}_"*.deb >/dev/null 2>&1; then
        (cd "$debs/deps" && apt-get download -q "$p" >/dev/null 2>&1) ||
            die "apt-get download $p failed (network?)"
    fi
    dpkg -x "$(ls "$debs/deps/${p}_"*.deb | head -n 1)" "$root"
done
qemu="$root/usr/bin/qemu-system-x86_64"
moddir="$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/qemu"
[ -x "$qemu" ] || die "the package has no $qemu"
# Debian 13 configures --disable-relocatable: the binary looks for its
# modules at their installed path only, unless QEMU_MODULE_DIR says
# otherwise.  Its firmware comes from the same Debian packages, in the
# line's root, at their installed paths.
if grep -q -e '--disable-relocatable' "$debs/src/qemu/debian/rules"; then
    QEMU_MODULE_DIR=$moddir
    export QEMU_MODULE_DIR
fi
[ -f "$moddir/hw-display-virtio-gpu-gl.so" ] ||
    die "no hw-display-virtio-gpu-gl.so in the packages"
echo "deb: $($qemu --version | head -n 1)"

# Which file the running binary mapped for the gl device's module.
"$qemu" -M q35 -accel tcg -nodefaults -display egl-headless \
    -device virtio-gpu-gl-pci,blob=on,hostmem=64M -S -monitor none \
    -serial none > "$debs/module-check.log" 2>&1 &
pid=$!
loaded=
for _ in $(seq 600); do
    loaded=$(grep -o '/[^ ]*/hw-display-virtio-gpu-gl\.so$' \
             "/proc/$pid/maps" 2>/dev/null | head -n 1 || true)
    [ -n "$loaded" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ "$loaded" = "$moddir/hw-display-virtio-gpu-gl.so" ] ||
    die "the gl module loaded was '${loaded:-none}', not the package's" \
        "(QEMU's output: $debs/module-check.log)"
echo "deb: virtio-gpu-gl module loaded from the package: ${loaded#"$debs"/}"
# The libvirt lane boots its own domains on this binary.
if [ -n "${DEB_UNPACK_ONLY:-}" ]; then
    exit 0
fi

QEMU="$qemu" /usr/bin/python3 "$top/scripts/guest/run-guest.py" "$image" \
    --venus "$icd" "$@"
