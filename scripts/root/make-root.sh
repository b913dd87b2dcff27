#!/bin/sh
# Make the Debian root a line builds and tests in, when the line is not
# the machine's own release: mmdebstrap from the mirrors the machine's
# apt sources name, the line's suite, with the qemu source package's
# build dependencies and what the tests need.  The machine's /etc/apt is
# never touched.  Cached: nothing is done once OUT/.stamp exists.
#   BASE=debian13 scripts/root/make-root.sh OUT
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/line.sh"
out=$(realpath -m "$1")
root=$out/root

die() { echo "make-root: error: $*" >&2; exit 1; }

# What the build and the tests need besides the build dependencies: the
# guest lane's initramfs and clients are built in the root too.
extra="build-essential dpkg-dev devscripts fakeroot git ca-certificates
 ninja-build meson pkg-config python3-venv libvirglrenderer-dev
 virgl-server libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers
 vulkan-tools seabios ipxe-qemu qemu-system-data
 busybox-static cpio kmod xz-utils zstd libepoxy-dev libvulkan-dev
 glslang-tools"

if [ -f "$out/.stamp" ] && [ -x "$root/usr/bin/meson" ]; then
    # A root made before the list grew gets what it lacks.
    # shellcheck disable=SC2086
    exec "$top/scripts/root/install.sh" "$root" $extra
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (scripts/deps.sh installs it)"

# The mirrors of the machine's sources (one-line and deb822 formats).
uris=$("$top/scripts/debian-mirrors.sh")
[ -n "$uris" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$out"
list=$out/sources.list
: > "$list"
for u in $uris; do
    case $u in
    *-security) suites="$LINE_SUITE-security" ;;
    *)          suites="$LINE_SUITE $LINE_SUITE-updates" ;;
    esac
    for s in $suites; do
        echo "deb [signed-by=$keyring] $u $s main" >> "$list"
        echo "deb-src [signed-by=$keyring] $u $s main" >> "$list"
    done
done

echo "make-root: mmdebstrap $LINE_SUITE into $root (log: $out/mmdebstrap.log)"
rm -rf "$root"
version=$LINE_QEMU_VERSION
[ -f "$top/build/$LINE/base/src/.version" ] &&
    version=$(cat "$top/build/$LINE/base/src/.version")
# force-unsafe-io: no fsync per unpacked file; a root cut short has no
# .stamp and is made again
# shellcheck disable=SC2086
mmdebstrap --variant=apt --mode=root --format=directory \
    --dpkgopt=force-unsafe-io \
    --include="$(echo $extra | tr ' ' ',')" \
    --customize-hook="chroot \"\$1\" apt-get -y -q build-dep qemu=$version" \
    --customize-hook='chroot "$1" apt-get clean' \
    --skip=cleanup/apt/lists \
    "$LINE_SUITE" "$root" "$list" > "$out/mmdebstrap.log" 2>&1 ||
    { tail -n 20 "$out/mmdebstrap.log" >&2
      die "mmdebstrap of $LINE_SUITE failed (network? see $out/mmdebstrap.log)"; }
chroot "$root" dpkg-query -W libvirglrenderer-dev libgl1-mesa-dri qemu-system-data \
    > "$out/versions.txt" 2>/dev/null || true
date -u +%FT%TZ > "$out/.stamp"
echo "make-root: $LINE_SUITE root ready: $(tr '\n' ' ' < "$out/versions.txt")"
