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

    l2-guest.py IMAGE_DIR QEMU [bench | venus]

With "bench", only the two venus guests run, guest_vram on and off, and
the Vulkan client times host-visible allocations on each.  With "venus",
only the venus guest runs.
"""
import json
import os
import re
import shutil
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


def qmp(path, *commands, timeout=None):
    """Run @commands on the QMP socket at @path; their answers."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
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


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().strip()
    except OSError as e:
        return "(%s)" % e.strerror


def busiest(seconds=3):
    """The L1's processes that used its CPU most over @seconds."""
    def ticks():
        t = {}
        for p in filter(str.isdigit, os.listdir("/proc")):
            f = read("/proc/%s/stat" % p).rpartition(") ")[2].split()
            if len(f) > 12:
                t[p] = int(f[11]) + int(f[12])
        return t
    before = ticks()
    time.sleep(seconds)
    after = ticks()
    use = sorted(((after[p] - before.get(p, 0), p) for p in after),
                 reverse=True)[:4]
    hz = os.sysconf("SC_CLK_TCK")
    return ["pid %s %s used %d%% of a CPU" % (p, read("/proc/%s/comm" % p),
                                             n * 100 // (hz * seconds))
            for n, p in use]


def stuck(pid, sock):
    """Where QEMU @pid, its children and its guest stand, as text: the
    L1's busiest processes, each thread's state and kernel wait channel,
    and the guest's RIP (it boots with nokaslr: the kernel's
    /proc/kallsyms names it; Debian ships no System.map)."""
    lines = busiest()
    pids = [str(pid)]
    for p in pids:
        pids += read("/proc/%s/task/%s/children" % (p, p)).split()
        tids = os.listdir("/proc/%s/task" % p) \
            if os.path.isdir("/proc/%s/task" % p) else []
        for tid in sorted(tids, key=int):
            t = "/proc/%s/task/%s/" % (p, tid)
            lines.append("pid %s thread %s %s: %s in %s"
                         % (p, tid, read(t + "comm"),
                            read(t + "stat").rpartition(") ")[2][:1],
                            read(t + "wchan")))
    for _ in range(3):
        try:
            ans = qmp(sock, "query-status", 'human-monitor-command '
                      '{"command-line": "info registers"}', timeout=30)
        except (OSError, ValueError) as e:
            lines.append("QMP did not answer: %r" % e)
            break
        if len(ans) < 2:
            lines.append("QMP: %s" % ans)
            break
        rip = re.search(r"RIP=([0-9a-f]+)", str(ans[1].get("return")))
        lines.append("QMP: %s, guest RIP %s"
                     % (ans[0].get("return", ans[0]),
                        rip.group(1) if rip else ans[1]))
        time.sleep(5)
    # a halted guest waits for an interrupt: is its APIC timer armed?
    try:
        ans = qmp(sock, 'human-monitor-command '
                  '{"command-line": "info lapic"}', timeout=30)
        lines += [x.strip() for x in str(ans[0].get("return", ans[0]))
                  .splitlines() if re.search(r"timer|LVTT", x, re.I)]
    except (OSError, ValueError) as e:
        lines.append("QMP did not answer: %r" % e)
    # a render worker that died says so here only (segfaults are info)
    lines += command_lines(["dmesg"])[-6:]
    lines += ["L1 process: " + x
              for x in command_lines(["ps", "-eo", "pid,ppid,stat,time,comm"])
              if "virgl" in x or "qemu" in x]
    if shutil.which("gdb"):
        # where QEMU's main loop is, twice (gdb is slow in the L1)
        for _ in range(2):
            lines += [x for x in command_lines(
                ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread 1",
                 "-ex", "bt 16"]) if x.startswith("#")]
    return "".join("stuck: %s\n" % x for x in lines)


def command_lines(argv, timeout=600):
    """What @argv printed, as lines; a missing or slow tool says so."""
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout).stdout.splitlines()
    except OSError as e:
        return ["%s: %s" % (argv[0], e.strerror)]
    except subprocess.TimeoutExpired:
        return ["%s took over %d s" % (argv[0], timeout)]


def read_ppm(path):
    data = open(path, "rb").read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():]


