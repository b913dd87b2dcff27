/*
 * qtests for virtio-gpu's host-visible memory region: the shared memory
 * capability, the BAR, the hostmem= property, and the mapping module
 * (through its qtest-only properties, with a memfd as backing).
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/mman.h>
#include "libqtest.h"
#include "qemu/host-utils.h"
#include "qemu/units.h"
#include "libqos/pci-pc.h"
#include "libqos/virtio-gpu.h"
#include "hw/pci/pci_regs.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_gpu.h"

#define GPU_PATH "/machine/peripheral/gpu/virtio-backend"

typedef struct ShmCap {
    int count;
    uint8_t cap_len, bar, id;
    uint64_t offset, length;
} ShmCap;

typedef struct Dev {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *pdev;
} Dev;

static Dev *dev_start(const char *device, const char *opts)
{
    Dev *d = g_new0(Dev, 1);

    d->qts = qtest_initf("-M pc -vga none -device %s,id=gpu,addr=04.0%s",
                         device, opts);
    d->bus = qpci_new_pc(d->qts, NULL);
    d->pdev = qpci_device_find(d->bus, QPCI_DEVFN(4, 0));
    g_assert_nonnull(d->pdev);
    return d;
}

static void dev_stop(Dev *d)
{
    g_free(d->pdev);
    qpci_free_pc(d->bus);
    qtest_quit(d->qts);
    g_free(d);
}

/* A QMP answer's error text, or NULL; the answer is dropped. */
static char *rsp_error(QDict *rsp)
{
    char *err = NULL;

    if (qdict_haskey(rsp, "error")) {
        err = g_strdup(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"));
    }
    qobject_unref(rsp);
    return err;
}

/* Walk the vendor capabilities for shared memory ones. */
static ShmCap find_shm_caps(QPCIDevice *pdev)
{
    ShmCap c = { 0 };
    uint8_t pos = 0;

    g_assert(qpci_config_readw(pdev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
    while ((pos = qpci_find_capability(pdev, PCI_CAP_ID_VNDR, pos))) {
        if (qpci_config_readb(pdev, pos + 3) !=
            VIRTIO_PCI_CAP_SHARED_MEMORY_CFG) {
            continue;
        }
        c.count++;
        c.cap_len = qpci_config_readb(pdev, pos + 2);
        c.bar = qpci_config_readb(pdev, pos + 4);
        c.id = qpci_config_readb(pdev, pos + 5);
        c.offset = qpci_config_readl(pdev, pos + 8) |
                   (uint64_t)qpci_config_readl(pdev, pos + 16) << 32;
        c.length = qpci_config_readl(pdev, pos + 12) |
                   (uint64_t)qpci_config_readl(pdev, pos + 20) << 32;
    }
    return c;
}

/* Whether BAR @bar exists: sizing it reads back something. */
static bool bar_implemented(QPCIDevice *pdev, int bar)
{
    uint8_t reg = PCI_BASE_ADDRESS_0 + bar * 4;
    uint32_t old = qpci_config_readl(pdev, reg), mask;

    qpci_config_writel(pdev, reg, 0xffffffff);
    mask = qpci_config_readl(pdev, reg);
    qpci_config_writel(pdev, reg, old);
    return mask != 0;
}

/* Size a 64-bit memory BAR the way firmware does; check its type. */
static uint64_t bar64_size(QPCIDevice *pdev, int bar)
{
    uint8_t reg = PCI_BASE_ADDRESS_0 + bar * 4;
    uint32_t lo = qpci_config_readl(pdev, reg);
    uint32_t hi = qpci_config_readl(pdev, reg + 4);
    uint64_t mask;

    g_assert_cmphex(lo & PCI_BASE_ADDRESS_SPACE, ==,
                    PCI_BASE_ADDRESS_SPACE_MEMORY);
    g_assert_cmphex(lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_cmphex(lo & PCI_BASE_ADDRESS_MEM_PREFETCH, ==,
                    PCI_BASE_ADDRESS_MEM_PREFETCH);

    qpci_config_writel(pdev, reg, 0xffffffff);
    qpci_config_writel(pdev, reg + 4, 0xffffffff);
    mask = (qpci_config_readl(pdev, reg) & PCI_BASE_ADDRESS_MEM_MASK) |
           (uint64_t)qpci_config_readl(pdev, reg + 4) << 32;
    qpci_config_writel(pdev, reg, lo);
    qpci_config_writel(pdev, reg + 4, hi);
    return ~mask + 1;
}

static void check_region(const char *device, const char *hostmem,
                         uint64_t size, int bar)
{
    g_autofree char *opts = g_strdup_printf(",hostmem=%s", hostmem);
    Dev *d = dev_start(device, opts);
    ShmCap c = find_shm_caps(d->pdev);

    g_assert_cmpint(c.count, ==, 1);
    g_assert_cmpuint(c.cap_len, ==, sizeof(struct virtio_pci_cap64));
    g_assert_cmpuint(c.id, ==, VIRTIO_GPU_SHM_ID_HOST_VISIBLE);
    g_assert_cmpuint(c.bar, ==, bar);
    g_assert_cmphex(c.offset, ==, 0);
    g_assert_cmphex(c.length, ==, size);
    g_assert_cmphex(bar64_size(d->pdev, bar), ==, pow2ceil(size));
    dev_stop(d);
}

/* The BAR of the device's first virtio capability of @cfg_type. */
static int virtio_cap_bar(QPCIDevice *pdev, uint8_t cfg_type)
{
    uint8_t pos = 0;

    while ((pos = qpci_find_capability(pdev, PCI_CAP_ID_VNDR, pos))) {
        if (qpci_config_readb(pdev, pos + 3) == cfg_type) {
            return qpci_config_readb(pdev, pos + 4);
        }
    }
    return -1;
}

static void test_region_gpu_pci(void)
{
    Dev *d;

    check_region("virtio-gpu-pci", "256M", 256 * MiB, 4);
    /* Not a power of two: the BAR is rounded up, the region is not. */
    check_region("virtio-gpu-pci", "3M", 3 * MiB, 4);
    check_region("virtio-gpu-pci", "64G", 64 * GiB, 4);
    /* Upstream's layout: the virtio BAR moves from 4 to 2, msix stays. */
    d = dev_start("virtio-gpu-pci", ",hostmem=16M");
    g_assert_cmpint(virtio_cap_bar(d->pdev, VIRTIO_PCI_CAP_COMMON_CFG), ==, 2);
    g_assert_cmpint(virtio_cap_bar(d->pdev, VIRTIO_PCI_CAP_NOTIFY_CFG), ==, 2);
    g_assert_true(bar_implemented(d->pdev, 1));
    dev_stop(d);
    d = dev_start("virtio-gpu-pci", "");
    g_assert_cmpint(virtio_cap_bar(d->pdev, VIRTIO_PCI_CAP_COMMON_CFG), ==, 4);
    dev_stop(d);
}

static void test_region_vga(void)
{
    Dev *d;

    check_region("virtio-vga", "256M", 256 * MiB, 4);
    /* msix moves from BAR 4 to BAR 1 to make room. */
    d = dev_start("virtio-vga", ",hostmem=16M");
    g_assert_true(bar_implemented(d->pdev, 1));
    dev_stop(d);
    d = dev_start("virtio-vga", "");
    g_assert_false(bar_implemented(d->pdev, 1));
    g_assert_true(bar_implemented(d->pdev, 4));
    dev_stop(d);
}

/* Config space with hostmem=0 is exactly that of the stock device. */
static void check_no_region(const char *device, int region_bar)
{
    Dev *stock = dev_start(device, "");
    Dev *zero = dev_start(device, ",hostmem=0");
    int i;

    g_assert_cmpint(find_shm_caps(zero->pdev).count, ==, 0);
    /* A BAR that only the region's layout uses is not implemented. */
    g_assert_false(bar_implemented(zero->pdev, region_bar));
    for (i = 0; i < 256; i += 4) {
        g_assert_cmphex(qpci_config_readl(zero->pdev, i), ==,
                        qpci_config_readl(stock->pdev, i));
    }
    dev_stop(stock);
    dev_stop(zero);
}

static void test_no_region(void)
{
    check_no_region("virtio-gpu-pci", 2);
    check_no_region("virtio-vga", 1);
}

/*
 * Run QEMU with a bad property on @display, with option @opt (and its
 * value @val) and @object (a backend) if not NULL; check it fails with
 * @msg.
 */
static void check_refused_in(const char *display, const char *opt,
                             const char *val, const char *object,
                             const char *device_opts, const char *msg)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *err = NULL;
    const char *argv[17] = {
        qemu, "-M", "pc", "-accel", "qtest", "-display", display,
        "-vga", "none", "-S", "-device", device_opts,
    };
    int argc = 12;
    gint status;

    g_assert_nonnull(qemu);
    if (object) {
        argv[argc++] = "-object";
        argv[argc++] = object;
    }
    if (opt) {
        argv[argc++] = opt;
        argv[argc++] = val;
    }
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
    g_assert_false(g_spawn_check_exit_status(status, NULL));
    if (!strstr(err, msg)) {
        g_error("expected \"%s\" in: %s", msg, err);
    }
    /* Refused cleanly: no assertion, no signal. */
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
}

static void check_refused_on(const char *display, const char *object,
                             const char *device_opts, const char *msg)
{
    check_refused_in(display, NULL, NULL, object, device_opts, msg);
}

static void check_refused_with(const char *object, const char *device_opts,
                               const char *msg)
{
    check_refused_on("none", object, device_opts, msg);
}

static void check_refused(const char *device_opts, const char *msg)
{
    check_refused_with(NULL, device_opts, msg);
}

/* guest_vram=on (Debian 13's gl device) without what it needs */
static void test_guest_vram_refused(void)
{
    const char *heap = "memory-backend-memfd,id=heap,size=16M";
    const char *gl = "virtio-gpu-gl-pci,blob=on,hostmem=16M,guest_vram=on";
    g_autofree char *no_venus =
        g_strdup_printf("%s,hostmem-memdev=heap", gl);
    g_autofree char *no_heap = g_strdup_printf("%s,venus=on", gl);
    g_autofree char *all =
        g_strdup_printf("%s,venus=on,hostmem-memdev=heap", gl);

    check_refused_on("egl-headless", heap, no_venus,
                     "guest_vram=on needs venus=on and a static heap");
    check_refused_on("egl-headless", NULL, no_heap,
                     "guest_vram=on needs venus=on and a static heap");
    if (access("/dev/udmabuf", R_OK | W_OK)) {
        check_refused_on("egl-headless", heap, all,
                         "slices of the heap need /dev/udmabuf");
    }
}

/*
 * venus without what it needs, each refusal naming what to change; its
 * render server under libvirt's sandbox: virglrenderer may not start
 * it, and a virgl-render-server object must be given.
 */
static void test_venus_refused(void)
{
    const char *gl = "virtio-gpu-gl-pci,blob=on,hostmem=16M";
    const char *rs = "virgl-render-server,id=rs";
    g_autofree char *venus =
        g_strdup_printf("%s,%s", gl, QVIRTIO_GPU_VENUS_SERVER);
    g_autofree char *no_venus = g_strdup_printf("%s,render-server=rs", gl);

    check_refused_on("egl-headless", NULL,
                     "virtio-gpu-gl-pci,hostmem=16M,venus=on",
                     QVIRTIO_GPU_VENUS_NEEDS);
    check_refused_on("egl-headless", NULL,
                     "virtio-gpu-gl-pci,blob=on,venus=on",
                     QVIRTIO_GPU_VENUS_NEEDS);
    if (QVIRTIO_GPU_CAN_SANDBOX) {
        check_refused_in("egl-headless", "-sandbox",
                         QVIRTIO_GPU_LIBVIRT_SANDBOX, NULL, venus,
                         "venus=on: -sandbox spawn=deny forbids starting "
                         "virglrenderer's render server; start it before "
                         "the sandbox with -object "
                         "virgl-render-server,id=ID and render-server=ID");
    }
    check_refused_on("egl-headless", rs, no_venus,
                     "render-server= needs venus=on");
    /* the server would stay root (10.0 spells -runas -run-with user=) */
    check_refused_in("egl-headless",
                     QEMU_VERSION_MAJOR >= 10 ? "-run-with" : "-runas",
                     QEMU_VERSION_MAJOR >= 10 ? "user=nobody" : "nobody",
                     rs, venus,
                     "virgl-render-server: QEMU changes its user or root "
                     "directory once started");
    check_refused_on("egl-headless",
                     "virgl-render-server,id=rs,path=/nonexistent", venus,
                     "virgl-render-server: cannot run /nonexistent: "
                     "No such file or directory");
    if (QVIRTIO_GPU_HAS_VENUS_IN_PROCESS) {
        g_autofree char *both = g_strdup_printf(
            "%s,venus=on,venus_in_process=on,render-server=rs", gl);

        check_refused_on("egl-headless", rs, both,
                         "render-server= needs venus_in_process=off");
    }
}

/* Once the sandbox is on, the object may no longer start a server. */
static void test_render_server_late(void)
{
    QTestState *qts = qtest_init("-M pc -sandbox "
                                 QVIRTIO_GPU_LIBVIRT_SANDBOX);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'object-add', 'arguments': "
                           "{'qom-type': 'virgl-render-server', "
                           "'id': 'rs'}}");

    g_assert_true(qdict_haskey(rsp, "error"));
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    ==, "virgl-render-server: -sandbox spawn=deny is on; "
                    "give the object on the command line (-object)");
    qobject_unref(rsp);
    /* and QEMU lives on */
    qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
    qtest_quit(qts);
}

static void test_bad_sizes(void)
{
    check_refused("virtio-gpu-pci,hostmem=3000",
                  "hostmem=3000 is not a multiple of the host page size");
    check_refused("virtio-gpu-pci,hostmem=2T",
                  "is larger than the maximum of 1024 GiB");
    check_refused("virtio-gpu-pci,hostmem=16M,modern-pio-notify=on",
                  "hostmem moves the virtio BAR to 2, which modern-pio-notify "
                  "takes");
    check_refused("virtio-vga,hostmem=16M,modern-pio-notify=on",
                  "hostmem needs BARs 4 and 5, which modern-pio-notify");
    check_refused("virtio-gpu-pci,hostmem=-1", "hostmem");
}

/* ---- mappings, with a memfd as backing ---- */

typedef struct Map {
    Dev *d;
    const char *tester;         /* QOM path of the region's tester */
    QPCIBar bar;
    int memfd;
    uint8_t *mem;               /* the memfd, mapped here */
    size_t memsize;
    int live;                   /* the benchmark's mappings */
} Map;

/* The region, backed by a static heap (a memfd backend) if @heap. */
static Map *map_start_heap(uint64_t hostmem, bool heap)
{
    g_autofree char *opts = heap ?
        g_strdup_printf(",hostmem=%" PRIu64 ",hostmem-memdev=heap -object "
                        "memory-backend-memfd,id=heap,size=%" PRIu64,
                        hostmem, hostmem) :
        g_strdup_printf(",hostmem=%" PRIu64, hostmem);
    Map *m = g_new0(Map, 1);
    uint64_t size;

    m->d = dev_start("virtio-gpu-pci", opts);
    qpci_device_enable(m->d->pdev);
    m->bar = qpci_iomap(m->d->pdev, 4, &size);
    g_assert_cmphex(size, ==, pow2ceil(hostmem));
    m->tester = qvirtio_gpu_region_tester(m->d->qts, GPU_PATH);

    m->memsize = 1 * MiB;
    m->memfd = memfd_create("hostmem-test", MFD_CLOEXEC);
    g_assert_cmpint(m->memfd, >=, 0);
    g_assert_cmpint(ftruncate(m->memfd, m->memsize), ==, 0);
    m->mem = mmap(NULL, m->memsize, PROT_READ | PROT_WRITE, MAP_SHARED,
                  m->memfd, 0);
    g_assert(m->mem != MAP_FAILED);
    return m;
}

static Map *map_start(uint64_t hostmem)
{
    return map_start_heap(hostmem, false);
}

static void map_stop(Map *m)
{
    munmap(m->mem, m->memsize);
    close(m->memfd);
    dev_stop(m->d);
    g_free(m);
}

/* Map the memfd for @resource at @offset; NULL, or the error's text. */
static char *map_fd_at(Map *m, uint32_t resource, uint64_t offset,
                       uint64_t size)
{
    int fd = dup(m->memfd);
    g_autofree char *arg = NULL;
    char *err = NULL;
    QDict *rsp;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
    rsp = qtest_qmp_fds(m->d->qts, &fd, 1, "{'execute': 'getfd',"
                        " 'arguments': {'fdname': 'fd'}}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    close(fd);

    arg = g_strdup_printf("%u:0x%" PRIx64 ":0x%" PRIx64 ":fd",
                          resource, offset, size);
    err = rsp_error(qtest_qmp(m->d->qts, "{'execute': 'qom-set', "
                              "'arguments': {'path': %s, 'property': 'map',"
                              " 'value': %s}}", m->tester, arg));
    if (err) {
        /* a refused fd stays with the monitor: drop it */
        qobject_unref(qtest_qmp(m->d->qts, "{'execute': 'closefd',"
                                " 'arguments': {'fdname': 'fd'}}"));
    }
    return err;
}

static void map_ok(Map *m, uint32_t resource, uint64_t offset, uint64_t size)
{
    g_autofree char *err = map_fd_at(m, resource, offset, size);

    if (err) {
        g_error("map of resource %u at 0x%" PRIx64 " failed: %s",
                resource, offset, err);
    }
}

static void map_refused(Map *m, uint32_t resource, uint64_t offset,
                        uint64_t size, const char *why)
{
    g_autofree char *err = map_fd_at(m, resource, offset, size);

    g_assert_nonnull(err);
    if (!strstr(err, why)) {
        g_error("expected \"%s\" in: %s", why, err);
    }
}

static char *unmap(Map *m, uint32_t resource)
{
    return rsp_error(qtest_qmp(m->d->qts, "{'execute': 'qom-set', "
                               "'arguments': {'path': %s, 'property': "
                               "'unmap', 'value': %u}}", m->tester, resource));
}

static uint64_t hm_stat(Map *m, const char *name)
{
    QDict *rsp = qtest_qmp(m->d->qts, "{'execute': 'qom-get', 'arguments':"
                           " {'path': %s, 'property': %s}}", GPU_PATH, name);
    uint64_t v = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return v;
}

/* Releases come after an RCU grace period: wait for them. */
static void wait_released(Map *m)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (hm_stat(m, "x-hostmem-pending-releases")) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
}

static void assert_bar_bytes(Map *m, uint64_t off, const void *want,
                             size_t len)
{
    g_autofree uint8_t *got = g_malloc(len);

    qpci_memread(m->d->pdev, m->bar, off, got, len);
    g_assert_cmpmem(got, len, want, len);
}

static void assert_bar_zero(Map *m, uint64_t off, size_t len)
{
    g_autofree uint8_t *zero = g_malloc0(len);

    assert_bar_bytes(m, off, zero, len);
}

static void test_map_memfd(void)
{
    Map *m = map_start(1 * MiB);
    const uint64_t off = 64 * KiB, size = 64 * KiB;
    g_autofree char *err = NULL;
    size_t i;

    for (i = 0; i < size; i++) {
        m->mem[i] = i * 7 + 3;
    }
    map_ok(m, 1, off, size);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 1);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mapped-bytes"), ==, size);

    /* The memfd's bytes through the BAR, and guest writes into it. */
    assert_bar_bytes(m, off, m->mem, size);
    qpci_memwrite(m->d->pdev, m->bar, off + 100, "guest wrote", 11);
    g_assert_cmpmem(m->mem + 100, 11, "guest wrote", 11);
    m->mem[size - 1] = 0x5a;
    assert_bar_bytes(m, off + size - 1, "\x5a", 1);

    /* Around it, nothing: reads are zero, writes are dropped. */
    assert_bar_zero(m, 0, off);
    qpci_memwrite(m->d->pdev, m->bar, 0x10, "dropped", 7);
    assert_bar_zero(m, 0, 64);
    assert_bar_zero(m, off + size, 4 * KiB);

    /* Unmapped: the bytes are gone at once, and stay in the memfd. */
    g_assert_null(unmap(m, 1));
    assert_bar_zero(m, off, size);
    g_assert_cmpmem(m->mem + 100, 11, "guest wrote", 11);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 0);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mapped-bytes"), ==, 0);
    err = unmap(m, 1);
    g_assert_nonnull(err);

    /* The same range again, at once, for another resource. */
    map_ok(m, 2, off, size);
    assert_bar_bytes(m, off, m->mem, size);
    g_assert_null(unmap(m, 2));
    wait_released(m);
    map_stop(m);
}

