/*
 * libqos driver for the virtio-gpu PCI devices
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ids.h"
#include "qgraph.h"
#include "virtio-gpu.h"

#define VIRTIO_GPU_CMD_TIMEOUT_US (30 * 1000 * 1000)

static void *qvirtio_gpu_pci_get_driver(void *object, const char *interface)
{
    QVirtioGpuPCI *v = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v->pci_vdev.pdev;
    }
    if (!g_strcmp0(interface, "virtio-gpu") ||
        !g_strcmp0(interface, "virtio-gpu-gl") ||
        !g_strcmp0(interface, "virtio-gpu-blob") ||
        !g_strcmp0(interface, "virtio-gpu-blob-noregion") ||
        !g_strcmp0(interface, "virtio-gpu-blob-maplimit") ||
        !g_strcmp0(interface, "virtio-gpu-venus") ||
        !g_strcmp0(interface, "virtio-gpu-venus-inproc") ||
        !g_strcmp0(interface, "virtio-gpu-udmabuf") ||
        !g_strcmp0(interface, "virtio-gpu-guest-vram")) {
        return &v->gpu;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return v->gpu.vdev;
    }
    fprintf(stderr, "%s not present in virtio-gpu-pci\n", interface);
    g_assert_not_reached();
}

static void *virtio_gpu_pci_create(void *pci_bus, QGuestAllocator *alloc,
                                   void *addr)
{
    QVirtioGpuPCI *v = g_new0(QVirtioGpuPCI, 1);
    QOSGraphObject *obj = &v->pci_vdev.obj;

    virtio_pci_init(&v->pci_vdev, pci_bus, addr);
    v->gpu.vdev = &v->pci_vdev.vdev;
    v->gpu.qts = v->pci_vdev.pdev->bus->qts;
    v->gpu.pdev = v->pci_vdev.pdev;
    g_assert_cmpint(v->gpu.vdev->device_type, ==, VIRTIO_ID_GPU);

    obj->get_driver = qvirtio_gpu_pci_get_driver;
    return obj;
}

uint64_t qvirtio_gpu_start(QVirtioGpu *gpu, QGuestAllocator *alloc,
                           uint64_t features)
{
    QVirtioDevice *d = gpu->vdev;

    g_assert_null(gpu->ctrlq);
    gpu->alloc = alloc;

    qvirtio_pci_device_enable(container_of(d, QVirtioPCIDevice, vdev));
    qvirtio_reset(d);
    qvirtio_set_acknowledge(d);
    qvirtio_set_driver(d);

    features |= 1ull << VIRTIO_F_VERSION_1;
    features &= qvirtio_get_features(d);
    qvirtio_set_features(d, features);
    gpu->features = features;

    gpu->ctrlq = qvirtqueue_setup(d, alloc, 0);
    gpu->cursorq = qvirtqueue_setup(d, alloc, 1);
    qvirtio_set_driver_ok(d);
    return features;
}

void qvirtio_gpu_stop(QVirtioGpu *gpu)
{
    if (!gpu->ctrlq) {
        return;
    }
    qvirtqueue_cleanup(gpu->vdev->bus, gpu->ctrlq, gpu->alloc);
    qvirtqueue_cleanup(gpu->vdev->bus, gpu->cursorq, gpu->alloc);
    gpu->ctrlq = gpu->cursorq = NULL;
}

bool qvirtio_gpu_has_feature(QVirtioGpu *gpu, unsigned int bit)
{
    return gpu->features & (1ull << bit);
}

void qvirtio_gpu_cmd_send(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                          size_t resp_len, bool fence, QVirtioGpuReq *r)
{
    struct virtio_gpu_ctrl_hdr *hdr = cmd;

    g_assert(gpu->ctrlq);
    /* shorter requests only for tests of what the device does then */
    g_assert(!fence || cmd_len >= sizeof(*hdr));
    g_assert_cmpuint(resp_len, >=, sizeof(*hdr));

    if (fence) {
        hdr->flags |= VIRTIO_GPU_FLAG_FENCE;
        hdr->fence_id = ++gpu->next_fence;
    }
    r->fence_id = fence ? hdr->fence_id : 0;
    r->resp_len = resp_len;
    r->req = guest_alloc(gpu->alloc, cmd_len);
    r->rsp = guest_alloc(gpu->alloc, resp_len);
    qtest_memwrite(gpu->qts, r->req, cmd, cmd_len);
    qtest_memset(gpu->qts, r->rsp, 0xa5, resp_len);

    r->head = qvirtqueue_add(gpu->qts, gpu->ctrlq, r->req, cmd_len, false,
                             true);
    qvirtqueue_add(gpu->qts, gpu->ctrlq, r->rsp, resp_len, true, false);
    qvirtqueue_kick(gpu->qts, gpu->vdev, gpu->ctrlq, r->head);
}

