#!/usr/bin/env python3
"""In the udmabuf lane's L1 host: a Linux guest (L2) on the 2D device
with blobs (virtio-gpu-pci,blob=on, guest RAM from memory-backend-memfd),
so that its console's framebuffer, a dumb buffer, is a GUEST blob that
QEMU joins into a udmabuf and scans out.  The guest draws a pattern on
/dev/fb0; a screendump must show it, pixel for pixel.  Prints TAP lines.

    l2-guest.py IMAGE_DIR QEMU
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 900


def fb_pixel(x, y):
    """The guest's pattern (vgpu-guest-test.c, fb_pixel()), as RGB."""
    return bytes((x * 3 & 0xff, y * 5 & 0xff, (x ^ y) & 0xff))


def qmp(path, *commands):
    """Run @commands on the QMP socket at @path; their answers."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rw")
    f.readline()                        # the greeting
    answers = []
    for cmd in ("qmp_capabilities",) + commands:
        name, _, arg = cmd.partition(" ")
        msg = {"execute": name}
        if arg:
            msg["arguments"] = json.loads(arg)
        f.write(json.dumps(msg) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                answers.append({"error": "QEMU closed the socket"})
                break
            ans = json.loads(line)
            if "event" not in ans:
                answers.append(ans)
                break
    s.close()
    return answers[1:]


def read_ppm(path):
    data = open(path, "rb").read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():]


def main():
    image, qemu = sys.argv[1:3]
    results = []

    def check(ok, name, what):
        results.append((bool(ok), name, what))

    with tempfile.TemporaryDirectory() as tmp:
        serial, sock = os.path.join(tmp, "serial"), os.path.join(tmp, "qmp")
        ppm = os.path.join(tmp, "screen.ppm")
        cmd = [qemu, "-M", "q35", "-m", "256", "-accel", "tcg",
               "-object", "memory-backend-memfd,id=ram,size=256M",
               "-machine", "memory-backend=ram", "-nodefaults",
               "-no-reboot", "-vga", "none", "-display", "none",
               "-device", "virtio-gpu-pci,blob=on",
               "-kernel", os.path.join(image, "vmlinuz"),
               "-initrd", os.path.join(image, "initrd.gz"),
               # no blinking cursor over the pattern
               "-append", "console=ttyS0 panic=-1 loglevel=4 vgpu.fbfill "
               "vt.global_cursor_default=0",
               "-serial", "file:" + serial,
               "-qmp", "unix:%s,server=on,wait=off" % sock,
               "-trace", "virtio_gpu_cmd_res_create_blob",
               "-trace", "virtio_gpu_cmd_set_scanout_blob"]
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        ready = None
        while time.monotonic() - start < TIMEOUT and p.poll() is None:
            log = open(serial, errors="replace").read() \
                if os.path.exists(serial) else ""
            ready = re.search(r"VGPU-FB-READY (\d+) (\d+)", log)
            if ready:
                break
            time.sleep(2)
        elapsed = time.monotonic() - start
        check(ready, "/udmabuf/l2-guest/drew", "the L2 guest booted and "
              "drew on its console in %.0f s" % elapsed)
        if ready:
            ans = qmp(sock, 'screendump {"filename": "%s"}' % ppm, "quit")
            check("return" in ans[0], "/udmabuf/l2-guest/screendump",
                  "screendump: %s" % ans[0])
            w, h = int(ready.group(1)), int(ready.group(2))
            bad = -1
            if os.path.exists(ppm):
                sw, sh, pix = read_ppm(ppm)
                bad = w * h if (sw, sh) != (w, h) else sum(
                    pix[(y * w + x) * 3:(y * w + x) * 3 + 3] !=
                    fb_pixel(x, y) for y in range(h) for x in range(w))
            check(bad == 0, "/udmabuf/l2-guest/pixels", "the screen shows "
                  "the guest's %dx%d pattern (%d pixels wrong)"
                  % (w, h, bad))
        else:
            p.kill()
            tail = open(serial, errors="replace").read()[-1500:] \
                if os.path.exists(serial) else ""
            for line in tail.splitlines():
                print("#   " + line)
        try:
            out = p.communicate(timeout=60)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            out = p.communicate()[0].decode(errors="replace")
        blobs = len(re.findall(r"virtio_gpu_cmd_res_create_blob", out))
        scanouts = len(re.findall(r"virtio_gpu_cmd_set_scanout_blob", out))
        check(blobs and scanouts, "/udmabuf/l2-guest/blob-scanout",
              "the console was a blob: %d CREATE_BLOB, %d SET_SCANOUT_BLOB"
              % (blobs, scanouts))
        check(p.returncode == 0, "/udmabuf/l2-guest/exit",
              "QEMU exited with status 0 (%s)" % p.returncode)
    for i, (ok, name, what) in enumerate(results, 1):
        print("%s %d %s - %s" % ("ok" if ok else "not ok", i, name, what))
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
