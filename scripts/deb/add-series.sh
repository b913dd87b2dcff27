#!/bin/sh
# Put the exported series into an unpacked Debian source tree, after
# Debian's own patches: the files go to debian/patches/vgpu-blob/ and
# their names are appended to debian/patches/series.  The qtest-only
# module the series adds (x-virtio-gpu-region-tester) is listed in
# debian/not-installed: no package ships it, and Debian 13's dh_missing
# fails on a built file that no package installs.
#   scripts/deb/add-series.sh SERIES_DIR DEBIAN_SOURCE_TREE
set -eu
series=$1 tree=$2
mkdir -p "$tree/debian/patches/vgpu-blob"
while read -r p; do
    cp "$series/$p" "$tree/debian/patches/vgpu-blob/"
    echo "vgpu-blob/$p" >> "$tree/debian/patches/series"
done < "$series/series"
echo "usr/lib/*/qemu/hw-display-virtio-gpu-region-tester.so" \
    >> "$tree/debian/not-installed"
