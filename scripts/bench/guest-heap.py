#!/usr/bin/env python3
"""The map cycle of file-backed blobs seen from a Linux guest, with many
live, on today's path (a subregion per mapping) and over a static heap
(hostmem-memdev=), interleaved in one run.  The guest program creates,
maps, touches, unmaps and frees one 16 KiB venus shm blob (the kind the
host backs with a file, placed with MAP_FIXED over a heap) with 1, 1024
and 4096 others live.  Needs venus through the render server (Debian
13), where such blobs come as shm fds.

    guest-heap.py IMAGE_DIR [ROUNDS]

Each guest's console is kept next to IMAGE_DIR (guest-heap-*.log).
"""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "guest"))
import guestvm  # noqa: E402


def run(image, heap):
    device = "," + guestvm.line_setting("LINE_VENUS")
    extra = ["-monitor", "none"]
    if heap:
        device += ",hostmem-memdev=heap"
        extra += ["-object", "memory-backend-memfd,id=heap,size=%d"
                  % guestvm.HOSTMEM]
    serial = os.path.join(image, "..", "guest-heap-%s.log"
                          % ("heap" if heap else "subregions"))
    subprocess.run(guestvm.guest_command(image, "loglevel=4 vgpu.benchshm",
                                         serial, device, extra),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=900, check=False)
    log = open(serial, errors="replace").read()
    figs = {int(m.group(1)): float(m.group(2)) for m in
            re.finditer(r"VGPU-SHM-BENCH live=(\d+) cycle_us=([\d.]+)", log)}
    full = re.search(r"VGPU-SHM-BENCH live=(\d+) full", log)
    return figs, int(full.group(1)) if full else None


def main():
    image = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if "venus_in_process" in guestvm.line_setting("LINE_VENUS"):
        print("# guest-heap: not measured on %s: its venus runs in QEMU's "
              "process, whose shm blobs are mapped by pointer, so nothing "
              "is placed over a heap" % guestvm.line_setting("LINE_NAME"))
        return 0
    figs = {False: {}, True: {}}
    full = {False: None, True: None}
    for _ in range(rounds):
        for heap in (False, True):
            got, full[heap] = run(image, heap)
            for live, us in got.items():
                figs[heap].setdefault(live, []).append(us)
    if not figs[False] or not figs[True]:
        print("guest-heap: the guest printed no figures (see the logs)",
              file=sys.stderr)
        return 1
    med = {h: {live: statistics.median(v) for live, v in f.items()}
           for h, f in figs.items()}
    print("# 16 KiB venus shm blob: create, map, touch, unmap, free; guest "
          "median us, median of %d rounds (%s)"
          % (rounds, guestvm.line_setting("LINE_NAME")))
    print("# %10s %22s %22s" % ("live", "subregions", "static heap"))
    for live in sorted(set(med[False]) | set(med[True])):
        cols = []
        for h in (False, True):
            us = med[h].get(live)
            cols.append("%10.1f (%4.2fx)" % (us, us / med[h][min(med[h])])
                        if us else "%22s" % ("(full at %s)" % full[h]))
        print("# %10d %22s %22s" % (live, cols[0], cols[1]))
    top = max(med[True])
    print("# heap, %d live vs 1: %.2fx (goal: at most 1.2x); subregions, "
          "%d live vs 1: %.2fx" % (top, med[True][top] / med[True][min(
              med[True])], max(med[False]), med[False][max(med[False])] /
              med[False][min(med[False])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
