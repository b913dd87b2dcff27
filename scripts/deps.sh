#!/bin/sh
# Install (or check for) the Debian 12 packages needed to build and test
# the series.  Idempotent: installs only what is missing.
#   scripts/deps.sh [PKG...]          install what is missing (needs root)
#   scripts/deps.sh --check [PKG...]  exit 1 and name what is missing
# PKG: packages a target needs beyond the usual ones (make fuzz: clang).
set -eu
check=""
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi

PKGS="build-essential dpkg-dev quilt git ca-certificates xz-utils
 python3 meson ninja-build pkg-config
 libglib2.0-dev libpixman-1-dev zlib1g-dev libcap-ng-dev libattr1-dev libseccomp-dev
 libfdt-dev libvirglrenderer-dev libepoxy-dev libgbm-dev libegl-dev libdrm-dev
 libegl-mesa0 libgl1-mesa-dri virgl-server mesa-vulkan-drivers
 seabios ipxe-qemu qemu-system-data
 busybox-static cpio kmod vulkan-tools
 python3-mako libexpat1-dev bison flex libvulkan-dev glslang-tools $*"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ -n "$check" ]; then
    echo "missing packages:$missing" >&2
    exit 1
fi

if [ "$(id -u)" != 0 ]; then
    echo "error: these Debian packages are needed:$missing" >&2
    echo "run as root:  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || { echo "error: apt-get update failed; check the network and /etc/apt sources" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing || {
    echo "error: apt-get install failed for:$missing" >&2; exit 1; }
