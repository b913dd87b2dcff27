#!/usr/bin/env python3
"""The libvirt lane's domains: the guest of the guest lane, started by
libvirtd (qemu:///system) as users start QEMU, under libvirt's default
sandbox, user and device cgroup.

The XML is what docs/libvirt.md shows: libvirt's own elements where the
running libvirt has them (blob='on' from 9.2, where the host has
/dev/udmabuf), <qemu:override> for the device's properties it lacks,
<qemu:commandline> for objects it cannot express.  Print one with

    domain.py [--libvirt VERSION] [--describe] KIND EMULATOR

KIND: gl (blobs and hostmem), venus, venus-heap (the region over a
static heap); venus-unserved (venus through a render server none
started, which QEMU must refuse at start).  run-guest.py --libvirt
boots its guest through run().
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape

URI = "qemu:///system"
HOSTMEM = 256 << 20
NAME = "vgpu-lane"


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-q", "-c", URI] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=check)


def libvirt_version():
    """libvirtd's version, as a tuple."""
    out = subprocess.run(["libvirtd", "--version"], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return tuple(int(n) for n in re.search(r"(\d+)\.(\d+)", out).groups())


def venus_in_process(emulator):
    """Whether venus=on alone runs venus in QEMU's process (Debian 12's
    series: venus_in_process=auto on virglrenderer 0.10)."""
    out = subprocess.run([emulator, "-device", "virtio-gpu-gl-pci,help"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout
    return "venus_in_process=<OnOffAuto>" in out


def attr(value):
    return "'%s'" % escape(value, {"'": "&apos;"})


def render_node():
    return any(n.startswith("renderD") for n in
               (os.listdir("/dev/dri") if os.path.isdir("/dev/dri") else []))


def native_blob(version):
    """Whether blob='on' says it: libvirt 9.2 has it, and then gives QEMU
    /dev/udmabuf, refusing to start a domain on a host without it."""
    return version >= (9, 2) and os.path.exists("/dev/udmabuf")


def domain_xml(kind, emulator, version, in_process, kernel="KERNEL",
               initrd="INITRD", cmdline="CMDLINE", serial="SERIAL",
               extra_args=()):
    """The domain for KIND on libvirt VERSION."""
    native = native_blob(version)
    venus = kind.startswith("venus")
    heap = kind.endswith("heap")
    props = [] if native else [("blob", "bool", "true")]
    props += [("hostmem", "unsigned", HOSTMEM),
              # a blob larger than the region is then the guest's to
              # refuse, a driver path the guest program tests
              ("max_hostmem", "unsigned", 2 * HOSTMEM)]
    args = []
    if venus:
        props.append(("venus", "bool", "true"))
    if kind == "venus-unserved":
        # through the render server, but none started: refused at start
        if in_process:
            props.append(("venus_in_process", "string", "off"))
    elif venus and not in_process:
        # started before -sandbox, which forbids virglrenderer to start it
        props.append(("render-server", "string", "rs0"))
        args += ["-object", "virgl-render-server,id=rs0"]
    if heap:
        props.append(("hostmem-memdev", "string", "heap"))
        args += ["-object", "memory-backend-memfd,id=heap,size=%d" % HOSTMEM]
    graphics = "    <graphics type='egl-headless'/>\n"
    if not render_node():
        # libvirt wants a DRM render node for egl-headless; QEMU's own
        # falls back to surfaceless EGL (llvmpipe), and the last
        # -display wins over libvirt's -display none
        graphics = ""
        args += ["-display", "egl-headless"]
    args += list(extra_args)
    return """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>%(name)s</name>
  <memory unit='MiB'>1024</memory>
%(backing)s  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>%(cmdline)s</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>%(emulator)s</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <serial type='file'>
      <source path=%(serial)s/>
    </serial>
    <filesystem type='mount' accessmode='passthrough' multidevs='remap'>
      <source dir='/'/>
      <target dir='hostroot'/>
      <readonly/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </filesystem>
    <video>
      <model type='virtio' heads='1' primary='yes'%(blob)s>
        <acceleration accel3d='yes'/>
      </model>
      <alias name='ua-gpu'/>
    </video>
%(graphics)s  </devices>
%(commandline)s  <qemu:override>
    <qemu:device alias='ua-gpu'>
      <qemu:frontend>
%(props)s      </qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
""" % {
        "name": NAME + "-" + kind,
        "backing": ("  <memoryBacking>\n    <source type='memfd'/>\n"
                    "    <access mode='shared'/>\n  </memoryBacking>\n"
                    if native else ""),
        "kernel": escape(kernel), "initrd": escape(initrd),
        "cmdline": escape(cmdline), "emulator": escape(emulator),
        "serial": attr(serial),
        "blob": " blob='on'" if native else "",
        "graphics": graphics,
        "commandline": ("  <qemu:commandline>\n" + "".join(
            "    <qemu:arg value=%s/>\n" % attr(a) for a in args) +
            "  </qemu:commandline>\n") if args else "",
        "props": "".join(
            "        <qemu:property name='%s' type='%s' value='%s'/>\n" % p
            for p in props),
    }


# What a failed domain's log or virsh's error says, and what it means.
CAUSES = [
    (r"reason=crashed",
     "QEMU crashed or was killed: the kernel log shows SIGSYS (31) if "
     "seccomp killed it (QEMU 7.2 under -sandbox spawn=deny kills a "
     "process that forks)"),
    (r"forbids starting|(fork|exec).*(Operation not permitted|EPERM)",
     "seccomp: -sandbox spawn=deny forbids starting a process"),
    (r"apparmor|DENIED|security label|selinux",
     "label: the security driver's profile denies a file QEMU needs"),
    (r"/dev/\S+.*(Operation not permitted|EPERM)|devices\.(allow|deny)",
     "cgroup: the device is not in cgroup_device_acl (qemu.conf)"),
    (r"Permission denied",
     "permissions: a file or directory libvirt-qemu cannot read "
     "(each directory on the path must be searchable by others)"),
    (r"mount propagation|mount namespace",
     "libvirt's mount namespace for QEMU (namespaces in qemu.conf)"),
    (r"No such file", "a path the domain names does not exist"),
]


def diagnose(text):
    """The cause of a failure, from what QEMU and libvirt said (not from
    QEMU's command line, which the log shows first)."""
    said = [line for line in text.splitlines()
            if not line.endswith("\\") and not line.startswith("-")]
    for pattern, cause in CAUSES:
        for line in said:
            if re.search(pattern, line, re.I):
                return "%s (%s)" % (cause, line.strip())
    return None


def status(pid):
    """/proc/PID/status as a dict, {} if PID is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f
                        if ":\t" in line)
    except OSError:
        return {}


def confinement(name, seen=None):
    """How QEMU of domain NAME runs: its user, its seccomp mode and
    -sandbox; and the children it has had (the render server), by pid,
    with their seccomp modes, added to SEEN's."""
    try:
        with open("/run/libvirt/qemu/%s.pid" % name) as f:
            pid = int(f.read())
        with open("/proc/%d/cmdline" % pid) as f:
            argv = f.read().split("\0")
    except (OSError, ValueError):
        return seen
    st = status(pid)
    # Before its exec the pid is libvirt's child; exiting, QEMU's
    # cmdline is empty: neither says how QEMU runs.
    if not st or "qemu-system" not in os.path.basename(argv[0]):
        return seen
    children = dict(seen["children"]) if seen else {}
    for c in filter(str.isdigit, os.listdir("/proc")):
        cst = status(int(c))
        if cst.get("PPid") == str(pid):
            children[int(c)] = (cst.get("Name", ""), cst.get("Seccomp"))
    return {
        "uid": int(st.get("Uid", "-1").split()[0]),
        "seccomp": st.get("Seccomp"),
        "sandbox": argv[argv.index("-sandbox") + 1]
        if "-sandbox" in argv else None,
        "children": children,
    }


def run(kind, emulator, kernel, initrd, cmdline, serial, timeout,
        extra_args=()):
    """Start the domain, wait until it is gone (or TIMEOUT s); return
    QEMU's log for this run, 0 if libvirt saw a normal shutdown, whether
    it timed out, and how QEMU ran (confinement()).  A failure's log ends
    with its cause."""
    in_process = venus_in_process(emulator)
    xml = domain_xml(kind, emulator, libvirt_version(), in_process,
                     kernel, initrd, cmdline, serial, extra_args)
    name = NAME + "-" + kind
    logfile = "/var/log/libvirt/qemu/%s.log" % name
    virsh("destroy", name, check=False)
    if os.path.exists(logfile):
        # this run's log alone, and far from virtlogd's rotation
        open(logfile, "w").close()
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(xml)
        f.flush()
        created = virsh("create", f.name, check=False)
    deadline = time.monotonic() + timeout
    timed_out = False
    confined = None
    while created.returncode == 0 and \
            virsh("domstate", name, check=False).returncode == 0:
        # sampled all along: virglrenderer may fork at the first command
        confined = confinement(name, confined)
        if time.monotonic() > deadline:
            virsh("destroy", name, check=False)
            timed_out = True
            break
        time.sleep(0.5)
    out = ""
    if os.path.exists(logfile):
        with open(logfile, errors="replace") as f:
            out = f.read()
    out += created.stdout
    ok = created.returncode == 0 and not timed_out and \
        "reason=shutdown" in out
    if confined is not None:
        confined["server"] = kind.startswith("venus") and not in_process
    cause = None if ok else diagnose(out)
    if cause:
        out += "\nlibvirt lane: the domain failed: %s\n" % cause
    return out, 0 if ok else 1, timed_out, confined


REFUSAL = ("venus=on: -sandbox spawn=deny forbids starting virglrenderer's "
           "render server; start it before the sandbox with -object "
           "virgl-render-server,id=ID and render-server=ID")


def check_refusal(emulator, image, tap):
    """Venus through the render server with none started: libvirt's user
    gets QEMU's refusal at start, and the lane names the cause.  Writes
    TAP to TAP."""
    image = os.path.abspath(image)
    with tempfile.TemporaryDirectory() as tmp:
        out, rc, _, _ = run("venus-unserved", os.path.abspath(emulator),
                            os.path.join(image, "vmlinuz"),
                            os.path.join(image, "initrd.gz"), "panic=-1",
                            os.path.join(tmp, "serial.log"), 60)
    cause = diagnose(out) or ""
    results = [
        (rc != 0 and REFUSAL in out, "libvirt: venus through a render "
         "server none started is refused at start, naming the object"),
        (cause.startswith("seccomp:"), "libvirt lane: the cause named is "
         "the sandbox (%s)" % (cause or "none")),
    ]
    lines = ["%s %d - %s" % ("ok" if ok else "not ok", i, what)
             for i, (ok, what) in enumerate(results, 1)]
    lines.append("1..%d" % len(results))
    with open(tap, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return all(ok for ok, _ in results)


def describe(kind, version, in_process):
    what = ["virtio-vga-gl", "blob " + ("blob='on'" if native_blob(version)
                                         else "by override"),
            "hostmem by override"]
    if kind.startswith("venus"):
        what.append("venus in QEMU's process (the default)" if in_process
                    else "venus through a render server started before "
                    "the sandbox")
    if kind.endswith("heap"):
        what.append("a static heap (memory-backend-memfd)")
    return ", ".join(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--describe", action="store_true",
                    help="one line saying what the domain has")
    ap.add_argument("--refusal", nargs=2, metavar=("IMAGE_DIR", "TAP"),
                    help="check_refusal(): start venus-unserved with "
                    "IMAGE_DIR's kernel, write TAP")
    ap.add_argument("--libvirt", help="the libvirt version (default: "
                    "libvirtd's)")
    ap.add_argument("kind", choices=["gl", "gl-heap", "venus", "venus-heap",
                                     "venus-unserved"])
    ap.add_argument("emulator")
    args = ap.parse_args()
    version = tuple(int(n) for n in args.libvirt.split(".")[:2]) \
        if args.libvirt else libvirt_version()
    in_process = venus_in_process(args.emulator)
    if args.refusal:
        return 0 if check_refusal(args.emulator, *args.refusal) else 1
    if args.describe:
        print(describe(args.kind, version, in_process))
    else:
        print(domain_xml(args.kind, args.emulator, version, in_process),
              end="")


if __name__ == "__main__":
    sys.exit(main())