/*
 * Step the virtual clock once (virgl retires fences from a timer, and
 * qtest only moves that clock on request) and look for the reply.
 */
bool qvirtio_gpu_cmd_poll(QVirtioGpu *gpu, QVirtioGpuReq *r, void *resp)
{
    struct virtio_gpu_ctrl_hdr *rhdr = resp;
    uint32_t got;

    qtest_clock_step(gpu->qts, 1000 * 1000);
    if (!gpu->vdev->bus->get_queue_isr_status(gpu->vdev, gpu->ctrlq) ||
        !qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, NULL)) {
        return false;
    }
    g_assert_cmpint(got, ==, r->head);
    qtest_memread(gpu->qts, r->rsp, resp, r->resp_len);
    guest_free(gpu->alloc, r->req);
    guest_free(gpu->alloc, r->rsp);

    if (r->fence_id) {
        g_assert_cmphex(rhdr->flags & VIRTIO_GPU_FLAG_FENCE, ==,
                        VIRTIO_GPU_FLAG_FENCE);
        g_assert_cmpuint(rhdr->fence_id, ==, r->fence_id);
    }
    return true;
}

uint32_t qvirtio_gpu_cmd(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                         void *resp, size_t resp_len, bool fence)
{
    gint64 start = g_get_monotonic_time();
    QVirtioGpuReq r;

    qvirtio_gpu_cmd_send(gpu, cmd, cmd_len, resp_len, fence, &r);
    while (!qvirtio_gpu_cmd_poll(gpu, &r, resp)) {
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        VIRTIO_GPU_CMD_TIMEOUT_US);
    }
    return ((struct virtio_gpu_ctrl_hdr *)resp)->type;
}

uint32_t qvirtio_gpu_cmd_nodata(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                                bool fence)
{
    struct virtio_gpu_ctrl_hdr resp;

    return qvirtio_gpu_cmd(gpu, cmd, cmd_len, &resp, sizeof(resp), fence);
}

uint64_t qvirtio_gpu_alloc_backing(QVirtioGpu *gpu, size_t size)
{
    return guest_alloc(gpu->alloc, size);
}

void qvirtio_gpu_free_backing(QVirtioGpu *gpu, uint64_t addr)
{
    guest_free(gpu->alloc, addr);
}

uint32_t qvirtio_gpu_attach_backing(QVirtioGpu *gpu, uint32_t resource_id,
                                    uint64_t addr, size_t size, unsigned nr)
{
    size_t len = sizeof(struct virtio_gpu_resource_attach_backing) +
                 nr * sizeof(struct virtio_gpu_mem_entry);
    g_autofree uint8_t *buf = g_malloc0(len);
    struct virtio_gpu_resource_attach_backing *ab = (void *)buf;
    struct virtio_gpu_mem_entry *ents = (void *)(ab + 1);
    size_t chunk = DIV_ROUND_UP(size, nr);
    unsigned i;

    ab->hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING;
    ab->resource_id = resource_id;
    ab->nr_entries = nr;
    for (i = 0; i < nr; i++) {
        size_t off = i * chunk;

        ents[i].addr = addr + off;
        ents[i].length = MIN(chunk, size - off);
    }
    return qvirtio_gpu_cmd_nodata(gpu, buf, len, false);
}

