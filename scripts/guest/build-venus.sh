#!/bin/sh
# Build the venus Vulkan driver (Mesa's virtio ICD) from Debian 12's own
# Mesa source, the one Mesa release that speaks virglrenderer 0.10.4's
# venus protocol, through the private deb-src list of fetch-base.sh.
# Cached under OUT; prints the ICD's JSON path.
#   scripts/guest/build-venus.sh BASE_DIR OUT
set -eu
base=$(realpath "$1")
out=$(realpath -m "$2")
version=22.3.6-1+deb12u2
die() { echo "build-venus: error: $*" >&2; exit 1; }

json="$out/virtio_icd.json"
[ -f "$json" ] && { echo "$json"; exit 0; }

apt="$base/apt"
[ -f "$apt/sources.list" ] || die "no private apt list under $apt (run make first)"
set -- -o Dir::Etc::SourceList="$apt/sources.list" \
       -o Dir::Etc::SourceParts="$apt/etc/sources.list.d" \
       -o Dir::Etc::Preferences="$apt/etc/preferences" \
       -o Dir::Etc::PreferencesParts="$apt/etc/preferences.d" \
       -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
       -o APT::Get::Only-Source=true
mkdir -p "$out/src"
if [ ! -d "$out/src/mesa-22.3.6" ]; then
    echo "build-venus: apt-get source mesa=$version" >&2
    (cd "$out/src" && apt-get "$@" -q source "mesa=$version" \
        > "$out/source.log" 2>&1) ||
        die "apt-get source mesa=$version failed (is it still in the archive?); see $out/source.log"
fi
src="$out/src/mesa-22.3.6"
[ -d "$src" ] || die "the source package did not unpack to $src"

# Debian's python3 (with python3-mako), whatever else PATH has first.
PATH=/usr/bin:/bin:$PATH
export PATH

# Venus only: no GL, no gallium, no LLVM.
if [ ! -f "$out/obj/build.ninja" ]; then
    rm -rf "$out/obj"
    echo "build-venus: configuring (log: $out/build.log)" >&2
    meson setup "$out/obj" "$src" --buildtype=release \
        -Dvulkan-drivers=virtio-experimental -Dgallium-drivers= \
        -Dplatforms= -Dglx=disabled -Degl=disabled -Dgbm=disabled \
        -Dopengl=false -Dgles1=disabled -Dgles2=disabled -Dllvm=disabled \
        -Dshared-glapi=disabled -Dvalgrind=disabled -Dlibunwind=disabled \
        -Dzstd=disabled > "$out/build.log" 2>&1 ||
        { tail -n 20 "$out/build.log" >&2; die "meson setup failed (build dependencies: python3-mako, libexpat1-dev, bison, flex)"; }
fi
echo "build-venus: building libvulkan_virtio.so (about 4 minutes on 2 cores)" >&2
ninja -C "$out/obj" src/virtio/vulkan/libvulkan_virtio.so >> "$out/build.log" 2>&1 ||
    { tail -n 20 "$out/build.log" >&2; die "the venus driver did not build; see $out/build.log"; }

# The guest runs it from the host's root (same paths, over 9p).
cat > "$json" <<JSON
{
    "ICD": {
        "api_version": "1.3.230",
        "library_path": "$out/obj/src/virtio/vulkan/libvulkan_virtio.so"
    },
    "file_format_version": "1.0.0"
}
JSON
echo "$json"
