#!/bin/sh
# Fetch and verify the base QEMU source package with apt-get source, through
# a private deb-src list derived from the machine's Debian sources.  The
# machine's /etc/apt is never modified.  Everything is cached under $OUT.
#   scripts/fetch-base.sh OUTDIR
# Prints nothing and exits 0 when the cache is already complete.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/line.sh"
WANT_VERSION=$LINE_QEMU_VERSION
VERSION_GLOB=$LINE_QEMU_GLOB
OUT=$(realpath -m "$1")
APT="$OUT/apt"

die() { echo "fetch-base: error: $*" >&2; exit 1; }

if [ -f "$OUT/src/.stamp" ]; then
    exit 0
fi

mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/preferences.d" "$OUT/src"

# Derive deb-src entries from the machine's Debian sources (both formats).
{
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^[[:space:]]*deb[[:space:]]\+\(.*debian.*\)$/deb-src \1/p' "$f"
    done
} > "$APT/sources.list"
: > "$APT/etc/debian-src.sources"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -qi 'debian' "$f" || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" >> "$APT/etc/debian-src.sources"
    echo >> "$APT/etc/debian-src.sources"
done
mkdir -p "$APT/etc/sources.list.d"
mv "$APT/etc/debian-src.sources" "$APT/etc/sources.list.d/"
# Another release than the machine's: the same mirrors, the line's suite.
here=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -n "$here" ] && [ "$here" != "$LINE_SUITE" ]; then
    sed -i "s/\b$here\(-updates\|-security\)\?\b/$LINE_SUITE\1/g" \
        "$APT/sources.list" "$APT/etc/sources.list.d/debian-src.sources"
fi
[ -s "$APT/sources.list" ] || [ -s "$APT/etc/sources.list.d/debian-src.sources" ] ||
    die "no Debian entries found in /etc/apt/sources.list{,.d}; cannot derive a deb-src list"

set -- -o Dir::Etc::SourceList="$APT/sources.list" \
       -o Dir::Etc::SourceParts="$APT/etc/sources.list.d" \
       -o Dir::Etc::Preferences="$APT/etc/preferences" \
       -o Dir::Etc::PreferencesParts="$APT/etc/preferences.d" \
       -o Dir::State::Lists="$APT/lists" \
       -o Dir::Cache="$APT/cache" \
       -o APT::Get::Only-Source=true

echo "fetch-base: updating private deb-src index under $APT"
apt-get "$@" -q update >"$APT/update.log" 2>&1 ||
    die "apt-get update with the private deb-src list failed (network?); see $APT/update.log"

versions=$(apt-cache "$@" showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -u)
if echo "$versions" | grep -qxF "$WANT_VERSION"; then
    version=$WANT_VERSION
else
    version=$(echo "$versions" | grep -F "$VERSION_GLOB" | sort -V | tail -n 1)
    [ -n "$version" ] || die "the archive carries no qemu $VERSION_GLOB* source (found: $(echo $versions))"
    echo "##################################################################" >&2
    echo "# WARNING: qemu $WANT_VERSION is no longer in the archive;" >&2
    echo "# WARNING: using the newest $LINE_SUITE version, $version, instead." >&2
    echo "##################################################################" >&2
fi

echo "fetch-base: apt-get source qemu=$version"
rm -rf "$OUT/src" && mkdir -p "$OUT/src"
# apt-get source verifies the files against the signed Sources index and
# the .dsc checksums; dpkg-source then unpacks with Debian's patches applied.
(cd "$OUT/src" && apt-get "$@" -q source "qemu=$version") >"$APT/source.log" 2>&1 ||
    die "apt-get source qemu=$version failed (network, or dpkg-dev missing); see $APT/source.log"

dsc=$(ls "$OUT"/src/qemu_*.dsc)
# Check every file listed in the .dsc once more, independently of apt.
(cd "$OUT/src" && awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f&&NF==3{print $1"  "$3}' "$dsc" | sha256sum -c --quiet) ||
    die "checksum mismatch against $dsc"
dir=$(find "$OUT/src" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*')
[ -f "$dir/VERSION" ] || die "unpacked tree $dir has no VERSION file"
echo "$version" > "$OUT/src/.version"
echo "$dir" > "$OUT/src/.stamp"
echo "fetch-base: qemu $version unpacked at $dir (QEMU $(cat "$dir/VERSION"))"
