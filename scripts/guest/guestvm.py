"""The Linux guest's QEMU command line, shared by run-guest.py and soak.py.

The QEMU binary comes from $QEMU (default: build/$BASE/obj/qemu-system-x86_64),
so the same guest can be pointed at another QEMU build.
"""
import os

HOSTMEM = 256 << 20
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


_NONE = object()


def line_setting(name, default=_NONE):
    """NAME's value in the line's conf (scripts/lines/$BASE.conf), or
    DEFAULT where the conf has none."""
    conf = os.path.join(TOP, "scripts", "lines",
                        os.environ.get("BASE", "debian12") + ".conf")
    with open(conf) as f:
        for line in f:
            key, eq, value = line.strip().partition("=")
            if eq and key == name:
                return value.split("#")[0].strip().strip("'\"")
    if default is not _NONE:
        return default
    raise KeyError("%s has no %s" % (conf, name))


def qemu_binary():
    return os.environ.get("QEMU",
                          os.path.join(TOP, "build", os.environ.get("BASE", "debian12"), "obj/qemu-system-x86_64"))


def guest_command(image, append, serial, device_extra="", extra=()):
    """The command that boots IMAGE's kernel and initramfs on a
    virtio-gpu-gl-pci (id vgpu) with blobs and HOSTMEM of host memory,
    the host's root read-only over 9p, the console in file SERIAL."""
    # max_hostmem above the region: a blob too large for the region is
    # then refused by the guest, not the host (a driver path tested).
    device = ("virtio-gpu-gl-pci,id=vgpu,blob=on,hostmem=%d,"
              "max_hostmem=%d%s" % (HOSTMEM, 2 * HOSTMEM, device_extra))
    return [qemu_binary(), "-M", "q35", "-m", "1024", "-smp", "1",
            "-accel", "tcg", "-nodefaults", "-no-reboot", "-vga", "none",
            "-display", "egl-headless",
            "-device", device,
            # the host's root, read-only, for the GL client and Mesa
            "-fsdev", "local,id=hostroot,path=/,security_model=none,"
            "readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-kernel", os.path.join(image, "vmlinuz"),
            "-initrd", os.path.join(image, "initrd.gz"),
            # iomem=relaxed: the test program reads the device's MMIO;
            # no_timer_check: an L2 guest under TCG in TCG is too slow
            # for the IO-APIC timer check, which then panics
            "-append", "console=ttyS0 panic=-1 iomem=relaxed no_timer_check "
            + append,
            "-serial", "file:" + serial] + list(extra)