static void test_map_refused(void)
{
    Map *m = map_start(1 * MiB);

    map_ok(m, 1, 64 * KiB, 64 * KiB);
    map_refused(m, 2, 64 * KiB + 512, 4 * KiB, "multiple of the page size");
    map_refused(m, 2, 0, 0, "multiple of the page size");
    map_refused(m, 2, 0, 4 * KiB + 1, "multiple of the page size");
    map_refused(m, 2, 1 * MiB - 4 * KiB, 8 * KiB, "outside the region");
    map_refused(m, 2, 1 * MiB, 4 * KiB, "outside the region");
    map_refused(m, 2, 0xfffffffffffff000ull, 0x2000, "outside the region");
    map_refused(m, 2, 4 * KiB, UINT64_MAX & ~0xfffull, "outside the region");
    map_refused(m, 2, 32 * KiB, 64 * KiB, "overlaps resource 1");
    map_refused(m, 2, 96 * KiB, 4 * KiB, "overlaps resource 1");
    map_refused(m, 2, 124 * KiB, 8 * KiB, "overlaps resource 1");
    map_refused(m, 1, 512 * KiB, 4 * KiB, "resource 1 is mapped already");
    /* Nothing of that stuck. */
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 1);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mapped-bytes"), ==, 64 * KiB);

    /* Right next to it on both sides is fine. */
    map_ok(m, 2, 60 * KiB, 4 * KiB);
    map_ok(m, 3, 128 * KiB, 4 * KiB);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 3);
    map_stop(m);
}

