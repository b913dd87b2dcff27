#!/bin/sh
# make deb: build Debian's own qemu package with the series in
# debian/patches, through dpkg-buildpackage, on a fresh unpack of the
# Debian source package.  The .deb files land in OUT (build/BASE/deb).
#   scripts/deb/build-deb.sh BASE_CACHE SERIES_DIR OUT
#
# By default the build is restricted to the x86 system emulator and the
# packages it comes with: qemu-system-x86, qemu-system-common,
# qemu-system-gui (which carries the virtio-gpu-gl module), plus
# qemu-block-extra, qemu-utils, qemu-guest-agent and the qemu-system
# metapackage, which the same configure run produces anyway.
# debian/rules has no build profiles, so the restriction uses what it
# does honour:
#   - dpkg-buildpackage -B: architecture-dependent packages only, so none
#     of the firmware cross-compilers of qemu-system-data is needed (the
#     series does not touch it; the archive's copy is used);
#   - DH_OPTIONS=-N...: debhelper leaves out the other system and the
#     user-mode packages; debian/rules reads the package list from
#     dh_listpackages, so the linux-user builds are skipped too;
#   - QEMU_CONFIGURE_OPTIONS=--target-list=...: debian/rules appends it
#     to its configure line;
#   - systems= (Debian 12) or system-packages= (Debian 13) and
#     qemu-builds= on make's command line (through MAKEFLAGS): the
#     system packages to fill, and the builds to run (the main one and
#     microvm, not xen; on Debian 13 also the man pages and the HTML
#     manual, which debian/rules builds itself and qemu-system-common,
#     qemu-utils and qemu-guest-agent install);
# DEB_FULL=1 builds every package, architecture-independent ones too,
# exactly as Debian does.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
base=$(realpath "$1") series=$(realpath "$2") out=$(realpath -m "$3")
suffix=+vgpu1

die() { echo "deb: error: $*" >&2; exit 1; }

dsc=$(ls "$base"/src/qemu_*.dsc 2>/dev/null | head -n 1)
[ -n "$dsc" ] || die "no qemu_*.dsc in $base/src (run make first)"
version=$(sed -n 's/^Version: //p' "$dsc")
src="$out/src"
rm -rf "$src" && mkdir -p "$src"
dpkg-source -q -x "$dsc" "$src/qemu" >/dev/null 2>&1 ||
    die "dpkg-source -x $dsc failed"
cd "$src/qemu"

# The series goes after Debian's own patches; dpkg-source applies it
# (--before-build) when dpkg-buildpackage starts.
"$top/scripts/deb/add-series.sh" "$series" .
{
    echo "qemu (1:${version#1:}$suffix) UNRELEASED; urgency=medium"
    echo
    echo "  * Add virtio-gpu blob resources and host-visible memory:"
    echo "    $(wc -l < "$series/series") patches in debian/patches/vgpu-blob."
    echo
    echo " -- ${DEBFULLNAME:-vgpu-blob series} <${DEBEMAIL:-vgpu-blob@localhost}>  $(date -R)"
    echo
    cat debian/changelog
} > debian/changelog.new
mv debian/changelog.new debian/changelog

others="qemu-user qemu-user-static qemu-user-binfmt qemu-system-xen
 qemu-system-arm qemu-system-mips qemu-system-ppc qemu-system-sparc
 qemu-system-misc"
# Debian 13's rules: packages listed in debian/control.mk, man pages
# built by debian/rules itself
if grep -q '^system-packages' debian/control.mk 2>/dev/null; then
    trixie=1
    others="$others qemu-system-riscv qemu-system-s390x"
else
    trixie=
fi
if [ -n "${DEB_FULL:-}" ]; then
    mode=-b check=
    what="every package"
    # exactly Debian's build: nothing of ours, or of an outer make
    unset MAKEFLAGS MFLAGS MAKELEVEL DH_OPTIONS QEMU_CONFIGURE_OPTIONS
else
    mode=-B check=-B
    what="the x86 system emulator and its packages"
    DH_OPTIONS=$(for p in $others; do printf -- '-N%s ' "$p"; done)
    QEMU_CONFIGURE_OPTIONS="--target-list=i386-softmmu,x86_64-softmmu"
    # make reads a backslash-escaped space in MAKEFLAGS as part of a value
    # shellcheck disable=SC2089,SC2090
    if [ -n "$trixie" ]; then
        MAKEFLAGS="system-packages=x86 qemu-builds=qemu\\ microvm\\ man\\ html"
    else
        MAKEFLAGS="systems=x86 qemu-builds=qemu\\ microvm"
    fi
    # shellcheck disable=SC2090
    export DH_OPTIONS QEMU_CONFIGURE_OPTIONS MAKEFLAGS
fi
DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck noautodbgsym terse"
export DEB_BUILD_OPTIONS

# The package's build dependencies, from the machine's own apt sources.
if ! dpkg-checkbuilddeps $check >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "build dependencies missing (run as root" \
        "to install them): $(dpkg-checkbuilddeps $check 2>&1 | sed 's/.*: //')"
    echo "deb: installing the package's build dependencies"
    [ -n "$check" ] && only=--arch-only || only=
    DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q $only \
        "$src/qemu" > "$out/build-dep.log" 2>&1 ||
        die "apt-get build-dep failed; see $out/build-dep.log"
fi

echo "deb: building $what, version 1:${version#1:}$suffix"
start=$(date +%s)
dpkg-buildpackage $mode -uc -us > "$out/build.log" 2>&1 || {
    tail -n 30 "$out/build.log" >&2
    die "dpkg-buildpackage failed; see $out/build.log"
}
end=$(date +%s)

rm -f "$out"/*.deb
mv "$src"/*.deb "$out"/
echo "deb: built in $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s:"
(cd "$out" && ls -1 *.deb | sed 's/^/  /')
