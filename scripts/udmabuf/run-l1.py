#!/usr/bin/env python3
"""The udmabuf lane: boot a Debian 6.12 kernel, which has /dev/udmabuf
built in, as an L1 host under TCG with this machine's root (or the line's
Debian root, when run in it) read-only over 9p, and run there the tests
that need udmabuf (scripts/udmabuf/in-l1.sh).  Prints their TAP and a
closing "N passed, N failed"; exits non-zero on any failure, and when a
test the lane exists for did not run.

    run-l1.py IMAGE_DIR OBJ_DIR [--guest GUEST_IMAGE_DIR] [--tap FILE]
              [--timeout S] [--bench | --soak N] [--log FILE]

With --bench, the L1 runs only the benchmarks that need udmabuf
(guest_vram=on against host-allocated blobs) and prints their figures.
With --soak N, it runs only the guest_vram qtest and the venus L2 guest,
N times, and ends "soak: R runs, F failed, median run S s".

With --guest, a Linux guest (the guest lane's image) boots as an L2
under the L1's QEMU and draws on a console that is a GUEST blob
(scripts/udmabuf/l2-guest.py).

The L1's whole console goes to FILE (default OBJ_DIR/udmabuf-l1.log).

The L1 runs on $QEMU (default: build/$BASE/obj/qemu-system-x86_64).
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "guest"))
import guestvm  # noqa: E402

# The tests this lane is for: each must have run, and passed.
REQUIRED = [
    "/virtio-gpu/region/udmabuf/slice-bytes",
    "/virtio-gpu/region/udmabuf/slice-refused",
    "/pc/i440FX-pcihost/pci-bus-pc/pci-bus/virtio-gpu-pci-udmabuf/"
    "virtio-gpu-udmabuf/virtio-gpu-udmabuf-tests/scanout-udmabuf",
]
# ...on a line whose device has guest_vram=on (LINE_GUEST_VRAM)
REQUIRED_GUEST_VRAM = [
    "/pc/i440FX-pcihost/pci-bus-pc/pci-bus/virtio-gpu-gl-pci-guest-vram/"
    "virtio-gpu-guest-vram/virtio-gpu-guest-vram-tests/hostile/seq/"
    "guest-vram",
]
REQUIRED_GUEST_VRAM_L2 = ["/udmabuf/guest-vram/ran",
                          "/udmabuf/guest-vram/vk-complete",
                          "/udmabuf/guest-vram/heap",
                          "/udmabuf/guest-vram/released"]
# ...and with an L2 guest
REQUIRED_L2 = ["/udmabuf/l2-guest/drew", "/udmabuf/l2-guest/pixels",
               "/udmabuf/l2-guest/blob-scanout"]


def l1_command(image, obj, serial, guest, mode=""):
    # One vCPU: with two, multi-threaded TCG raced the kernel's live text
    # patching (text_poke_bp's int3 ran stale on the other vCPU: an
    # "Oops: int3" in sched_clock_cpu at boot, once in five runs).
    return [guestvm.qemu_binary(), "-M", "q35", "-m", "4096", "-smp", "1",
            "-cpu", "max", "-accel", "tcg", "-nodefaults", "-no-reboot",
            "-display", "none", "-vga", "none", "-monitor", "none",
            "-fsdev", "local,id=hostroot,path=/,security_model=none,"
            "readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-kernel", os.path.join(image, "vmlinuz"),
            "-initrd", os.path.join(image, "initrd.gz"),
            "-append", "console=ttyS0 panic=-1 loglevel=4 l1.top=%s l1.obj=%s "
            "l1.base=%s%s%s"
            % (guestvm.TOP, os.path.abspath(obj),
               os.environ.get("BASE", "debian12"),
               " l1.mode=" + mode if mode else "",
               " l1.guest=" + os.path.abspath(guest) if guest else ""),
            "-serial", "file:" + serial]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("obj")
    ap.add_argument("--guest")
    ap.add_argument("--tap")
    # Debian 13's lane took 667 s here and over 900 s on a CI machine
    # (its L2 guests run under TCG in TCG): a hang, not a slow host, is
    # what this bounds.
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--soak", type=int, metavar="N")
    ap.add_argument("--log")
    args = ap.parse_args()
    # killed, the L1 goes too: subprocess.run() kills it on SystemExit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mode = "bench" if args.bench else ""
    if args.soak:
        mode = "soak-%d" % args.soak

    serial = args.log or os.path.join(args.obj, "udmabuf-l1.log")
    start = time.monotonic()
    try:
        subprocess.run(l1_command(args.image, args.obj, serial, args.guest,
                                  mode),
                       timeout=args.timeout, check=False,
                       stdin=subprocess.DEVNULL)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    elapsed = time.monotonic() - start
    with open(serial, errors="replace") as f:
        log = f.read().replace("\r", "")

    # What ran is read from the whole log, a timed-out run's too.
    run = re.search(r"L1-BEGIN\n(.*?)(?:L1-END (\d+)|\Z)", log, re.S)
    body = run.group(1) if run else log[-3000:]
    m = re.search(r"L1-END (\d+)", log)
    if mode:
        print(body.strip())
        print("# the L1 host ran it in %.0f s" % elapsed)
        if args.soak:
            ran = re.findall(r"^(ok|not ok) \d+ /udmabuf/guest-vram/ran - "
                             r".* in (\d+) s$", body, re.M)
            secs = sorted(int(t) for _, t in ran)
            print("soak: %d runs, %d failed, median run %s s"
                  % (len(ran), sum(ok != "ok" for ok, _ in ran),
                     secs[len(secs) // 2] if secs else "-"))
        return 0 if m and m.group(1) == "0" else 1
    results, why = [], []
    for line in body.splitlines():
        t = re.match(r"(not ok|ok) \d+ (\S+.*)", line)
        if t:
            results.append((t.group(1) == "ok", t.group(2)))
        elif line.startswith("# | "):
            why.append(line)
        elif line.startswith("#") and "starting QEMU" not in line:
            print(line)
    ran = {what.split()[0].replace("/x86_64", "", 1)
           for ok, what in results}
    required = REQUIRED + (REQUIRED_L2 if args.guest else [])
    if guestvm.line_setting("LINE_GUEST_VRAM", "") == "1":
        required += REQUIRED_GUEST_VRAM + \
            (REQUIRED_GUEST_VRAM_L2 if args.guest else [])
    for name in required:
        if name not in ran:
            results.append((False, name + " (did not run)"))
    if timed_out:
        results.append((False, "the L1 host finished within %d s"
                        % args.timeout))
    elif not m:
        results.append((False, "the L1 host ran the lane (serial log: %s)"
                        % body[-500:].strip()))
    elif m.group(1) != "0":
        results.append((False, "in-l1.sh exited 0 (exit %s)" % m.group(1)))

    tap = ["TAP version 13"]
    for i, (ok, what) in enumerate(results, 1):
        tap.append("%s %d udmabuf lane: %s" % ("ok" if ok else "not ok", i,
                                               what))
    tap.append("1..%d" % len(results))
    print("\n".join(tap))
    if args.tap:
        with open(args.tap, "w") as f:
            f.write("\n".join(tap) + "\n")
    # what a failing L2 left behind, last: CI keeps the log's end
    if why:
        print("\n".join(why[-60:]))
    failed = sum(not ok for ok, _ in results)
    print("# udmabuf lane: L1 boot and tests took %.0f s" % elapsed)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