/* A machine reset, seen to its end. */
static void reset_machine(Map *m)
{
    qobject_unref(qtest_qmp(m->d->qts, "{'execute': 'system_reset'}"));
    qtest_qmp_eventwait(m->d->qts, "RESET");
}

/* Reset cleared the BAR's address: give it one again. */
static void reenable_bar(Map *m)
{
    qpci_device_enable(m->d->pdev);
    m->bar = qpci_iomap(m->d->pdev, 4, NULL);
}

static void test_map_reset(void)
{
    Map *m = map_start(4 * MiB);
    uint32_t i;

    memset(m->mem, 0xab, 4 * KiB);
    for (i = 0; i < 256; i++) {
        map_ok(m, i + 1, i * 8 * KiB, 4 * KiB);
    }
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 256);
    assert_bar_bytes(m, 255 * 8 * KiB, m->mem, 4 * KiB);

    reset_machine(m);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 0);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mapped-bytes"), ==, 0);
    wait_released(m);
    /* Mapped again, the BAR shows nothing. */
    reenable_bar(m);
    assert_bar_zero(m, 255 * 8 * KiB, 4 * KiB);
    /* And the region works as before. */
    map_ok(m, 1, 0, 4 * KiB);
    assert_bar_bytes(m, 0, m->mem, 4 * KiB);
    map_stop(m);
}

