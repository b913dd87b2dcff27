#!/bin/sh
# The libvirt lane: libvirtd from the line's Debian (the machine's, or the
# line's root, where this runs) starts the guest lane's guest on EMULATOR
# as users start QEMU: qemu:///system, QEMU as libvirt-qemu in a device
# cgroup, under libvirt's default -sandbox.  Three domains
# (scripts/libvirt/domain.py, docs/libvirt.md): the GL device with blobs
# and hostmem, then venus, then venus over a static heap, each with the
# guest lane's checks; and a fourth, venus through a render server none
# started, which QEMU must refuse at start.  Daemons it starts, it stops.  Ends with
# "libvirt lane: N passed, N failed".
#   scripts/libvirt/run-lane.sh EMULATOR GUEST_IMAGE_DIR VENUS_ICD OUT_DIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
qemu=$1 image=$2 icd=$3
mkdir -p "$4"
out=$(realpath "$4")

die() { echo "libvirt lane: error: $*" >&2; exit 1; }
up() { virsh -q -c qemu:///system uri > /dev/null 2>&1; }

command -v libvirtd > /dev/null ||
    die "no libvirtd (Debian package libvirt-daemon-system)"
started=
# Stop the daemons this run started, and wait until they are gone.
# shellcheck disable=SC2317  # run by the trap
stop() {
    for d in $started; do
        pid=$(cat "$out/$d.pid" 2>/dev/null) || continue
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$d" ]; then
            kill "$pid"
            for _ in $(seq 100); do
                [ -d "/proc/$pid" ] || break
                sleep 0.1
            done
        fi
        rm -f "$out/$d.pid"
    done
}
trap stop EXIT
trap 'exit 1' INT TERM HUP
if ! up; then
    # virtlogd first: libvirtd hands it QEMU's log
    virtlogd -d -p "$out/virtlogd.pid" && started=virtlogd
    libvirtd -d -p "$out/libvirtd.pid" && started="$started libvirtd"
    for _ in $(seq 300); do up && break; sleep 0.1; done
    up || die "libvirtd did not answer on qemu:///system"
fi
echo "libvirt lane: $(libvirtd --version), QEMU $qemu"

rc=0
for kind in gl venus venus-heap; do
    case $kind in
    gl)         opts= ;;
    venus)      opts="--venus $icd" ;;
    venus-heap) opts="--heap --venus $icd" ;;
    esac
    echo "== libvirt domain $kind: $(python3 "$top/scripts/libvirt/domain.py" \
        --describe "$kind" "$qemu")"
    # shellcheck disable=SC2086
    QEMU=$qemu python3 "$top/scripts/guest/run-guest.py" "$image" --libvirt \
        $opts --tap "$out/$kind.tap" || rc=1
done
echo "== libvirt domain venus-unserved: venus through a render server" \
    "none started"
python3 "$top/scripts/libvirt/domain.py" --refusal "$image" \
    "$out/refusal.tap" venus-unserved "$qemu" || rc=1
cat "$out"/gl.tap "$out"/venus.tap "$out"/venus-heap.tap \
    "$out"/refusal.tap 2>/dev/null |
    awk '/^ok /{p++} /^not ok /{f++}
         END {printf "libvirt lane: %d passed, %d failed\n", p, f}'
exit $rc