def venus_guest(image, qemu, check, guest_vram=True, bench=False):
    """The Vulkan client on venus over the heap, with guest_vram=on (or,
    for the benchmark's other side, off); returns its "# vk-bench"
    lines."""
    os.environ["QEMU"] = qemu
    gl = os.path.abspath(os.path.join(image, "gl-client"))
    # nokaslr: a stuck guest's RIP can be looked up (stuck())
    # vt.global_cursor_default=0: the console's blinking cursor made a
    # full-screen flush five times a second, each an llvmpipe blit in the
    # L1 (egl-headless), which took most of the L1's one CPU.
    # clocksource=hpet: venus' driver sends a ring wake-up at most once a
    # millisecond of the guest's clock and the ring thread sleeps after a
    # millisecond of the L1's; a TSC calibrated at boot under TCG in TCG
    # may run off the L1's, and the HPET is the L1's own clock
    append = ("loglevel=4 nokaslr vt.global_cursor_default=0 "
              "clocksource=hpet "
              "vgpu.guestvram=%s vgpu.gl=%s vgpu.venus=%s%s"
              % ("on" if guest_vram else "off", gl,
                 guestvm.line_setting("LINE_VENUS_ICD"),
                 " vgpu.vkbench" if bench else ""))
    name = "/udmabuf/guest-vram" if guest_vram else "/udmabuf/host-alloc"
    with tempfile.TemporaryDirectory() as tmp:
        serial, sock = os.path.join(tmp, "serial"), os.path.join(tmp, "qmp")
        cmd = guestvm.guest_command(
            image, append, serial,
            ",venus=on,hostmem-memdev=heap,guest_vram=%s"
            % ("on" if guest_vram else "off"),
            ["-monitor", "none",
             "-qmp", "unix:%s,server=on,wait=off" % sock,
             "-object", "memory-backend-memfd,id=heap,size=%d"
             % guestvm.HOSTMEM,
             # the commands, and what venus' worker said: the last of
             # them show where a stuck guest stopped
             "-trace", "virtio_gpu_cmd_*",
             "-trace", "virtio_gpu_virgl_blob_create",
             "-trace", "virtio_gpu_virgl_slice_import",
             "-trace", "virtio_gpu_virgl_slice_release"])
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            out, rc = p.communicate(timeout=TIMEOUT)[0], p.returncode
        except subprocess.TimeoutExpired:
            # where it stuck, before it is killed; a report that fails
            # must not keep QEMU alive
            try:
                why = stuck(p.pid, sock)
            except Exception as e:  # noqa: BLE001
                why = "stuck: the report failed: %r\n" % e
            p.kill()
            out, rc = p.communicate()[0] + why.encode(), None
        out = out.decode(errors="replace")
        elapsed = time.monotonic() - start
        log = open(serial, errors="replace").read() \
            if os.path.exists(serial) else ""
    check(rc == 0 and "VGPU-VK-END" in log, name + "/ran",
          "the venus guest ran the Vulkan client and QEMU exited 0 "
          "(%s) in %.0f s" % (rc, elapsed))
    up = [float(t) for t in re.findall(r"^VGPU-UPTIME ([\d.]+)", log, re.M)]
    if len(up) == 2:
        print("# %s: the L2's kernel booted to the client in %.0f s, the "
              "Vulkan client ran %.0f s, the rest (QEMU, firmware, power "
              "off) took %.0f s" % (name, up[0], up[1] - up[0],
                                    elapsed - up[1]), flush=True)
    vk = re.search(r"VGPU-VK-BEGIN\n(.*?)VGPU-VK-END", log, re.S)
    vk = vk.group(1) if vk else ""
    taps = re.findall(r"^(ok|not ok) \d+ - (.*)$", vk, re.M)
    for ok, what in taps:
        check(ok == "ok", name + "/vk", what)
    check(taps and re.search(r"^\d+ passed, 0 failed$", vk, re.M),
          name + "/vk-complete", "the Vulkan client completed with no "
          "failure (%d checks)" % len(taps))
    if not taps or rc != 0:
        # "# | " lines: run-l1.py repeats them after the TAP, where CI's
        # excerpt of the log ends
        tail = (vk or log).splitlines()[-15:]
        report = [x for x in out.splitlines() if x.startswith("stuck: ")]
        # the console's own flushes say nothing about venus
        printed = [x for x in out.splitlines() if x not in report and
                   "_res_flush" not in x and "_xfer_toh_2d" not in x]
        printed = printed[-12:] + report
        print("# | %s: the guest's serial log ends (%d lines):"
              % (name, len(tail)))
        for line in tail:
            print("# |   " + line)
        print("# | QEMU printed:")
        for line in printed:
            print("# |   " + line)
    # Each of venus' memory objects (blob_id != 0) came from the heap.
    objects = len(re.findall(r"virtio_gpu_virgl_blob_create .*mem 2 "
                             r"flags \S+ blob_id 0x(?!0 )", out))
    imports = len(re.findall(r"virtio_gpu_virgl_slice_import", out))
    releases = len(re.findall(r"virtio_gpu_virgl_slice_release", out))
    if guest_vram:
        check(objects >= 3 and imports == objects, name + "/heap",
              "venus' %d memory objects were heap slices the renderer "
              "imported (%d imports), none host-allocated"
              % (objects, imports))
        check(releases == imports, name + "/released",
              "every import was released (%d of %d)" % (releases, imports))
    else:
        check(objects >= 3 and imports == 0, name + "/host",
              "venus' %d memory objects were host-allocated, no import"
              % objects)
    return re.findall(r"^# vk-bench .*$", vk, re.M)


def main():
    image, qemu = sys.argv[1:3]
    bench = sys.argv[3:] == ["bench"]
    results = []

    def check(ok, name, what):
        # printed at once: the L1's serial log keeps what a timeout cut
        results.append((bool(ok), name, what))
        if not bench:
            print("%s %d %s - %s" % ("ok" if ok else "not ok", len(results),
                                     name, what), flush=True)

    if bench:
        # allocation cost from the guest, guest_vram on and off, one run
        ours = venus_guest(image, qemu, check, True, True)
        host = venus_guest(image, qemu, check, False, True)
        for g, h in zip(ours, host):
            us = [float(re.search(r"([\d.]+) us$", x).group(1))
                  for x in (g, h)]
            print("# %s | host-allocated %.0f us | guest/host %.2fx"
                  % (g.replace(" us", " us guest_vram").lstrip("# "),
                     us[1], us[0] / us[1]))
        for ok, name, what in results:
            print("%s - %s - %s" % ("ok" if ok else "not ok", name, what))
        return 0 if all(ok for ok, _, _ in results) else 1
    if guestvm.line_setting("LINE_GUEST_VRAM", "") == "1":
        venus_guest(image, qemu, check)
    if sys.argv[3:] == ["venus"]:
        return 0 if all(ok for ok, _, _ in results) else 1

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
               "no_timer_check "
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
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