/*
 * Benchmark (-m perf): one map+unmap cycle of a 64 KiB memfd, with 1,
 * 100, 1000 and 4096 other mappings live, in a region of subregions and
 * in one with the static heap.  The tester runs the cycles inside QEMU
 * and times them there: the region's own cost, what a guest's MAP_BLOB
 * and UNMAP_BLOB wait for, without QMP.
 */
static double bench_cycles(Map *m, uint64_t off, int n)
{
    g_autofree char *arg = g_strdup_printf("%d:0x%" PRIx64 ":0x10000:fd",
                                           n, off);
    int fd = dup(m->memfd);
    QDict *rsp;
    double ns;

    qobject_unref(qtest_qmp_fds(m->d->qts, &fd, 1, "{'execute': 'getfd',"
                                " 'arguments': {'fdname': 'fd'}}"));
    close(fd);
    qobject_unref(qtest_qmp(m->d->qts, "{'execute': 'qom-set', 'arguments':"
                            " {'path': %s, 'property': 'bench', 'value': %s}}",
                            m->tester, arg));
    rsp = qtest_qmp(m->d->qts, "{'execute': 'qom-get', 'arguments':"
                    " {'path': %s, 'property': 'bench-ns'}}", m->tester);
    ns = qdict_get_int(rsp, "return");
    qobject_unref(rsp);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 0 + m->live);
    wait_released(m);
    return ns / n / 1000;
}