void qvirtio_gpu_hdr_init(struct virtio_gpu_ctrl_hdr *hdr, uint32_t type,
                          uint32_t ctx_id)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->type = type;
    hdr->ctx_id = ctx_id;
}

uint32_t qvirtio_gpu_resource_cmd(QVirtioGpu *gpu, uint32_t type,
                                  uint32_t resource_id)
{
    struct virtio_gpu_resource_unref c = { .resource_id = resource_id };

    qvirtio_gpu_hdr_init(&c.hdr, type, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &c, sizeof(c), false);
}

uint32_t qvirtio_gpu_ctx_create(QVirtioGpu *gpu, uint32_t ctx_id,
                                uint32_t context_init)
{
    struct virtio_gpu_ctx_create cc = {
        .nlen = 4, .context_init = context_init,
    };

    qvirtio_gpu_hdr_init(&cc.hdr, VIRTIO_GPU_CMD_CTX_CREATE, ctx_id);
    memcpy(cc.debug_name, "test", 4);
    return qvirtio_gpu_cmd_nodata(gpu, &cc, sizeof(cc), false);
}

uint32_t qvirtio_gpu_ctx_destroy(QVirtioGpu *gpu, uint32_t ctx_id)
{
    struct virtio_gpu_ctx_destroy cd;

    qvirtio_gpu_hdr_init(&cd.hdr, VIRTIO_GPU_CMD_CTX_DESTROY, ctx_id);
    return qvirtio_gpu_cmd_nodata(gpu, &cd, sizeof(cd), false);
}

uint32_t qvirtio_gpu_ctx_resource(QVirtioGpu *gpu, uint32_t type,
                                  uint32_t ctx_id, uint32_t resource_id)
{
    struct virtio_gpu_ctx_resource c = { .resource_id = resource_id };

    qvirtio_gpu_hdr_init(&c.hdr, type, ctx_id);
    return qvirtio_gpu_cmd_nodata(gpu, &c, sizeof(c), false);
}

uint32_t qvirtio_gpu_submit_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                               const uint32_t *dw, size_t ndw, bool fence)
{
    size_t len = sizeof(struct virtio_gpu_cmd_submit) + ndw * 4;
    g_autofree uint8_t *buf = g_malloc0(len);
    struct virtio_gpu_cmd_submit *cs = (void *)buf;

    qvirtio_gpu_hdr_init(&cs->hdr, VIRTIO_GPU_CMD_SUBMIT_3D, ctx_id);
    cs->size = ndw * 4;
    memcpy(cs + 1, dw, ndw * 4);
    return qvirtio_gpu_cmd_nodata(gpu, buf, len, fence);
}

uint32_t qvirtio_gpu_create_blob(QVirtioGpu *gpu, uint32_t id, uint32_t ctx,
                                 uint32_t mem, uint32_t flags,
                                 uint64_t blob_id, uint64_t size,
                                 uint64_t guest_addr, uint32_t nr_entries,
                                 uint64_t covered)
{
    struct {
        struct virtio_gpu_resource_create_blob c;
        struct virtio_gpu_mem_entry ents[4];
    } cb = { 0 };
    uint32_t i, n = MIN(nr_entries, 4);

    qvirtio_gpu_hdr_init(&cb.c.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
                         ctx);
    cb.c.resource_id = id;
    cb.c.blob_mem = mem;
    cb.c.blob_flags = flags;
    cb.c.blob_id = blob_id;
    cb.c.size = size;
    cb.c.nr_entries = nr_entries;
    for (i = 0; i < n; i++) {
        cb.ents[i].addr = guest_addr + i * (covered / n);
        cb.ents[i].length = covered / n;
    }
    return qvirtio_gpu_cmd_nodata(gpu, &cb, sizeof(cb.c) +
                                  n * sizeof(cb.ents[0]), false);
}

