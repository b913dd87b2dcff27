#!/usr/bin/env python3
"""make soak: boot the Linux guest RUNS times on the virtio-gpu-gl device
and run a workload that fills the control ring, to catch lost
notifications and any other hang.

    soak.py IMAGE_DIR [--runs N] [--rounds R] [--timeout S]

Each run: the in-guest test program's ring-filling rounds (96 mapped
blobs closed at once, 192 fenced submits, live mappings churned), the
fbdev console scrolling and the GL client drawing, all at once.  A run
that does not finish within its timeout is looked at again: as long as
the device's indices or the guest's console move, it is slow, not hung
(up to five times the timeout).  One that stalls for 30 s is a hang:
the vCPUs' state, the device's queue state (through the monitor), the
guest's ring indices read from guest memory, the guest's blocked tasks
(sysrq-w), the last console lines and QEMU's thread stacks (gdb) are
printed.  Ends "soak: R runs, H hangs, median run S s"; exits
non-zero on any hang or failure.  The QEMU binary comes from $QEMU.
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import guestvm

VQ_PATH = "/machine/peripheral/vgpu/virtio-backend"


class Monitor:
    """QMP, used for human monitor commands."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self.recv()
        self.cmd({"execute": "qmp_capabilities"})

    def recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("monitor closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")
        while True:
            reply = self.recv()
            if "return" in reply or "error" in reply:
                return reply

    def hmp(self, line):
        reply = self.cmd({"execute": "human-monitor-command",
                          "arguments": {"command-line": line}})
        return reply.get("return", str(reply.get("error")))


def read_u16(mon, addr):
    out = mon.hmp("xp /1hx %#x" % addr)
    m = re.search(r":\s*0x([0-9a-f]+)", out)
    return int(m.group(1), 16) if m else None


def diagnose(mon, serial):
    """What a hang looks like, from the device, guest memory and guest."""
    print("#   -- vCPUs (info cpus):")
    for line in mon.hmp("info cpus").splitlines():
        print("#   " + line)
    for q, name in ((0, "control"), (1, "cursor")):
        status = mon.hmp("info virtio-queue-status %s %d" % (VQ_PATH, q))
        print("#   -- %s queue (info virtio-queue-status):" % name)
        for line in status.splitlines():
            print("#   " + line)
        num = re.search(r"num:\s+(\d+)", status)
        avail = re.search(r"avail:\s+0x([0-9a-f]+)", status)
        used = re.search(r"used:\s+0x([0-9a-f]+)", status)
        if num and avail and used:
            n, a, u = (int(num.group(1)), int(avail.group(1), 16),
                       int(used.group(1), 16))
            print("#   guest memory: avail->idx %s, used->idx %s, "
                  "used_event %s, avail_event %s"
                  % (read_u16(mon, a + 2), read_u16(mon, u + 2),
                     read_u16(mon, a + 4 + 2 * n),
                     read_u16(mon, u + 4 + 8 * n)))
    # sysrq through the PS/2 keyboard: loglevel 8, then blocked tasks
    mon.hmp("sendkey alt-sysrq-8")
    time.sleep(0.5)
    mon.hmp("sendkey alt-sysrq-w")
    time.sleep(3)
    log = open(serial, errors="replace").read() \
        if os.path.exists(serial) else ""
    tail = log.strip().splitlines()[-60:]
    print("#   -- the guest's last console lines (sysrq-w at the end):")
    for line in tail:
        print("#   " + line)


STALL_SECONDS = 30


def snapshot(qmp, serial):
    """The control queue's indices, and how much the guest printed."""
    try:
        status = Monitor(qmp).hmp("info virtio-queue-status %s 0" % VQ_PATH)
    except (OSError, EOFError, ValueError):
        status = ""
    idx = re.findall(r"(?:used_idx|last_avail_idx):\s+(\d+)", status)
    size = os.path.getsize(serial) if os.path.exists(serial) else 0
    return idx, size


def progressed(qmp, serial, seconds):
    """Whether the device or the guest moved within @seconds."""
    before = snapshot(qmp, serial)
    time.sleep(seconds)
    return snapshot(qmp, serial) != before