/* max_mappings='s default, where a region without a heap stops */
#define MAPPINGS_DEFAULT 1536

/*
 * The cycle's cost with each count of live mappings in @live, on the
 * path of a region with the static heap (@heap) or without; 0 where
 * the path cannot hold that many.
 */
static void bench_path(bool heap, const int *live, int nlive, int n,
                       double *cost)
{
    Map *m = map_start_heap(32 * MiB, heap);
    int i, run;

    bench_cycles(m, 24 * MiB, n);       /* warm up */
    for (i = 0; i < nlive; i++) {
        if (!heap && live[i] > MAPPINGS_DEFAULT) {
            cost[i] = 0;
            continue;
        }
        for (; m->live < live[i]; m->live++) {
            map_ok(m, m->live + 1, (uint64_t)m->live * 4 * KiB, 4 * KiB);
        }
        /* above all live mappings; the best of five runs, the least noisy */
        cost[i] = bench_cycles(m, 24 * MiB, n);
        for (run = 1; run < 5; run++) {
            cost[i] = MIN(cost[i], bench_cycles(m, 24 * MiB, n));
        }
    }
    map_stop(m);
}

static void test_bench(void)
{
    static const int live[] = { 1, 100, 1000, 4096 };
    const int n = 1000;
    double cost[2][ARRAY_SIZE(live)];
    int i;

    bench_path(false, live, ARRAY_SIZE(live), n, cost[0]);
    bench_path(true, live, ARRAY_SIZE(live), n, cost[1]);
    printf("# hostmem map+unmap cycle of a 64 KiB memfd, timed in QEMU, "
           "best of 5 runs of %d\n", n);
    printf("# live mappings   subregions (us, x 1-live)   static heap "
           "(us, x 1-live)\n");
    for (i = 0; i < ARRAY_SIZE(live); i++) {
        if (cost[0][i]) {
            printf("# %13d   %10.2f  %5.2fx", live[i], cost[0][i],
                   cost[0][i] / cost[0][0]);
        } else {
            printf("# %13d   %18s", live[i], "(past max_mappings)");
        }
        printf("        %10.2f  %5.2fx\n", cost[1][i],
               cost[1][i] / cost[1][0]);
    }
    printf("# heap, 4096 live vs 1 live: %.2fx (goal: at most 1.2x)\n",
           cost[1][ARRAY_SIZE(live) - 1] / cost[1][0]);
    printf("# heap vs subregions: %.2fx the time with 1 live, %.2fx with "
           "1000\n", cost[1][0] / cost[0][0], cost[1][2] / cost[0][2]);
}

