#!/bin/sh
# Build the guest's initramfs: busybox-static, the kernel modules that
# virtio-gpu needs in load order, the static in-guest test program, and
# an /init that runs it and powers off.  With KIND l1, the udmabuf
# lane's L1 host instead: 9p's modules and scripts/udmabuf/init.
#   scripts/guest/build-initramfs.sh KERNEL_ROOT OUT_DIR [guest|l1]
# Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.gz.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kroot=$(realpath "$1")
out=$(realpath -m "$2")
kind=${3:-guest}
die() { echo "build-initramfs: error: $*" >&2; exit 1; }

# /lib/modules (Debian 12) or /usr/lib/modules (trixie's merged /usr)
mods=$kroot/lib/modules
[ -d "$mods" ] || mods=$kroot/usr/lib/modules
kver=$(ls "$mods" | head -n 1)
moddir="$mods/$kver"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"
command -v modinfo >/dev/null || die "modinfo missing (package kmod)"
command -v cpio >/dev/null || die "cpio missing (package cpio)"

# A module, compressed (.ko.xz: trixie's kernels) or not.
modpath() {
    a=$1 b=$(echo "$1" | tr _ -) c=$(echo "$1" | tr - _)
    p=$(find "$moddir" \( -name "$a.ko*" -o -name "$b.ko*" -o -name "$c.ko*" \) |
        head -n 1)
    [ -n "$p" ] || die "kernel $kver lacks module $1 (is it built in?)"
    echo "$p"
}

# Copy module @1 to @2, uncompressed: busybox insmod takes plain .ko.
copy_module() {
    case $1 in
    *.ko.xz)  xz -dc "$1" > "$2" ;;
    *.ko.zst) zstd -qdc "$1" > "$2" ;;
    *)        cp "$1" "$2" ;;
    esac
}

# Built into the kernel (virtio_pci is in trixie's): nothing to load.
builtin() {
    a=$1 b=$(echo "$1" | tr _ -) c=$(echo "$1" | tr - _)
    grep -qE "/($a|$b|$c)\.ko\$" "$moddir/modules.builtin" 2>/dev/null
}

# Dependencies first, each module once.
order=""
add_module() {
    case " $order " in *" $1 "*) return ;; esac
    builtin "$1" && return
    p=$(modpath "$1")
    for dep in $(modinfo -F depends "$p" | tr , ' '); do
        add_module "$dep"
    done
    order="$order $1"
}
# virtio-gpu (not in the L1), and 9p for the host's root
modules="virtio_pci virtio-gpu 9pnet_virtio 9p"
[ "$kind" = l1 ] && modules="virtio_pci 9pnet_virtio 9p"
for m in $modules; do
    add_module "$m"
done

rm -rf "$out/root"
mkdir -p "$out/root/bin" "$out/root/lib/modules" "$out/root/proc" \
         "$out/root/sys" "$out/root/dev" "$out/root/tmp"
cp /bin/busybox "$out/root/bin/busybox"
for m in $order; do
    copy_module "$(modpath "$m")" "$out/root/lib/modules/$m.ko"
done
echo $order > "$out/root/modules.order"
if [ "$kind" = l1 ]; then
    cp "$here/../udmabuf/init" "$out/root/init"
else
    gcc -static -O2 -Wall -Werror -I"$here" -o "$out/root/vgpu-guest-test" \
        "$here/vgpu-guest-test.c" || die "cannot build the in-guest test program"
    # The GL client runs in the guest from the host's root, over 9p: it is
    # built here against the host's Mesa and libepoxy.
    gcc -O2 -Wall -Werror -I"$here" -o "$out/gl-client" "$here/gl-client.c" \
        -lepoxy ||
        die "cannot build the GL client (libepoxy-dev)"
    # The Vulkan client (venus lane) likewise, with its compute shader.
    gcc -O2 -Wall -Werror -I"$here" -o "$out/vk-client" "$here/vk-client.c" \
        -lvulkan || die "cannot build the Vulkan client (libvulkan-dev)"
    glslangValidator -V -o "$out/vk-compute.spv" "$here/vk-compute.comp" \
        > /dev/null || die "cannot compile vk-compute.comp (glslang-tools)"
    cp "$here/init" "$out/root/init"
fi
chmod +x "$out/root/init"
(cd "$out/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "build-initramfs: kernel $kver, modules:$order" >&2
