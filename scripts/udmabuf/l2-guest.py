#!/usr/bin/env python3
"""In the udmabuf lane's L1 host: a Linux guest (L2) on the 2D device
with blobs (virtio-gpu-pci,blob=on, guest RAM from memory-backend-memfd),
so that its console's framebuffer, a dumb buffer, is a GUEST blob that
QEMU joins into a udmabuf and scans out.  The guest draws a pattern on
/dev/fb0; a screendump must show it, pixel for pixel.

On a line with guest_vram=on (LINE_GUEST_VRAM), a second L2 guest runs
the Vulkan client on Mesa's venus with guest-based allocation: its
host-visible memory is heap pages the renderer imports as udmabufs.

Prints TAP lines.

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "guest"))
import guestvm  # noqa: E402

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


def guest_vram(image, qemu, check):
    """The Vulkan client on venus with guest_vram=on and the heap."""
    os.environ["QEMU"] = qemu
    gl = os.path.abspath(os.path.join(image, "gl-client"))
    append = ("loglevel=4 vgpu.guestvram vgpu.gl=%s vgpu.venus=%s"
              % (gl, guestvm.line_setting("LINE_VENUS_ICD")))
    with tempfile.TemporaryDirectory() as tmp:
        serial = os.path.join(tmp, "serial")
        cmd = guestvm.guest_command(
            image, append, serial,
            ",venus=on,hostmem-memdev=heap,guest_vram=on",
            ["-monitor", "none",
             "-object", "memory-backend-memfd,id=heap,size=%d"
             % guestvm.HOSTMEM,
             "-trace", "virtio_gpu_virgl_blob_create",
             "-trace", "virtio_gpu_virgl_slice_import",
             "-trace", "virtio_gpu_virgl_slice_release"])
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=TIMEOUT)
            out, rc = p.stdout.decode(errors="replace"), p.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b"").decode(errors="replace"), None
        elapsed = time.monotonic() - start
        log = open(serial, errors="replace").read() \
            if os.path.exists(serial) else ""
    check(rc == 0 and "VGPU-VK-END" in log, "/udmabuf/guest-vram/ran",
          "the venus guest ran the Vulkan client and QEMU exited 0 "
          "(%s) in %.0f s" % (rc, elapsed))
    vk = re.search(r"VGPU-VK-BEGIN\n(.*?)VGPU-VK-END", log, re.S)
    vk = vk.group(1) if vk else ""
    taps = re.findall(r"^(ok|not ok) \d+ - (.*)$", vk, re.M)
    for ok, what in taps:
        check(ok == "ok", "/udmabuf/guest-vram/vk", what)
    check(taps and re.search(r"^\d+ passed, 0 failed$", vk, re.M),
          "/udmabuf/guest-vram/vk-complete", "the Vulkan client completed "
          "with no failure (%d checks)" % len(taps))
    if not taps or rc != 0:
        for line in (vk or log[-2000:] or out[-2000:]).splitlines()[-25:]:
            print("#   " + line)
    # Each of venus' memory objects (blob_id != 0) came from the heap.
    objects = len(re.findall(r"virtio_gpu_virgl_blob_create .*mem 2 "
                             r"flags \S+ blob_id 0x(?!0 )", out))
    imports = len(re.findall(r"virtio_gpu_virgl_slice_import", out))
    releases = len(re.findall(r"virtio_gpu_virgl_slice_release", out))
    check(objects >= 3 and imports == objects, "/udmabuf/guest-vram/heap",
          "venus' %d memory objects were heap slices the renderer imported "
          "(%d imports), none host-allocated" % (objects, imports))
    check(releases == imports, "/udmabuf/guest-vram/released",
          "every import was released (%d of %d)" % (releases, imports))


def main():
    image, qemu = sys.argv[1:3]
    results = []

    def check(ok, name, what):
        results.append((bool(ok), name, what))

    if guestvm.line_setting("LINE_GUEST_VRAM", "") == "1":
        guest_vram(image, qemu, check)

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
