#!/bin/sh
# Run the test suites through QEMU's meson test runner and print one
# closing line "N passed, N failed" counted over the TAP results.
#   scripts/run-tests.sh OBJ_DIR
set -u
obj=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tests="qtest-x86_64/qos-test qtest-x86_64/virtio-gpu-region-test"

rc=0
# The udmabuf lane: an L1 host whose kernel has /dev/udmabuf.  Its one
# vCPU keeps one core busy for minutes (its L2 guests run under TCG in
# TCG), so it runs on the other core beside everything else here.
l1_pid=
if [ -n "${L1_IMG_DIR:-}" ]; then
    rm -f "$obj/udmabuf.tap"
    QEMU="$obj/qemu-system-x86_64" python3 "$top/scripts/udmabuf/run-l1.py" \
        "$L1_IMG_DIR" "$obj" ${GUEST_IMG_DIR:+--guest "$GUEST_IMG_DIR"} \
        --tap "$obj/udmabuf.tap" > "$obj/udmabuf.out" 2>&1 &
    l1_pid=$!
    # interrupted, the L1 goes too (run-l1.py kills it on SIGTERM)
    trap 'kill "$l1_pid" 2>/dev/null' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi

# qos-test runs some 280 tests in one to three minutes; beside the
# udmabuf lane, or sanitized, it needs longer than its meson timeout
# (TIMEOUT_MULTIPLIER, default 5).
meson test -C "$obj" --no-rebuild --print-errorlogs \
    --timeout-multiplier "${TIMEOUT_MULTIPLIER:-5}" $tests || rc=$?

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
# The udmabuf lane, started first, reported last.
if [ -n "$l1_pid" ]; then
    echo "== the udmabuf lane: Debian's 6.12 kernel as an L1 host under TCG"
    wait "$l1_pid" || rc=1
    cat "$obj/udmabuf.out"
    taps="$taps $obj/udmabuf.tap"
fi
python3 "$top/scripts/summarize-tests.py" "$obj/meson-logs/testlog.json" \
    $taps || rc=1
exit $rc