# The device's own state, read by gdb: what the monitor does not show.
GDB_DEVICE = [
    "set $g = (VirtIOGPU *)object_resolve_path_type(\"\", "
    "\"virtio-gpu-gl-device\", 0)",
    "p $g->ctrl_vq->inuse", "p $g->inflight", "p $g->processing_cmdq",
    "p $g->cmdq.tqh_first", "p $g->fenceq.tqh_first",
    "p ((VirtIOGPUGL *)$g)->cmdq_suspended",
    "p ((VirtIOGPUGL *)$g)->renderer_reset",
    "p $g->parent_obj.renderer_blocked",
    "p $g->parent_obj.region.pending_releases",
    "p g_hash_table_size(((VirtIOGPUGL *)$g)->dying)",
]


def qemu_stacks(pid):
    """Every QEMU thread's stack and the device's state, if gdb is there."""
    args = ["gdb", "-q", "-batch", "-p", str(pid)]
    for c in GDB_DEVICE:
        args += ["-ex", c]
    try:
        out = subprocess.run(args + ["-ex", "thread apply all bt 12"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=60).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        out = "gdb: %s" % e
    print("#   -- the device (gdb: inuse, inflight, processing_cmdq, cmdq, "
          "fenceq, cmdq_suspended, renderer_reset, renderer_blocked, "
          "pending_releases, dying) and QEMU's threads:")
    for line in out.splitlines():
        if line.startswith(("Thread", "#", "$")):
            print("#   " + line)


def one_run(image, rounds, timeout, tmp, n):
    serial = os.path.join(tmp, "serial%d.log" % n)
    qmp = os.path.join(tmp, "qmp%d.sock" % n)
    gl_client = os.path.abspath(os.path.join(image, "gl-client"))
    append = ("loglevel=4 sysrq_always_enabled vgpu.soak=%d vgpu.gl=%s"
              % (rounds, gl_client))
    cmd = guestvm.guest_command(image, append, serial, "",
                                ["-qmp", "unix:%s,server=on,wait=off" % qmp,
                                 "-monitor", "none"])
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    hung = False
    deadline = timeout
    while True:
        try:
            out, _ = p.communicate(timeout=deadline)
            break
        except subprocess.TimeoutExpired:
            pass
        # Slow is not hung (a loaded host): wait on while anything moves.
        if time.monotonic() - start < 5 * timeout and \
                progressed(qmp, serial, STALL_SECONDS):
            deadline = timeout / 4
            continue
        hung = True
        break
    elapsed = time.monotonic() - start
    if hung:
        print("# run %d: no progress for %d s (after %d s): a hang"
              % (n, STALL_SECONDS, elapsed))
        try:
            diagnose(Monitor(qmp), serial)
        except (OSError, EOFError, ValueError) as e:
            print("#   monitor: %s" % e)
        qemu_stacks(p.pid)
        p.kill()
        out, _ = p.communicate()
        print("#   -- what QEMU said:")
        for line in out.decode(errors="replace").strip().splitlines()[-15:]:
            print("#   " + line)
        return "hang", elapsed
    log = open(serial, errors="replace").read() \
        if os.path.exists(serial) else ""
    m = re.search(r"VGPU-SOAK-END (\d+)", log)
    if m and m.group(1) == "0" and "VGPU-SOAK-GL-FAILED" not in log and \
            p.returncode == 0:
        return "ok", elapsed
    print("# run %d: failed (QEMU exit %d)" % (n, p.returncode))
    for line in (log.strip().splitlines()[-25:] +
                 out.decode(errors="replace").strip().splitlines()[-10:]):
        print("#   " + line)
    return "fail", elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--runs", type=int,
                    default=int(os.environ.get("SOAK_RUNS", "100")))
    ap.add_argument("--rounds", type=int,
                    default=int(os.environ.get("SOAK_ROUNDS", "8")))
    ap.add_argument("--timeout", type=int,
                    default=int(os.environ.get("SOAK_TIMEOUT", "120")))
    args = ap.parse_args()

    print("soak: %s, %d runs of %d rounds, %d s timeout each"
          % (guestvm.qemu_binary(), args.runs, args.rounds, args.timeout))
    counts = {"ok": 0, "hang": 0, "fail": 0}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, args.runs + 1):
            result, elapsed = one_run(args.image, args.rounds, args.timeout,
                                      tmp, n)
            counts[result] += 1
            times.append(elapsed)
            print("%s %d - soak run %d (%.1f s)"
                  % ("ok" if result == "ok" else "not ok", n, n, elapsed))
            sys.stdout.flush()
    if counts["fail"]:
        print("soak: %d runs failed without hanging" % counts["fail"])
    print("soak: %d runs, %d hangs, median run %.1f s"
          % (args.runs, counts["hang"], statistics.median(times)))
    return 1 if counts["hang"] or counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
