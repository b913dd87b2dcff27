#!/bin/sh
# Prepare "the peer" for benchmarks: upstream QEMU 10.0.x with
# virglrenderer 1.1.x, Mesa's llvmpipe and Xvfb, as Debian 13 (trixie)
# binary packages unpacked (dpkg -x, no maintainer scripts) into OUT/root.
# scripts/bench/peer-qemu.sh runs it.  The machine's /etc/apt is never
# modified: apt works on a private trixie list, cache and an empty dpkg
# status under OUT/apt, so it resolves the full dependency closure.
#   scripts/bench/prepare-peer.sh [OUT]      (default: build/peer)
# Does nothing when OUT/.stamp exists and the root is complete.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$TOP/build/peer}")
APT=$OUT/apt
ROOT=$OUT/root
QEMU_GLOB="1:10.0."
VIRGL_GLOB="1.1."
PKGS="qemu-system-x86 qemu-system-modules-opengl qemu-system-gui
      libvirglrenderer1 libgl1-mesa-dri libegl-mesa0 libegl1 libgl1 libgbm1
      xvfb xauth dash"   # dash: Xvfb runs xkbcomp through /bin/sh

die() { echo "prepare-peer: error: $*" >&2; exit 1; }

# What peer-qemu.sh needs; a root missing any of these is rebuilt.
root_complete() {
    for f in usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 usr/bin/qemu-system-x86_64 \
             usr/lib/x86_64-linux-gnu/qemu/ui-sdl.so \
             usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-pci-gl.so \
             usr/lib/x86_64-linux-gnu/libvirglrenderer.so.1 \
             usr/lib/x86_64-linux-gnu/dri/swrast_dri.so \
             usr/share/seabios/bios-256k.bin usr/bin/Xvfb usr/bin/xkbcomp \
             usr/bin/sh; do
        [ -e "$ROOT/$f" ] || return 1
    done
}
if [ -f "$OUT/.stamp" ] && root_complete; then
    exit 0
fi
rm -f "$OUT/.stamp"

# Debian mirrors named by the machine's sources (one-line and deb822).
uris=$("$TOP/scripts/debian-mirrors.sh")
[ -n "$uris" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ] ||
    die "debian-archive-keyring has no trixie keys (need 2023.3+deb12u1 or newer)"

mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/state" \
         "$APT/etc/sources.list.d" "$APT/etc/preferences.d" "$APT/dpkg"
: > "$APT/sources.list"
: > "$APT/dpkg/status"       # nothing installed: apt fetches the whole closure
for u in $uris; do
    case $u in
        *-security) suites="trixie-security" ;;
        *)          suites="trixie trixie-updates" ;;
    esac
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' \
        "$u" "$suites" "$keyring"
done > "$APT/etc/sources.list.d/trixie.sources"

set -- -o Dir::Etc::SourceList="$APT/sources.list" \
       -o Dir::Etc::SourceParts="$APT/etc/sources.list.d" \
       -o Dir::Etc::Preferences="$APT/etc/preferences" \
       -o Dir::Etc::PreferencesParts="$APT/etc/preferences.d" \
       -o Dir::State="$APT/state" \
       -o Dir::State::Lists="$APT/lists" \
       -o Dir::State::status="$APT/dpkg/status" \
       -o Dir::Cache="$APT/cache" \
       -o APT::Architecture=amd64 -o APT::Architectures::=amd64

start=$(date +%s)
echo "prepare-peer: updating private trixie index under $APT ($(echo "$uris" | tr '\n' ' '))"
apt-get "$@" -q update >"$APT/update.log" 2>&1 ||
    die "apt-get update of the private trixie list failed (network or keys?); see $APT/update.log"

candidate() { p=$1; shift; apt-cache "$@" policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p'; }
qv=$(candidate qemu-system-x86 "$@")
vv=$(candidate libvirglrenderer1 "$@")
case $qv in "$QEMU_GLOB"*) ;; *) die "trixie offers qemu-system-x86 '$qv', not $QEMU_GLOB*" ;; esac
case $vv in "$VIRGL_GLOB"*) ;; *) die "trixie offers libvirglrenderer1 '$vv', not $VIRGL_GLOB*" ;; esac

echo "prepare-peer: downloading qemu $qv, virglrenderer $vv and their closure"
rm -f "$APT"/cache/archives/*.deb     # the root is exactly this download
# shellcheck disable=SC2086
apt-get "$@" -q install --download-only --no-install-recommends -y \
    $PKGS "qemu-system-x86=$qv" "libvirglrenderer1=$vv" >"$APT/download.log" 2>&1 ||
    die "apt-get install --download-only failed (unresolvable or network); see $APT/download.log"

echo "prepare-peer: unpacking $(ls "$APT"/cache/archives/*.deb | wc -l) packages into $ROOT"
rm -rf "$ROOT.tmp" "$ROOT"
mkdir -p "$ROOT.tmp"
for deb in "$APT"/cache/archives/*.deb; do
    dpkg -x "$deb" "$ROOT.tmp" || die "dpkg -x $deb failed"
done
mv "$ROOT.tmp" "$ROOT"
root_complete || die "unpacked root $ROOT lacks a file peer-qemu.sh needs (package split changed?)"

ver() { dpkg-deb -f "$(ls "$APT"/cache/archives/"$1"_*.deb)" Version; }
{
    echo "qemu=$(ver qemu-system-x86)"
    echo "virglrenderer=$(ver libvirglrenderer1)"
    echo "mesa=$(ver libgl1-mesa-dri)"
    echo "xvfb=$(ver xvfb)"
    echo "libc6=$(ver libc6)"
} > "$OUT/versions"

# Prove the peer runs: its modules load and a GL display comes up under
# Xvfb (-S: no guest code runs).
"$TOP/scripts/bench/peer-qemu.sh" -device virtio-gpu-gl-pci,help \
    >"$OUT/selfcheck.log" 2>&1 || :
grep -q 'hostmem=' "$OUT/selfcheck.log" ||
    die "the peer's QEMU cannot list virtio-gpu-gl-pci's properties; see $OUT/selfcheck.log"
echo quit | "$TOP/scripts/bench/peer-qemu.sh" -S -M q35 -accel tcg -nodefaults \
    -device virtio-gpu-gl-pci -monitor stdio -serial none \
    >>"$OUT/selfcheck.log" 2>&1 ||
    die "the peer's QEMU failed to start with a GL display; see $OUT/selfcheck.log"

date -u +%FT%TZ > "$OUT/.stamp"
echo "prepare-peer: ready in $(( $(date +%s) - start )) s, $(du -sh "$OUT" | cut -f1) in $OUT:" \
    $(cat "$OUT/versions")