/* object-add of a tester, and the error it gets, or NULL. */
static char *tester_add(QTestState *qts, const char *device)
{
    qvirtio_gpu_load_tester(qts);
    return rsp_error(qtest_qmp(qts, "{'execute': 'object-add', 'arguments':"
                               " {'qom-type': 'x-virtio-gpu-region-tester',"
                               " 'id': 'other-tester', 'device': %s}}",
                               device));
}

/* The tester only drives a virtio-gpu device that has a region. */
static void test_tester_refusals(void)
{
    Dev *d = dev_start("virtio-gpu-pci", "");
    g_autofree char *no_region = tester_add(d->qts, GPU_PATH);
    g_autofree char *no_gpu = tester_add(d->qts, "/machine/unattached");
    g_autofree char *no_path = tester_add(d->qts, "/machine/no-such-thing");

    g_assert_nonnull(no_region);
    g_assert_nonnull(strstr(no_region, "has no host-visible region"));
    g_assert_nonnull(no_gpu);
    g_assert_nonnull(strstr(no_gpu, "is not a virtio-gpu device"));
    g_assert_nonnull(no_path);
    g_assert_nonnull(strstr(no_path, "is not a virtio-gpu device"));
    dev_stop(d);
}

/* ---- the static heap (hostmem-memdev=) ---- */

/*
 * A blob with an fd is mmapped over the heap: its bytes through the BAR,
 * no subregion (the heap counts it), and at unmap the heap's own bytes
 * come back, those the guest left there, not zeroes.  Outside mappings
 * the region is the heap: RAM the guest reads and writes.
 */
static void test_heap_map(void)
{
    Map *m = map_start_heap(1 * MiB, true);
    const uint64_t off = 64 * KiB, size = 64 * KiB;
    QDict *rsp;
    size_t i;

    for (i = 0; i < size; i++) {
        m->mem[i] = i * 5 + 1;
    }
    qpci_memwrite(m->d->pdev, m->bar, 0x10, "heap kept", 9);
    assert_bar_bytes(m, 0x10, "heap kept", 9);
    qpci_memwrite(m->d->pdev, m->bar, off + 8, "under the blob", 14);

    map_ok(m, 1, off, size);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 1);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 1);
    assert_bar_bytes(m, off, m->mem, size);
    qpci_memwrite(m->d->pdev, m->bar, off + 100, "guest wrote", 11);
    g_assert_cmpmem(m->mem + 100, 11, "guest wrote", 11);
    assert_bar_bytes(m, 0x10, "heap kept", 9);

    /* Unmapped: the heap at once, and the blob released without delay. */
    g_assert_null(unmap(m, 1));
    assert_bar_bytes(m, off + 8, "under the blob", 14);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 0);
    wait_released(m);
    g_assert_cmpmem(m->mem + 100, 11, "guest wrote", 11);

    /* Refused as without a heap, the heap untouched. */
    map_ok(m, 2, off, size);
    map_refused(m, 3, off + 4 * KiB, 4 * KiB, "overlaps resource 2");
    map_refused(m, 3, 512, 4 * KiB, "multiple of the page size");
    map_refused(m, 3, 1 * MiB - 4 * KiB, 8 * KiB, "outside the region");
    map_refused(m, 2, 0, 4 * KiB, "resource 2 is mapped already");
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 1);
    assert_bar_bytes(m, 0x10, "heap kept", 9);
    g_assert_null(unmap(m, 2));
    assert_bar_bytes(m, off + 8, "under the blob", 14);
    wait_released(m);

    /* The guest's data in the heap would not follow it: no migration. */
    rsp = qtest_qmp(m->d->qts, "{'execute': 'migrate', 'arguments':"
                    " {'uri': 'exec:cat > /dev/null'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "are not migrated"));
    qobject_unref(rsp);
    map_stop(m);
}

/*
 * Over the heap, mappings are no memory sections: max_mappings= (1536
 * by default) does not bound them, and a reset puts the heap back under
 * all of them.
 */
static void test_heap_many(void)
{
    const int n = 4096;
    Map *m = map_start_heap(n * 4 * KiB, true);
    int i;

    qpci_memwrite(m->d->pdev, m->bar, 5 * 4 * KiB, "heap", 4);
    memcpy(m->mem, "blob", 4);
    for (i = 0; i < n; i++) {
        map_ok(m, i + 1, i * 4 * KiB, 4 * KiB);
    }
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, n);
    assert_bar_bytes(m, 5 * 4 * KiB, "blob", 4);
    assert_bar_bytes(m, (n - 1) * 4 * KiB, "blob", 4);

    reset_machine(m);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-mappings"), ==, 0);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 0);
    wait_released(m);
    reenable_bar(m);
    assert_bar_bytes(m, 5 * 4 * KiB, "heap", 4);
    map_stop(m);
}