uint32_t qvirtio_gpu_map_blob(QVirtioGpu *gpu, uint32_t id, uint64_t offset,
                              uint32_t *map_info)
{
    struct virtio_gpu_resource_map_blob m = {
        .resource_id = id, .offset = offset,
    };
    struct virtio_gpu_resp_map_info resp;
    uint32_t type;

    qvirtio_gpu_hdr_init(&m.hdr, VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB, 0);
    type = qvirtio_gpu_cmd(gpu, &m, sizeof(m), &resp, sizeof(resp), false);
    if (map_info) {
        *map_info = resp.map_info;
    }
    return type;
}

/* The parts of virglrenderer's protocol a buffer object needs. */
#define VIRGL_CCMD_PIPE_RESOURCE_CREATE 48
#define VIRGL_FORMAT_R8_UNORM           64
#define PIPE_BUFFER                     0
#define VIRGL_BIND_VERTEX_BUFFER        (1 << 4)
#define VIRGL_RESOURCE_FLAG_MAP_PERSISTENT (1 << 1)
#define VIRGL_RESOURCE_FLAG_MAP_COHERENT   (1 << 2)

void qvirtio_gpu_virgl_buffer_object(QVirtioGpu *gpu, uint32_t ctx,
                                     uint32_t blob_id, uint32_t size,
                                     bool mappable)
{
    const uint32_t stream[] = {
        VIRGL_CCMD_PIPE_RESOURCE_CREATE | (11 << 16),
        PIPE_BUFFER, VIRGL_FORMAT_R8_UNORM, VIRGL_BIND_VERTEX_BUFFER,
        size, 1, 1, 1, 0, 0,
        mappable ? VIRGL_RESOURCE_FLAG_MAP_PERSISTENT |
                   VIRGL_RESOURCE_FLAG_MAP_COHERENT : 0,
        blob_id,
    };

    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, ctx, stream,
                                          ARRAY_SIZE(stream), false),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
}

/* libqtest names its socket after the test's pid; find QEMU by it. */
static pid_t qemu_pid(void)
{
    g_autofree char *needle = g_strdup_printf("/qtest-%d.sock", getpid());
    const char *name;
    GDir *dir = g_dir_open("/proc", 0, NULL);
    pid_t pid = 0;

    g_assert_nonnull(dir);
    while (!pid && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", name);
        g_autofree char *cmdline = NULL;
        gsize len, i;

        if (!g_ascii_isdigit(name[0]) ||
            !g_file_get_contents(path, &cmdline, &len, NULL)) {
            continue;
        }
        for (i = 0; i + 1 < len; i++) {
            if (!cmdline[i]) {
                cmdline[i] = ' ';
            }
        }
        if (strstr(cmdline, needle) && strstr(cmdline, "-accel qtest")) {
            pid = atoi(name);
        }
    }
    g_dir_close(dir);
    g_assert_cmpint(pid, >, 0);
    return pid;
}

uint64_t qvirtio_gpu_qemu_cpu_ns(QVirtioGpu *gpu)
{
    g_autofree char *tasks = g_strdup_printf("/proc/%d/task", qemu_pid());
    GDir *dir = g_dir_open(tasks, 0, NULL);
    const char *name;
    uint64_t total = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("%s/%s/schedstat", tasks,
                                                name);
        g_autofree char *stat = NULL;

        if (g_file_get_contents(path, &stat, NULL, NULL)) {
            total += g_ascii_strtoull(stat, NULL, 10);
        }
    }
    g_dir_close(dir);
    return total;
}

/*
 * @pid's file descriptors: all of them, or (@dmabufs) the dma-bufs, by
 * their link's name since Linux 5.3 and before; -1 if @pid is gone.
 */
