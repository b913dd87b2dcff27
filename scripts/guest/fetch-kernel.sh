#!/bin/sh
# Fetch the newest Debian 12 kernel (linux-image-6.1.0-*-amd64) with
# apt-get download and unpack it, cached under OUT.
#   scripts/guest/fetch-kernel.sh OUT
# Prints the unpacked root's path.
set -eu
out=$(realpath -m "$1")
die() { echo "fetch-kernel: error: $*" >&2; exit 1; }

if [ -f "$out/.stamp" ]; then
    cat "$out/.stamp"
    exit 0
fi
mkdir -p "$out/deb"
find_pkg() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
        cut -d' ' -f1 | sort -V | tail -n 1
}
pkg=$(find_pkg)
if [ -z "$pkg" ]; then
    apt-get update -q >/dev/null 2>&1 || true
    pkg=$(find_pkg)
fi
[ -n "$pkg" ] || die "no linux-image-6.1.0-*-amd64 package in the apt lists (apt-get update?)"
echo "fetch-kernel: $pkg" >&2
(cd "$out/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
    die "apt-get download $pkg failed (network, or apt lists out of date)"
rm -rf "$out/root"
dpkg-deb -x "$out"/deb/"$pkg"_*.deb "$out/root" ||
    die "cannot unpack $(ls "$out"/deb/"$pkg"_*.deb)"
ls "$out"/root/boot/vmlinuz-* >/dev/null 2>&1 || die "$pkg has no vmlinuz"
echo "$out/root" > "$out/.stamp"
cat "$out/.stamp"