static void test_heap_refused(void)
{
    check_refused_with("memory-backend-memfd,id=h,size=1M",
                       "virtio-gpu-pci,hostmem-memdev=h",
                       "hostmem-memdev=h needs hostmem=");
    check_refused_with("memory-backend-memfd,id=h,size=2M",
                       "virtio-gpu-pci,hostmem=1M,hostmem-memdev=h",
                       "hostmem=1048576 differs from the size of "
                       "hostmem-memdev=h (2097152)");
    check_refused_with("memory-backend-ram,id=h,size=1M",
                       "virtio-gpu-pci,hostmem=1M,hostmem-memdev=h",
                       "must be a shared memory backend");
    check_refused("virtio-gpu-pci,hostmem=1M,hostmem-memdev=nothing",
                  "nothing");
}

/* ---- slices of the heap: udmabufs of its own pages ---- */

/* object-add of a tester that makes slices; NULL, or the error's text. */
static char *slicer_add(QTestState *qts)
{
    qvirtio_gpu_load_tester(qts);
    return rsp_error(qtest_qmp(qts, "{'execute': 'object-add', 'arguments':"
                               " {'qom-type': 'x-virtio-gpu-region-tester',"
                               " 'id': 'slicer', 'device': %s,"
                               " 'slices': true}}", GPU_PATH));
}

/* qom-set of the slicer's @prop to @value; NULL, or the error's text. */
static char *slicer_set(Map *m, const char *prop, const char *value)
{
    return rsp_error(qtest_qmp(m->d->qts, "{'execute': 'qom-set', "
                               "'arguments': {'path': '/objects/slicer', "
                               "'property': %s, 'value': %s}}", prop, value));
}

static char *slice_at(Map *m, uint32_t resource, uint64_t offset,
                      uint64_t size)
{
    g_autofree char *arg = g_strdup_printf("%u:0x%" PRIx64 ":0x%" PRIx64,
                                           resource, offset, size);

    return slicer_set(m, "slice", arg);
}

/* An error was returned, and it says @why. */
static void assert_error(const char *err, const char *why)
{
    if (!err || !strstr(err, why)) {
        g_error("expected \"%s\" in: %s", why, err ?: "(no error)");
    }
}

static void slice_refused(Map *m, uint32_t resource, uint64_t offset,
                          uint64_t size, const char *why)
{
    g_autofree char *err = slice_at(m, resource, offset, size);

    assert_error(err, why);
}

/* Copy @resource's slice to the test's memfd, or (@read false) back. */
static char *slice_copy(Map *m, uint32_t resource, bool read)
{
    g_autofree char *arg = g_strdup_printf("%u:fd", resource);
    int fd = dup(m->memfd);

    qobject_unref(qtest_qmp_fds(m->d->qts, &fd, 1, "{'execute': 'getfd',"
                                " 'arguments': {'fdname': 'fd'}}"));
    close(fd);
    return slicer_set(m, read ? "slice-read" : "slice-write", arg);
}

/* A heap of @size with a slicer on its device. */
static Map *slices_start(uint64_t size)
{
    Map *m = map_start_heap(size, true);
    g_autofree char *err = slicer_add(m->d->qts);

    g_assert_null(err);
    return m;
}

/*
 * A slice is the heap's own pages: what the guest wrote through the BAR
 * is in the udmabuf, what is written to the udmabuf shows in the BAR,
 * and the pages stay the guest's after the slice goes, unpinned.
 */
static void test_slice_bytes(void)
{
    Map *m = slices_start(1 * MiB);
    const uint64_t off = 64 * KiB, size = 64 * KiB;
    g_autofree uint8_t *pattern = g_malloc(size);
    size_t i;

    for (i = 0; i < size; i++) {
        pattern[i] = i * 3 + 11;
    }
    qpci_memwrite(m->d->pdev, m->bar, off, pattern, size);
    g_assert_null(slice_at(m, 1, off, size));
    g_assert_cmpuint(hm_stat(m, "x-hostmem-slices"), ==, 1);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 1);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 1);

    g_assert_null(slice_copy(m, 1, true));
    g_assert_cmpmem(m->mem, size, pattern, size);
    for (i = 0; i < size; i++) {
        m->mem[i] = i * 7 + 1;
    }
    g_assert_null(slice_copy(m, 1, false));
    assert_bar_bytes(m, off, m->mem, size);
    assert_bar_zero(m, off + size, 4 * KiB);

    /* Unmapped: no udmabuf left, the guest's bytes in the heap. */
    g_assert_null(unmap(m, 1));
    g_assert_cmpuint(hm_stat(m, "x-hostmem-slices"), ==, 0);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 0);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 0);
    assert_bar_bytes(m, off, m->mem, size);
    map_stop(m);
}

/* udmabuf's size_limit_mb on this kernel, in bytes. */
static uint64_t udmabuf_limit(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents("/sys/module/udmabuf/parameters/size_limit_mb",
                             &text, NULL, NULL)) {
        return 64 * MiB;
    }
    return g_ascii_strtoull(text, NULL, 10) * MiB;
}

/*
 * What a guest may ask for wrongly: slices past the heap, misaligned,
 * over a mapping or another slice, larger than udmabuf takes; mappings
 * over a slice.  All refused, nothing made; and a reset with slices and
 * placed blobs live leaves no udmabuf behind.
 */