static int process_fds(pid_t pid, bool dmabufs)
{
    g_autofree char *fds = g_strdup_printf("/proc/%d/fd", pid);
    GDir *dir = g_dir_open(fds, 0, NULL);
    const char *name;
    int n = 0;

    if (!dir) {
        return -1;
    }
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("%s/%s", fds, name);
        g_autofree char *target = g_file_read_link(path, NULL);

        n += !dmabufs || (target && (g_str_has_prefix(target, "/dmabuf:") ||
                                     g_str_has_prefix(target,
                                                      "anon_inode:dmabuf")));
    }
    g_dir_close(dir);
    return n;
}

static int qemu_fds(bool dmabufs)
{
    int n = process_fds(qemu_pid(), dmabufs);

    g_assert_cmpint(n, >=, 0);
    return n;
}

int qvirtio_gpu_qemu_fd_count(QVirtioGpu *gpu)
{
    return qemu_fds(false);
}

int qvirtio_gpu_qemu_dmabufs(void)
{
    return qemu_fds(true);
}

/*
 * @pid's descendants, from each thread's children; the dma-bufs they
 * hold are added to *@dmabufs.
 */
static int descendants(pid_t pid, int *dmabufs)
{
    g_autofree char *tasks = g_strdup_printf("/proc/%d/task", pid);
    GDir *dir = g_dir_open(tasks, 0, NULL);
    const char *name;
    int n = 0;

    if (!dir) {
        return 0;
    }
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("%s/%s/children", tasks,
                                                name);
        g_autofree char *children = NULL;
        g_auto(GStrv) pids = NULL;
        int i;

        if (!g_file_get_contents(path, &children, NULL, NULL)) {
            continue;
        }
        pids = g_strsplit(g_strstrip(children), " ", -1);
        for (i = 0; pids[i]; i++) {
            if (*pids[i]) {
                *dmabufs += MAX(process_fds(atoi(pids[i]), true), 0);
                n += 1 + descendants(atoi(pids[i]), dmabufs);
            }
        }
    }
    g_dir_close(dir);
    return n;
}

int qvirtio_gpu_child_dmabufs(void)
{
    int dmabufs = 0;

    descendants(qemu_pid(), &dmabufs);
    return dmabufs;
}

int qvirtio_gpu_children(void)
{
    int dmabufs = 0;

    return descendants(qemu_pid(), &dmabufs);
}

uint8_t *qvirtio_gpu_screendump(QVirtioGpu *gpu, int *width, int *height)
{
    g_autofree char *path = NULL;
    g_autofree char *contents = NULL;
    int fd, maxval, n = 0;
    uint8_t *pix;
    gsize len;
    QDict *rsp;

    fd = g_file_open_tmp("virtio-gpu-test-XXXXXX.ppm", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    rsp = qtest_qmp(gpu->qts, "{'execute': 'screendump',"
                    " 'arguments': {'filename': %s}}", path);
    if (!qdict_haskey(rsp, "return")) {
        g_error("screendump: %s", qdict_get_str(qdict_get_qdict(rsp, "error"),
                                                "desc"));
    }
    qobject_unref(rsp);

    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    unlink(path);
    g_assert_cmpint(sscanf(contents, "P6 %d %d %d%n", width, height,
                           &maxval, &n), ==, 3);
    g_assert_cmpint(maxval, ==, 255);
    n++;                /* the single white space after maxval */
    g_assert_cmpuint(len, ==, n + *width * *height * 3);
    pix = g_malloc(*width * *height * 3);
    memcpy(pix, contents + n, *width * *height * 3);
    return pix;
}

/* virgl on whatever EGL offers, llvmpipe included */
#define GL_CMD_LINE "-vga none -display egl-headless"
/* the region backed by a static heap of 64 MiB */
#define HEAP_CMD_LINE GL_CMD_LINE \
    " -object memory-backend-memfd,id=heap,size=64M"
/* libvirt's sandbox, and the render server started before it */
#define SANDBOX_CMD_LINE GL_CMD_LINE " -sandbox " QVIRTIO_GPU_LIBVIRT_SANDBOX
#define SANDBOX_SERVER_CMD_LINE SANDBOX_CMD_LINE \
    " -object virgl-render-server,id=rs"

/*
 * virtio-gpu-gl-pci with @device_opts and @cmd_line, as qos node @node
 * for @interface
 */
static void register_gl_node(const char *node, const char *device_opts,
                             const char *cmd_line, const char *interface)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(4, 0) };
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = device_opts,
        .after_cmd_line = cmd_line,
    };

    add_qpci_address(&opts, &addr);
    qos_node_create_driver_named(node, "virtio-gpu-gl-pci",
                                 virtio_gpu_pci_create);
    qos_node_consumes(node, "pci-bus", &opts);
    qos_node_produces(node, interface);
}

