#!/bin/sh
# Run the test suites through QEMU's meson test runner and print one
# closing line "N passed, N failed" counted over the TAP results.
#   scripts/run-tests.sh OBJ_DIR
set -u
obj=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tests="qtest-x86_64/qos-test qtest-x86_64/virtio-gpu-region-test"

rc=0
# qos-test runs some 280 tests in a minute; a loaded or sanitized build
# needs longer than meson's 60 s (TIMEOUT_MULTIPLIER, default 3).
meson test -C "$obj" --no-rebuild --print-errorlogs \
    --timeout-multiplier "${TIMEOUT_MULTIPLIER:-3}" $tests || rc=$?

# The Linux guest lane, when an image was built.
taps=""
if [ -n "${GUEST_IMG_DIR:-}" ]; then
    echo "== Linux guest on virtio-gpu-gl-pci,blob=on,hostmem=256M"
    QEMU="$obj/qemu-system-x86_64" python3 "$top/scripts/guest/run-guest.py" \
        "$GUEST_IMG_DIR" --tap "$obj/guest.tap" \
        ${VENUS_ICD:+--venus "$VENUS_ICD"} \
        --timeout "${GUEST_TIMEOUT:-300}" || rc=1
    taps="$obj/guest.tap"
    echo "== the same, the region backed by a static heap (hostmem-memdev=)"
    QEMU="$obj/qemu-system-x86_64" python3 "$top/scripts/guest/run-guest.py" \
        "$GUEST_IMG_DIR" --heap --tap "$obj/guest-heap.tap" \
        ${VENUS_ICD:+--venus "$VENUS_ICD"} \
        --timeout "${GUEST_TIMEOUT:-300}" || rc=1
    taps="$taps $obj/guest-heap.tap"
fi
# The same lane on Debian's own package built with the series.
if [ -n "${DEB_DIR:-}" ]; then
    echo "== the guest lane on Debian's qemu package built with the series"
    rm -f "$DEB_DIR/guest.tap"
    "$top/scripts/deb/test-deb.sh" "$DEB_DIR" "$GUEST_IMG_DIR" \
        "$VENUS_ICD" --tap "$DEB_DIR/guest.tap" \
        --timeout "${GUEST_TIMEOUT:-300}" || rc=1
    taps="$taps $DEB_DIR/guest.tap"
fi
# The libvirt lane: libvirtd starts the guest under its own sandbox.
if [ -n "${LIBVIRT_QEMU:-}" ]; then
    echo "== the libvirt lane: the guest in libvirt domains, under its sandbox"
    "$top/scripts/libvirt/run-lane.sh" "$LIBVIRT_QEMU" "$GUEST_IMG_DIR" \
        "$VENUS_ICD" "$obj/libvirt" || rc=1
    taps="$taps $obj/libvirt/gl.tap $obj/libvirt/venus.tap"
    taps="$taps $obj/libvirt/venus-heap.tap $obj/libvirt/refusal.tap"
fi
# The udmabuf lane: an L1 host whose kernel has /dev/udmabuf.
if [ -n "${L1_IMG_DIR:-}" ]; then
    echo "== the udmabuf lane: Debian's 6.12 kernel as an L1 host under TCG"
    QEMU="$obj/qemu-system-x86_64" python3 "$top/scripts/udmabuf/run-l1.py" \
        "$L1_IMG_DIR" "$obj" ${GUEST_IMG_DIR:+--guest "$GUEST_IMG_DIR"} \
        --tap "$obj/udmabuf.tap" || rc=1
    taps="$taps $obj/udmabuf.tap"
fi
python3 "$top/scripts/summarize-tests.py" "$obj/meson-logs/testlog.json" \
    $taps || rc=1
exit $rc
