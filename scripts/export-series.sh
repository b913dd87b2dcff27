#!/bin/sh
# Export the patched tree's commits after the Debian base as a flat
# git format-patch series (what a distro rebuild consumes).  Each patch
# also carries DEP-3 fields in its header, so that it drops into
# debian/patches as it is; git am and quilt ignore them.
#   scripts/export-series.sh GIT_TREE OUTDIR
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/line.sh"
tree=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
git -C "$tree" format-patch -q --no-signature --zero-commit \
    -o "$(realpath "$out")" base..main
n=0
for c in $(git -C "$tree" rev-list --reverse base..main); do
    n=$((n + 1))
    f=$(ls "$out"/*.patch | sed -n "${n}p")
    # Last-Update: when this repository last changed the patch
    name=$(grep -v '^#' "$PATCH_DIR/series" | sed -n "${n}p")
    updated=$(git -C "$top" log -1 --format=%cs -- "patches/$LINE/$name" \
              2>/dev/null || true)
    git -C "$tree" log -1 --format="Description: %s%nAuthor: %an <%ae>%nForwarded: no%nLast-Update: ${updated:-$(date +%F)}" "$c" > "$out/.dep3"
    # the fields go at the end of the mail header (its first empty line)
    awk -v dep3="$out/.dep3" '
        !done && /^$/ { while ((getline l < dep3) > 0) print l; done = 1 }
        { print }' "$f" > "$f.new"
    mv "$f.new" "$f"
done
rm -f "$out/.dep3"
(cd "$out" && ls -1 *.patch > series)
echo "series: $(wc -l < "$out/series") patches in $out (series file included)"