static void register_gl_variant(const char *node, const char *device_opts,
                                const char *interface)
{
    register_gl_node(node, device_opts, GL_CMD_LINE, interface);
}

static void virtio_gpu_register_nodes(void)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(4, 0) };
    /* The device under test is the only display, console 0. */
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "addr=04.0",
        .after_cmd_line = "-vga none",
    };

    add_qpci_address(&opts, &addr);
    qos_node_create_driver("virtio-gpu-pci", virtio_gpu_pci_create);
    qos_node_consumes("virtio-gpu-pci", "pci-bus", &opts);
    qos_node_produces("virtio-gpu-pci", "pci-device");
    qos_node_produces("virtio-gpu-pci", "virtio");
    qos_node_produces("virtio-gpu-pci", "virtio-gpu");

    register_gl_variant("virtio-gpu-gl-pci", "addr=04.0", "virtio-gpu-gl");
    qos_node_produces("virtio-gpu-gl-pci", "pci-device");
    qos_node_produces("virtio-gpu-gl-pci", "virtio");
    qos_node_produces("virtio-gpu-gl-pci", "virtio-gpu");

    /* with blobs, with and without a host-visible region */
    register_gl_variant("virtio-gpu-gl-pci-blob",
                        "addr=04.0,blob=on,hostmem=64M", "virtio-gpu-blob");
    register_gl_variant("virtio-gpu-gl-pci-blob-maplimit",
                        "addr=04.0,blob=on,hostmem=64M,max_mappings=16",
                        "virtio-gpu-blob-maplimit");
    register_gl_variant("virtio-gpu-gl-pci-blob-noregion",
                        "addr=04.0,blob=on", "virtio-gpu-blob-noregion");
    /* venus (Vulkan) through virglrenderer's render server */
    register_gl_variant("virtio-gpu-gl-pci-venus",
                        "addr=04.0,blob=on,hostmem=64M,"
                        QVIRTIO_GPU_VENUS_SERVER, "virtio-gpu-venus");
    /*
     * the same under libvirt's sandbox, which forbids virglrenderer to
     * start the server itself
     */
    if (QVIRTIO_GPU_CAN_SANDBOX) {
        register_gl_node("virtio-gpu-gl-pci-venus-sandbox",
                         "addr=04.0,blob=on,hostmem=64M,render-server=rs,"
                         QVIRTIO_GPU_VENUS_SERVER, SANDBOX_SERVER_CMD_LINE,
                         "virtio-gpu-venus");
    }
    /*
     * The same two over a static heap: every blob test and the hostile
     * corpus again, GL blobs as subregions over the heap and venus shm
     * blobs placed on it with MAP_FIXED.
     */
    register_gl_node("virtio-gpu-gl-pci-blob-heap",
                     "addr=04.0,blob=on,hostmem=64M,hostmem-memdev=heap",
                     HEAP_CMD_LINE, "virtio-gpu-blob");
    register_gl_node("virtio-gpu-gl-pci-venus-heap",
                     "addr=04.0,blob=on,hostmem=64M,hostmem-memdev=heap,"
                     QVIRTIO_GPU_VENUS_SERVER, HEAP_CMD_LINE,
                     "virtio-gpu-venus");
    /*
     * The 2D device's blobs: guest RAM from a memfd, its pages joined by
     * udmabuf.  Only where /dev/udmabuf is (the udmabuf lane); elsewhere
     * the device refuses blob=on, as virtio-gpu-region-test checks.
     */
    if (access("/dev/udmabuf", R_OK | W_OK) == 0) {
        QOSGraphEdgeOptions u = {
            .extra_device_opts = "addr=04.0,blob=on",
            .before_cmd_line = "-object memory-backend-memfd,id=ram,"
                               "size=128M -machine memory-backend=ram",
            .after_cmd_line = "-vga none",
        };

        add_qpci_address(&u, &addr);
        qos_node_create_driver_named("virtio-gpu-pci-udmabuf",
                                     "virtio-gpu-pci", virtio_gpu_pci_create);
        qos_node_consumes("virtio-gpu-pci-udmabuf", "pci-bus", &u);
        qos_node_produces("virtio-gpu-pci-udmabuf", "virtio-gpu-udmabuf");
    }
    /*
     * venus allocating its host-visible memory in the heap, which the
     * renderer imports as udmabufs: Debian 13, in the udmabuf lane
     */
    if (QVIRTIO_GPU_HAS_GUEST_VRAM &&
        access("/dev/udmabuf", R_OK | W_OK) == 0) {
        register_gl_node("virtio-gpu-gl-pci-guest-vram",
                         "addr=04.0,venus=on,blob=on,hostmem=64M,"
                         "hostmem-memdev=heap,guest_vram=on", HEAP_CMD_LINE,
                         "virtio-gpu-guest-vram");
    }
    /*
     * venus in QEMU's process: Vulkan memory the guest can map.  Where
     * the server cannot share it, venus=on alone gives this, and needs
     * no fork under the sandbox.
     */
    if (QVIRTIO_GPU_HAS_VENUS_IN_PROCESS) {
        register_gl_variant("virtio-gpu-gl-pci-venus-inproc",
                            "addr=04.0,venus=on,venus_in_process=on,"
                            "blob=on,hostmem=64M", "virtio-gpu-venus-inproc");
        if (QVIRTIO_GPU_CAN_SANDBOX) {
            register_gl_node("virtio-gpu-gl-pci-venus-default-sandbox",
                             "addr=04.0,venus=on,blob=on,hostmem=64M",
                             SANDBOX_CMD_LINE, "virtio-gpu-venus-inproc");
        }
    }
}

