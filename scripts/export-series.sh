#!/bin/sh
# Export the patched tree's commits after the Debian base as a flat
# git format-patch series (what a distro rebuild consumes).
#   scripts/export-series.sh GIT_TREE OUTDIR
set -eu
tree=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
git -C "$tree" format-patch -q --no-signature --zero-commit -o "$(realpath "$out")" base..main
(cd "$out" && ls -1 *.patch > series)
echo "series: $(wc -l < "$out/series") patches in $out (series file included)"
