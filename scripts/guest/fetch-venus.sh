#!/bin/sh
# Fetch Mesa 25's Vulkan drivers (venus among them) and the libdrm they
# need from bookworm-backports, through a private apt list derived from
# the machine's Debian sources (the machine's /etc/apt is not touched),
# and unpack them under OUT/root (cached).
#   scripts/guest/fetch-venus.sh OUT
set -eu
out=$(realpath -m "$1")
apt="$out/apt"
die() { echo "fetch-venus: error: $*" >&2; exit 1; }

[ -f "$out/.stamp" ] && { cat "$out/.stamp"; exit 0; }
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" \
         "$out/deb"
uri=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$uri" ] || uri=$(sed -n 's/^deb \(http[^ ]*debian\)\/* bookworm .*/\1/p' \
                           /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$uri" ] || die "no Debian archive in the machine's apt sources"
echo "deb $uri bookworm-backports main" > "$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" \
       -o Dir::Etc::SourceParts="$apt/parts" \
       -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
apt-get "$@" -q update >"$apt/update.log" 2>&1 ||
    die "apt-get update of bookworm-backports failed; see $apt/update.log"
(cd "$out/deb" && apt-get "$@" -q download \
    mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports \
    libdrm-amdgpu1/bookworm-backports >"$apt/download.log" 2>&1) ||
    die "apt-get download from bookworm-backports failed; see $apt/download.log"
rm -rf "$out/root"
for d in "$out"/deb/*.deb; do
    dpkg-deb -x "$d" "$out/root"
done
[ -f "$out/root/usr/share/vulkan/icd.d/virtio_icd.json" ] ||
    die "no venus driver (virtio_icd.json) in $(ls "$out"/deb)"
echo "$out/root" > "$out/.stamp"
cat "$out/.stamp"
