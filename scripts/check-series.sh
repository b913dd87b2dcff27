#!/bin/sh
# Check that the exported series applies to a fresh unpack of the Debian
# source package, both with git am and with quilt (as debian/patches).
#   scripts/check-series.sh BASE_CACHE SERIES_DIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
base=$(realpath "$1") series=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/check-series.XXXXXX")
trap 'rm -rf "$work"' EXIT

dsc=$(ls "$base"/src/qemu_*.dsc)
dpkg-source -q -x "$dsc" "$work/fresh" >/dev/null 2>&1 ||
    { echo "check-series: error: dpkg-source -x $dsc failed" >&2; exit 1; }

# git am, on a git import of the fresh unpack
cp -a "$work/fresh" "$work/am"
(
    cd "$work/am"
    rm -rf .pc
    git init -q && git add -A -f . &&
        git -c user.name=check -c user.email=check@localhost commit -q -m base
    git -c user.name=check -c user.email=check@localhost am -q "$series"/*.patch
) || { echo "check-series: error: git am failed" >&2; exit 1; }
echo "check-series: git am: $(wc -l < "$series/series") patches applied"

# quilt, appended to Debian's own patch stack
cp -a "$work/fresh" "$work/quilt"
(
    cd "$work/quilt"
    "$top/scripts/deb/add-series.sh" "$series" .
    QUILT_PATCHES=debian/patches quilt push -q -a --fuzz=0 >quilt.log 2>&1 ||
        { cat quilt.log >&2; exit 1; }
) || { echo "check-series: error: quilt push failed" >&2; exit 1; }
echo "check-series: quilt: $(wc -l < "$series/series") patches applied on top of Debian's"

if ! diff -r -q -x .git -x .pc -x debian -x quilt.log "$work/am" "$work/quilt" >/dev/null; then
    echo "check-series: error: git am and quilt give different trees" >&2
    exit 1
fi
echo "check-series: both give the same tree"
