#!/usr/bin/env python3
"""Boot a Linux guest on a virtio-gpu-gl-pci with blobs and host memory,
run the in-guest test program, and check what the driver and the program
report.  Prints TAP and a closing "N passed, N failed"; exits non-zero on
any failure.

    run-guest.py IMAGE_DIR [--tap FILE] [--demo PNG] [--timeout S]

The QEMU binary comes from $QEMU (default: build/$BASE/obj/qemu-system-x86_64),
so the same checks can be pointed at another QEMU build.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import guestvm

HOSTMEM = guestvm.HOSTMEM


def write_png(path, width, height, rows):
    """rows: lists of 0xAARRGGBB; writes an RGB PNG with zlib alone."""
    raw = b"".join(b"\0" + b"".join(struct.pack(">I", p)[1:] for p in row)
                   for row in rows)

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + \
            struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                           8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def section(log, begin, end):
    m = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), log,
                  re.S)
    return m.group(1) if m else ""


def libvirt_guest(args, cmd):
    """Boot what CMD boots as a libvirt domain of the same kind; return
    QEMU's log, 0 for a normal shutdown, and whether it timed out."""
    sys.path.insert(0, os.path.join(guestvm.TOP, "scripts", "libvirt"))
    import domain

    opt = dict(zip(cmd[1:], cmd[2:]))
    kind = "venus" if args.venus else "gl"
    if args.heap:
        kind += "-heap"
    # the trace the heap's checks read: a test's addition to the domain
    trace = ["-trace", opt["-trace"]] if "-trace" in opt else []
    return domain.run(kind, os.path.abspath(cmd[0]),
                      os.path.abspath(opt["-kernel"]),
                      os.path.abspath(opt["-initrd"]), opt["-append"],
                      opt["-serial"][len("file:"):], args.timeout, trace)


