#!/bin/sh
# Fetch the newest kernel of the line (LINE_KERNEL, an apt-cache search
# pattern: Debian 12's 6.1, trixie's 6.12; or another conf setting that
# KIND names, LINE_L1_KERNEL) with apt-get download and unpack it, cached
# under OUT.  A line with a root runs this in it.
#   scripts/guest/fetch-kernel.sh OUT [KIND]
# Prints the unpacked root's path.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/line.sh"
out=$(realpath -m "$1")
[ "${2:-}" = l1 ] && LINE_KERNEL=$LINE_L1_KERNEL
die() { echo "fetch-kernel: error: $*" >&2; exit 1; }

if [ -f "$out/.stamp" ]; then
    cat "$out/.stamp"
    exit 0
fi
mkdir -p "$out/deb"
find_pkg() {
    apt-cache search --names-only "$LINE_KERNEL" |
        cut -d' ' -f1 | sort -V | tail -n 1
}
pkg=$(find_pkg)
if [ -z "$pkg" ]; then
    apt-get update -q >/dev/null 2>&1 || true
    pkg=$(find_pkg)
fi
[ -n "$pkg" ] || die "no package matching $LINE_KERNEL in the apt lists (apt-get update?)"
echo "fetch-kernel: $pkg" >&2
(cd "$out/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
    die "apt-get download $pkg failed (network, or apt lists out of date)"
rm -rf "$out/root"
dpkg-deb -x "$out"/deb/"$pkg"_*.deb "$out/root" ||
    die "cannot unpack $(ls "$out"/deb/"$pkg"_*.deb)"
ls "$out"/root/boot/vmlinuz-* >/dev/null 2>&1 || die "$pkg has no vmlinuz"
echo "$out/root" > "$out/.stamp"
cat "$out/.stamp"
