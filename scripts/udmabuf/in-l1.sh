#!/bin/sh
# Inside the L1 host (scripts/udmabuf/run-l1.py): a kernel with
# /dev/udmabuf.  Runs the tests that need it, as TAP on stdout.
#   scripts/udmabuf/in-l1.sh OBJ_DIR [GUEST_IMAGE_DIR] [bench | soak-N]
# With "bench", only the benchmarks that need udmabuf run; with "soak-N",
# only the guest_vram qtest and the venus L2 guest, N times.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
obj=$1
guest=${2:+$(realpath "$2")}
mode=${3:-}
if [ ! -c /dev/udmabuf ]; then
    echo "not ok 1 /udmabuf/device: the L1 kernel has no /dev/udmabuf"
    exit 1
fi
echo "# $(uname -r), udmabuf size_limit_mb=$(cat /sys/module/udmabuf/parameters/size_limit_mb)"
# The root is read-only: the tests make their files in /tmp.
obj=$(realpath "$obj")
cd /tmp || exit 1
export QTEST_QEMU_BINARY="$obj/qemu-system-x86_64"
rc=0
if [ "$mode" = bench ]; then
    "$obj/tests/qtest/qos-test" -m perf -p "/x86_64/pc/i440FX-pcihost/\
pci-bus-pc/pci-bus/virtio-gpu-gl-pci-guest-vram/virtio-gpu-guest-vram/\
virtio-gpu-guest-vram-tests/bench-guest-vram" | grep '^# venus' || rc=1
    if [ -n "$guest" ]; then
        python3 "$top/scripts/udmabuf/l2-guest.py" "$guest" \
            "$obj/qemu-system-x86_64" bench || rc=1
    fi
    exit $rc
fi
guest_vram_qtest() {
    "$obj/tests/qtest/qos-test" --tap -k -p "/x86_64/pc/i440FX-pcihost/\
pci-bus-pc/pci-bus/virtio-gpu-gl-pci-guest-vram/virtio-gpu-guest-vram/\
virtio-gpu-guest-vram-tests/hostile/seq/guest-vram"
}
case $mode in soak-*)
    # the lane's venus part, again and again
    for i in $(seq "${mode#soak-}"); do
        echo "# run $i"
        guest_vram_qtest || rc=1
        python3 "$top/scripts/udmabuf/l2-guest.py" "$guest" \
            "$obj/qemu-system-x86_64" venus || rc=1
    done
    exit $rc
esac
"$obj/tests/qtest/virtio-gpu-region-test" --tap -k \
    -p /x86_64/virtio-gpu/region/udmabuf || rc=1
# the 2D device's GUEST blobs through udmabuf (qos takes full paths only)
"$obj/tests/qtest/qos-test" --tap -k -p "/x86_64/pc/i440FX-pcihost/\
pci-bus-pc/pci-bus/virtio-gpu-pci-udmabuf/virtio-gpu-udmabuf/\
virtio-gpu-udmabuf-tests/scanout-udmabuf" || rc=1
# guest_vram=on (Debian 13): venus blobs imported from heap slices
guest_vram_qtest || rc=1
# a Linux guest (L2) drawing on a GUEST blob console, when given one
if [ -n "$guest" ]; then
    python3 "$top/scripts/udmabuf/l2-guest.py" "$guest" \
        "$obj/qemu-system-x86_64" || rc=1
fi
exit $rc
