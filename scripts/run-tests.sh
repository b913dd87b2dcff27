#!/bin/sh
# Run the test suites through QEMU's meson test runner and print one
# closing line "N passed, N failed" counted over the TAP results.
#   scripts/run-tests.sh OBJ_DIR
set -u
obj=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tests="qtest-x86_64/qos-test qtest-x86_64/virtio-gpu-hostmem-test"

rc=0
meson test -C "$obj" --no-rebuild --print-errorlogs $tests || rc=$?
python3 "$top/scripts/summarize-tests.py" "$obj/meson-logs/testlog.json" || rc=1
exit $rc