def check_confinement(check, confined, venus):
    """libvirt ran QEMU as users get it: as libvirt-qemu, under its
    default sandbox; a render server QEMU started runs outside it."""
    c = confined or {}
    check(c.get("uid", 0) != 0 and c.get("seccomp") == "2" and
          "spawn=deny" in (c.get("sandbox") or ""),
          "libvirt: QEMU ran as uid %s, seccomp mode %s, -sandbox %s"
          % (c.get("uid"), c.get("seccomp"), c.get("sandbox")))
    servers = [s for n, s in c.get("children", {}).values()
               if n.startswith("virgl_render")]
    if c.get("server"):
        check(servers == ["0"], "libvirt: the render server QEMU started "
              "before the sandbox runs outside it (seccomp mode %s)"
              % (", ".join(servers) or "-: no server"))
    elif venus:
        check(not servers, "libvirt: venus runs in QEMU's process, no "
              "render server (%d)" % len(servers))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--tap")
    ap.add_argument("--demo", metavar="PNG")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--heap", action="store_true",
                    help="back the region with a static heap "
                    "(hostmem-memdev=) and check which blobs were placed "
                    "over it and which took subregions")
    ap.add_argument("--libvirt", action="store_true",
                    help="boot the guest as a libvirt domain "
                    "(scripts/libvirt/domain.py), not by running QEMU")
    ap.add_argument("--venus", metavar="ICD_JSON",
                    help="the venus lane: vulkaninfo and the Vulkan client "
                    "on the venus driver this ICD JSON names (venus runs in "
                    "QEMU's process)")
    args = ap.parse_args()

    qemu = guestvm.qemu_binary()
    results = []

    def check(ok, what):
        results.append((bool(ok), what))

    gl_client = os.path.abspath(os.path.join(args.image, "gl-client"))
    append = "loglevel=4 vgpu.gl=" + gl_client
    device_extra = ""
    if args.demo:
        append += " vgpu.demo"
    if args.venus:
        append += " vgpu.venus=" + os.path.abspath(args.venus)
        device_extra = "," + guestvm.line_setting("LINE_VENUS")
    with tempfile.TemporaryDirectory() as tmp:
        serial = os.path.join(tmp, "serial.log")
        extra = ["-monitor", "none"]
        if args.heap:
            device_extra += ",hostmem-memdev=heap"
            extra += ["-object", "memory-backend-memfd,id=heap,size=%d"
                      % HOSTMEM, "-trace", "virtio_gpu_region_state"]
        cmd = guestvm.guest_command(args.image, append, serial, device_extra,
                                    extra)
        start = time.monotonic()
        if args.libvirt:
            qemu_out, returncode, timed_out, confined = \
                libvirt_guest(args, cmd)
        else:
            try:
                p = subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT,
                                   timeout=args.timeout)
                qemu_out = p.stdout.decode(errors="replace")
                returncode = p.returncode
                timed_out = False
            except subprocess.TimeoutExpired as e:
                qemu_out = (e.stdout or b"").decode(errors="replace")
                timed_out = True
            except OSError as e:
                print("not ok 1 - guest: cannot run %s: %s" % (qemu, e))
                print("0 passed, 1 failed")
                return 1
        elapsed = time.monotonic() - start
        log = open(serial, errors="replace").read() \
            if os.path.exists(serial) else ""

    if args.libvirt:
        check_confinement(check, confined, args.venus)
    check(not timed_out and "reboot: Power down" in log,
          "guest: booted, ran and powered off within %d s (%.1f s)"
          % (args.timeout, elapsed))
    reports = [line for line in qemu_out.splitlines()
               if re.search(r"ERROR: \w+Sanitizer|runtime error:|"
                            r"SUMMARY: \w+Sanitizer|assertion failed",
                            line)]
    check(not timed_out and returncode == 0 and not reports,
          "guest: QEMU exited with status 0 and no sanitizer report%s"
          % ("" if timed_out or not (returncode or reports) else
             " (status %d: %s)" % (returncode,
                                   reports[0] if reports else "")))
    if reports:
        for line in qemu_out.strip().splitlines()[-40:]:
            print("#   " + line)
    if timed_out or "VGPU-TEST-END" not in log:
        print("# the guest's last console lines:")
        for line in log.strip().splitlines()[-25:]:
            print("#   " + line)
        print("# QEMU said:")
        for line in qemu_out.strip().splitlines()[-10:]:
            print("#   " + line)

    dmesg = section(log, "VGPU-DMESG-BEGIN", "VGPU-DMESG-END")
    feats = section(log, "VGPU-FEATURES-BEGIN", "VGPU-FEATURES-END")
    test = section(log, "VGPU-TEST-BEGIN", "VGPU-TEST-END")
    check("[drm] features: +virgl +edid +resource_blob +host_visible"
          in dmesg, "guest: driver reports "
          "+virgl +edid +resource_blob +host_visible")
    check("[drm] features: +context_init" in dmesg,
          "guest: driver reports +context_init")
    m = re.search(r"Host memory window: (0x[0-9a-f]+) \+(0x[0-9a-f]+)", dmesg)
    check(m and int(m.group(2), 16) == HOSTMEM,
          "guest: driver found the host memory window of hostmem=%d MiB%s"
          % (HOSTMEM >> 20, " at %s" % m.group(1) if m else ""))
    check(re.search(r"blob resources\s*: yes", feats) and
          re.search(r"host visible region\s*: 0x[0-9a-f]+ \+%#x" % HOSTMEM,
                    feats),
          "guest: debugfs virtio-gpu-features lists blobs and the region")

    def passthrough(output, who, at_least):
        """Pass a guest program's TAP through; check it completed."""
        npass = nfail = 0
        for line in output.splitlines():
            mm = re.match(r"(not ok|ok) \d+ - (.*)", line)
            if mm:
                check(mm.group(1) == "ok", who + ": " + mm.group(2))
                npass += mm.group(1) == "ok"
                nfail += mm.group(1) != "ok"
        summary = re.search(r"^(\d+) passed, (\d+) failed$", output, re.M)
        if not summary:
            print("# %s said:" % who)
            for line in (output or "(nothing)").splitlines()[-15:]:
                print("#   " + line)
        check(summary and int(summary.group(1)) == npass and
              int(summary.group(2)) == nfail == 0 and npass >= at_least,
              "%s: completed, %d passed, %d failed" % (who, npass, nfail))

    passthrough(test, "guest program", 20)

    # The whole run drew no error reply but those the program provoked.
    klog = section(log, "VGPU-KLOG-BEGIN", "VGPU-KLOG-END")
    got = re.findall(r"response (0x[0-9a-f]+) \(command (0x[0-9a-f]+)\)",
                     klog)
    want = re.findall(r"^# expect-kernel-error response (0x[0-9a-f]+) "
                      r"\(command (0x[0-9a-f]+)\)", test, re.M)
    unexpected = [g for g in got if g not in want or
                  got.count(g) > want.count(g)]
    check("VGPU-KLOG-END" in log and not unexpected and
          sorted(got) == sorted(want),
          "guest kernel log: no error reply but the %d provoked (%s)"
          % (len(want), ", ".join("%s to %s" % g for g in got) or "none"))
    for line in klog.splitlines():
        if re.search(r"response 0x|BUG|blocked for more", line):
            print("#   kernel: " + line)

    # Mesa says nothing is wrong either.
    gl_out = section(log, "VGPU-GL-BEGIN", "VGPU-GL-END")
    mesa_errors = [line for line in gl_out.splitlines()
                   if not re.match(r"(not ok|ok) \d+ |#|\d+\.\.|\d+ passed",
                                   line) and
                   re.search(r"MESA-VIRTIO|virgl.*(error|fail)|"
                             r"(error|fail).*virgl", line, re.I)]
    check(not mesa_errors, "guest Mesa: no virgl error lines%s"
          % ("" if not mesa_errors else ": " + mesa_errors[0]))

    # Mesa's virgl driver, through a real GL client.
    passthrough(section(log, "VGPU-GL-BEGIN", "VGPU-GL-END"),
                "guest GL client", 9)

    vk_name = None
    if args.venus:
        venus = section(log, "VGPU-VENUS-BEGIN", "VGPU-VENUS-END")
        gpu = re.search(r"deviceName\s*=\s*(.*)", venus)
        vk_name = gpu.group(1).strip() if gpu else None
        ok = vk_name and "Venus" in vk_name and "VGPU-VENUS-END 0" in log
        check(ok, "guest venus: vulkaninfo --summary finds %s"
              % (vk_name or "no device"))
        if not ok:
            for line in venus.splitlines()[-20:]:
                print("#   " + line)
        vk_out = section(log, "VGPU-VK-BEGIN", "VGPU-VK-END")
        vk_tap = re.sub(r"VK-FRAME 64 64\n.*?VK-FRAME-END\n?", "", vk_out,
                        flags=re.S)
        passthrough(vk_tap, "guest Vulkan client", 12)
        venus_errors = [line for line in vk_out.splitlines()
                        if "MESA-VIRTIO" in line or
                        re.search(r"vn_|venus.*(error|fail)", line, re.I)]
        check(not venus_errors, "guest Mesa venus: no error lines%s"
              % ("" if not venus_errors else ": " + venus_errors[0]))

    if args.heap:
        moves = re.findall(r"virtio_gpu_region_state res \S+ offset \S+ "
                           r"(\w+) -> (\w+)", qemu_out)
        placed = {to: sum(1 for _, t in moves if t == to)
                  for to in ("fixed", "subregion")}
        print("# with the heap: %d blobs placed over it, %d subregions"
              % (placed["fixed"], placed["subregion"]))
        check(placed["subregion"] > 0, "heap: GL blobs (pointers) took "
              "subregions over the heap (%d)" % placed["subregion"])
        # venus in QEMU's process (Debian 12) maps by pointer; through
        # the render server its memory comes as shm fds
        if args.venus and "venus_in_process" not in \
                guestvm.line_setting("LINE_VENUS"):
            check(placed["fixed"] > 0, "heap: venus blobs (shm fds) were "
                  "placed over the heap with MAP_FIXED (%d)"
                  % placed["fixed"])

    timings = [line for line in test.splitlines()
               if line.startswith("# map-cycle")]
    if args.demo:
        frame = section(log, "VGPU-FRAME 96 64", "VGPU-FRAME-END")
        rows = [[int(px, 16) for px in re.findall(r"[0-9a-f]{8}", line)]
                for line in frame.splitlines()]
        ok = len(rows) == 64 and all(len(r) == 96 for r in rows)
        check(ok, "demo: the frame came back from the guest")
        if ok:
            write_png(args.demo, 96, 64, rows)
        vk_png = None
        if args.venus:
            vk_frame = section(log, "VK-FRAME 64 64", "VK-FRAME-END")
            vk_rows = [[int(px, 16) for px in
                        re.findall(r"[0-9a-f]{8}", line)]
                       for line in vk_frame.splitlines()]
            if len(vk_rows) == 64 and all(len(r) == 64 for r in vk_rows):
                vk_png = re.sub(r"(\.png)?$", "-vulkan.png", args.demo,
                                count=1)
                write_png(vk_png, 64, 64, vk_rows)
            check(vk_png, "demo: the Vulkan image came back from the guest")
        print_report(dmesg, test, timings, args.demo if ok else None, m,
                     results, vk_name, vk_png)

    out = []
    for i, (ok, what) in enumerate(results, 1):
        out.append("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    out.append("1..%d" % len(results))
    passed = sum(ok for ok, _ in results)
    failed = len(results) - passed
    text = "\n".join(out) + "\n"
    if args.tap:
        with open(args.tap, "w") as f:
            f.write(text)
    if not args.demo:
        sys.stdout.write(text)
        for line in timings:
            print(line)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def print_report(dmesg, test, timings, png, window, results, vk_name=None,
                 vk_png=None):
    def line(label, text):
        print("  %-22s %s" % (label, text))
    print()
    print("virtio-gpu blobs and host-visible memory, seen from a Linux guest")
    print("(%s kernel and Mesa, TCG, virgl on the host's llvmpipe)"
          % guestvm.line_setting("LINE_NAME"))
    print()
    for d in re.findall(r"\[drm\] (features: .*)", dmesg):
        line("negotiated", d)
    if window:
        line("host memory window", "%s, %d MiB" % (window.group(1),
                                                  int(window.group(2), 16)
                                                  >> 20))
    def status(word):
        ok = [o for o, w in results if word in w]
        return "yes" if ok and all(ok) else "NO"
    line("HOST3D blob", "created, mapped, written, read back: %s"
         % status("HOST3D blob"))
    line("host sees guest bytes", status("the host sees"))
    line("64 live mappings", status("mapped at once"))
    line("frame via virgl", png if png else "NOT rendered")
    line("Mesa GL client", "persistent coherent buffer in the host region, "
         "drawn from: %s" % status("guest GL client"))
    if vk_name:
        line("Vulkan device", vk_name)
        line("Vulkan client", "host-visible coherent memory in the region, "
             "filled, copied, computed: %s" % status("guest Vulkan client"))
        line("image via venus", vk_png or "NOT computed")
    for t in timings:
        line("map path", t.lstrip("# "))
    passed = sum(ok for ok, _ in results)
    line("checks", "%d passed, %d failed" % (passed,
                                               len(results) - passed))
    print()


if __name__ == "__main__":
    sys.exit(main())