#define HOSTMEM_TESTER_ID "region-tester"

void qvirtio_gpu_load_tester(QTestState *qts)
{
    /* Listing the types loads their modules, the tester's among them. */
    qobject_unref(qtest_qmp(qts, "{'execute': 'qom-list-types', 'arguments':"
                            " {'implements': 'user-creatable'}}"));
}

const char *qvirtio_gpu_region_tester(QTestState *qts, const char *dev_path)
{
    static const char path[] = "/objects/" HOSTMEM_TESTER_ID;
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                           " {'path': %s, 'property': 'device'}}", path);

    if (qdict_haskey(rsp, "error")) {
        qobject_unref(rsp);
        qvirtio_gpu_load_tester(qts);
        rsp = qtest_qmp(qts, "{'execute': 'object-add', 'arguments':"
                        " {'qom-type': 'x-virtio-gpu-region-tester',"
                        " 'id': %s, 'device': %s}}", HOSTMEM_TESTER_ID,
                        dev_path);
        g_assert_true(qdict_haskey(rsp, "return"));
    }
    qobject_unref(rsp);
    return path;
}

void qvirtio_gpu_hold_grace_periods(QTestState *qts, const char *dev_path,
                                    bool hold)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments':"
                           " {'path': %s, 'property': 'hold-grace-periods',"
                           " 'value': %i}}",
                           qvirtio_gpu_region_tester(qts, dev_path), hold);

    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

libqos_init(virtio_gpu_register_nodes);