static void test_slice_refused(void)
{
    uint64_t limit = udmabuf_limit();
    uint64_t heap = pow2ceil(limit + 4 * KiB);
    Map *m = slices_start(heap);
    g_autofree char *err = NULL;

    g_assert_null(slice_at(m, 1, 64 * KiB, 64 * KiB));
    map_ok(m, 2, 256 * KiB, 64 * KiB);
    slice_refused(m, 3, 96 * KiB, 4 * KiB, "overlaps resource 1");
    slice_refused(m, 3, 252 * KiB, 8 * KiB, "overlaps resource 2");
    map_refused(m, 3, 124 * KiB, 8 * KiB, "overlaps resource 1");
    slice_refused(m, 1, 512 * KiB, 4 * KiB, "resource 1 is mapped already");
    slice_refused(m, 3, 512 * KiB + 512, 4 * KiB, "multiple of the page");
    slice_refused(m, 3, 512 * KiB, 0, "multiple of the page");
    slice_refused(m, 3, heap - 4 * KiB, 8 * KiB, "outside the region");
    slice_refused(m, 3, 0xfffffffffffff000ull, 0x2000, "outside the region");
    slice_refused(m, 3, heap - limit - 4 * KiB, limit + 4 * KiB,
                  "larger than udmabuf allows");
    g_assert_cmpuint(hm_stat(m, "x-hostmem-slices"), ==, 1);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 1);

    /* No slice, nothing to copy. */
    err = slice_copy(m, 2, true);
    assert_error(err, "has no slice");

    /* The largest slice udmabuf takes is fine. */
    g_assert_null(slice_at(m, 4, heap - limit, limit));
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 2);

    reset_machine(m);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-slices"), ==, 0);
    g_assert_cmpuint(hm_stat(m, "x-hostmem-heap-mappings"), ==, 0);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 0);
    wait_released(m);
    reenable_bar(m);
    g_assert_null(slice_at(m, 1, 0, 4 * KiB));
    map_stop(m);
}

/* Where slices cannot be made, the tester, as a device would, fails. */
static void test_slices_refused(void)
{
    Dev *d = dev_start("virtio-gpu-pci", ",hostmem=1M");
    g_autofree char *no_heap = slicer_add(d->qts);
    g_autofree char *unsealed = NULL;

    assert_error(no_heap, "need a heap (hostmem-memdev=)");
    dev_stop(d);

    d = dev_start("virtio-gpu-pci", ",hostmem=1M,hostmem-memdev=heap "
                  "-object memory-backend-memfd,id=heap,size=1M,seal=off");
    unsealed = slicer_add(d->qts);
    assert_error(unsealed, "udmabuf needs a memfd sealed against shrinking");
    dev_stop(d);
}

/*
 * This host has no /dev/udmabuf (the udmabuf lane runs the tests that
 * need it, in a kernel that has it): slices, and the 2D device's blobs,
 * are refused with the reason.
 */
static void test_no_udmabuf(void)
{
    Dev *d = dev_start("virtio-gpu-pci", ",hostmem=1M,hostmem-memdev=heap "
                       "-object memory-backend-memfd,id=heap,size=1M");
    g_autofree char *err = slicer_add(d->qts);

    assert_error(err, "slices of the heap need /dev/udmabuf");
    dev_stop(d);
    check_refused("virtio-gpu-pci,blob=on", "udmabuf");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (g_test_perf()) {
        qtest_add_func("/virtio-gpu/region/bench", test_bench);
    }

    qtest_add_func("/virtio-gpu/region/bar/virtio-gpu-pci",
                   test_region_gpu_pci);
    qtest_add_func("/virtio-gpu/region/bar/virtio-vga", test_region_vga);
    qtest_add_func("/virtio-gpu/region/bar/absent", test_no_region);
    qtest_add_func("/virtio-gpu/region/bar/bad-sizes", test_bad_sizes);
    qtest_add_func("/virtio-gpu/region/map/memfd", test_map_memfd);
    qtest_add_func("/virtio-gpu/region/map/refused", test_map_refused);
    qtest_add_func("/virtio-gpu/region/map/reset", test_map_reset);
    qtest_add_func("/virtio-gpu/region/tester/refusals",
                   test_tester_refusals);
    qtest_add_func("/virtio-gpu/region/heap/map", test_heap_map);
    qtest_add_func("/virtio-gpu/region/heap/many", test_heap_many);
    qtest_add_func("/virtio-gpu/region/heap/refused", test_heap_refused);
    qtest_add_func("/virtio-gpu/region/slices/refused", test_slices_refused);
    qtest_add_func("/virtio-gpu/region/venus/refused", test_venus_refused);
    if (QVIRTIO_GPU_CAN_SANDBOX) {
        qtest_add_func("/virtio-gpu/region/venus/render-server-late",
                       test_render_server_late);
    }
    if (QVIRTIO_GPU_HAS_GUEST_VRAM) {
        qtest_add_func("/virtio-gpu/region/guest-vram/refused",
                       test_guest_vram_refused);
    }
    /* The udmabuf lane (make check-udmabuf) checks that these ran. */
    if (access("/dev/udmabuf", R_OK | W_OK) == 0) {
        qtest_add_func("/virtio-gpu/region/udmabuf/slice-bytes",
                       test_slice_bytes);
        qtest_add_func("/virtio-gpu/region/udmabuf/slice-refused",
                       test_slice_refused);
    } else {
        qtest_add_func("/virtio-gpu/region/udmabuf/absent",
                       test_no_udmabuf);
    }
    return g_test_run();
}
