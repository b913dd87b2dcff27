#!/bin/sh
# Put the exported series into an unpacked Debian source tree, after
# Debian's own patches: the files go to debian/patches/vgpu-blob/ and
# their names are appended to debian/patches/series.
#   scripts/deb/add-series.sh SERIES_DIR DEBIAN_SOURCE_TREE
set -eu
series=$1 tree=$2
mkdir -p "$tree/debian/patches/vgpu-blob"
while read -r p; do
    cp "$series/$p" "$tree/debian/patches/vgpu-blob/"
    echo "vgpu-blob/$p" >> "$tree/debian/patches/series"
done < "$series/series"
