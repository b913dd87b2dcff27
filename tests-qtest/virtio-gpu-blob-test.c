/*
 * qtests for blob resources on virtio-gpu-gl-pci (virgl): creation of
 * all three kinds, mapping into the host-visible region, and what the
 * guest sees through the BAR, checked against what the renderer sees.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "qemu/cutils.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-gpu.h"
#include "hw/pci/pci_regs.h"
#include "standard-headers/linux/virtio_pci.h"

/* The parts of virglrenderer's command protocol the tests speak. */
#define VIRGL_CMD0(cmd, obj, len)   ((cmd) | ((obj) << 8) | ((len) << 16))
#define VIRGL_CCMD_RESOURCE_COPY_REGION 17
#define VIRGL_FORMAT_R8_UNORM           64
#define PIPE_BUFFER                     0
#define VIRGL_BIND_VERTEX_BUFFER        (1 << 4)

#define BLOB_FEATURES ((1ull << VIRTIO_GPU_F_VIRGL) | \
                       (1ull << VIRTIO_GPU_F_RESOURCE_BLOB))
/* virtio 1.4's VIRTIO_GPU_F_BLOB_ALIGNMENT, newer than the headers */
#define F_ALIGN (1ull << 5)
#define CTX 1
#define GPU_PATH "/machine/peripheral-anon/device[0]/virtio-backend"

typedef struct Blob {
    QVirtioGpu *gpu;
    QPCIBar bar;
    uint64_t bar_size;
} Blob;

/* The host-visible region's BAR, from its capability; -1 if none. */
static int region_bar(QPCIDevice *pdev)
{
    uint8_t pos = 0;

    while ((pos = qpci_find_capability(pdev, PCI_CAP_ID_VNDR, pos))) {
        if (qpci_config_readb(pdev, pos + 3) ==
            VIRTIO_PCI_CAP_SHARED_MEMORY_CFG &&
            qpci_config_readb(pdev, pos + 5) ==
            VIRTIO_GPU_SHM_ID_HOST_VISIBLE) {
            return qpci_config_readb(pdev, pos + 4);
        }
    }
    return -1;
}

/* The device started with @features, all of which it must offer. */
static Blob start_with(void *obj, QGuestAllocator *alloc, uint64_t features)
{
    Blob b = { .gpu = obj };
    int bar;

    g_assert_cmphex(qvirtio_gpu_start(b.gpu, alloc, features) & features,
                    ==, features);
    bar = b.gpu->pdev ? region_bar(b.gpu->pdev) : -1;
    if (bar >= 0) {
        b.bar = qpci_iomap(b.gpu->pdev, bar, &b.bar_size);
    }
    g_assert_cmphex(qvirtio_gpu_ctx_create(b.gpu, CTX, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    return b;
}

static Blob start(void *obj, QGuestAllocator *alloc)
{
    return start_with(obj, alloc, BLOB_FEATURES);
}

static void stop(Blob *b)
{
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(b->gpu, CTX), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(b->gpu);
}

static uint32_t create_blob_covering(QVirtioGpu *gpu, uint32_t id,
                                     uint32_t ctx, uint32_t mem,
                                     uint32_t flags, uint64_t blob_id,
                                     uint64_t size, uint64_t guest_addr,
                                     uint32_t nr_entries, uint64_t covered)
{
    return qvirtio_gpu_create_blob(gpu, id, ctx, mem, flags, blob_id, size,
                                   guest_addr, nr_entries, covered);
}

static uint32_t create_blob(QVirtioGpu *gpu, uint32_t id, uint32_t ctx,
                            uint32_t mem, uint32_t flags, uint64_t blob_id,
                            uint64_t size, uint64_t guest_addr,
                            uint32_t nr_entries)
{
    return qvirtio_gpu_create_blob(gpu, id, ctx, mem, flags, blob_id, size,
                                   guest_addr, nr_entries, size);
}

static void make_host_object(QVirtioGpu *gpu, uint32_t blob_id,
                             uint32_t size, bool mappable)
{
    qvirtio_gpu_virgl_buffer_object(gpu, CTX, blob_id, size, mappable);
}

/* A mappable HOST3D blob, the way Mesa makes coherent buffers. */
static void host3d_blob(QVirtioGpu *gpu, uint32_t id, uint32_t size)
{
    make_host_object(gpu, id, size, true);
    g_assert_cmphex(create_blob(gpu, id, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE, id, size,
                                0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
}

static uint32_t map_blob(QVirtioGpu *gpu, uint32_t id, uint64_t offset,
                         uint32_t *map_info)
{
    return qvirtio_gpu_map_blob(gpu, id, offset, map_info);
}

static uint32_t unmap_blob(QVirtioGpu *gpu, uint32_t id)
{
    return qvirtio_gpu_resource_cmd(gpu, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB,
                                    id);
}

static uint32_t unref(QVirtioGpu *gpu, uint32_t id)
{
    return qvirtio_gpu_resource_cmd(gpu, VIRTIO_GPU_CMD_RESOURCE_UNREF, id);
}

static uint64_t region_stat(QVirtioGpu *gpu, const char *name)
{
    QDict *rsp = qtest_qmp(gpu->qts, "{'execute': 'qom-get', 'arguments':"
                           " {'path': %s, 'property': %s}}", GPU_PATH, name);
    uint64_t v;

    g_assert_true(qdict_haskey(rsp, "return"));
    v = qdict_get_int(rsp, "return");
    qobject_unref(rsp);
    return v;
}

/* A buffer resource with guest backing, to see what the renderer sees. */
static uint64_t guest_buffer(QVirtioGpu *gpu, uint32_t id, uint32_t size)
{
    struct virtio_gpu_resource_create_3d c3d = {
        .resource_id = id, .target = PIPE_BUFFER,
        .format = VIRGL_FORMAT_R8_UNORM, .bind = VIRGL_BIND_VERTEX_BUFFER,
        .width = size, .height = 1, .depth = 1, .array_size = 1,
    };
    uint64_t backing = qvirtio_gpu_alloc_backing(gpu, size);

    qvirtio_gpu_hdr_init(&c3d.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, CTX);
    g_assert_cmphex(qvirtio_gpu_cmd_nodata(gpu, &c3d, sizeof(c3d), false),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_attach_backing(gpu, id, backing, size, 2),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                        VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, CTX, id),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    return backing;
}

static uint32_t transfer_3d(QVirtioGpu *gpu, uint32_t type, uint32_t id,
                            uint32_t size)
{
    struct virtio_gpu_transfer_host_3d t = {
        .box = { .w = size, .h = 1, .d = 1 }, .resource_id = id,
    };

    qvirtio_gpu_hdr_init(&t.hdr, type, CTX);
    return qvirtio_gpu_cmd_nodata(gpu, &t, sizeof(t), true);
}

/* The renderer copies buffer @src to buffer @dst, on its own side. */
static void gpu_copy(QVirtioGpu *gpu, uint32_t dst, uint32_t src,
                     uint32_t size)
{
    const uint32_t stream[] = {
        VIRGL_CMD0(VIRGL_CCMD_RESOURCE_COPY_REGION, 0, 13),
        dst, 0, 0, 0, 0, src, 0, 0, 0, 0, size, 1, 1,
    };

    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, CTX, stream,
                                          ARRAY_SIZE(stream), true),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = seed + i * 13 + (i >> 8);
    }
}

static void test_create_bad(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, 16 * KiB);
    const uint32_t MAPPABLE = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE;

    make_host_object(gpu, 50, 4096, true);

    /* Bad ids */
    g_assert_cmphex(create_blob(gpu, 0, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* Unknown blob_mem and flag bits */
    g_assert_cmphex(create_blob(gpu, 60, CTX, 7, 0, 0, 4096, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 8,
                                0, 4096, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* HOST3D with entries; GUEST with a blob_id; no size */
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 4096, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 0,
                                5, 4096, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 0,
                                0, 0, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Too many entries; entries covering less than the size */
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 0,
                                0, 4096, guest, 16385),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob_covering(gpu, 60, CTX,
                                         VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0,
                                         16 * KiB, guest, 2, 8 * KiB),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 0,
                                0, 4096, guest, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Host memory in a context that does not exist, or in none */
    g_assert_cmphex(create_blob(gpu, 60, 99, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    g_assert_cmphex(create_blob(gpu, 60, 0, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    /* More host memory than max_hostmem (256 MiB) */
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 512 * MiB, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    /* The renderer refuses a blob_id it does not have */
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 4242, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_UNSPEC);

    /* None of that stuck: the id and the object are still free. */
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                MAPPABLE, 50, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(create_blob(gpu, 60, CTX, VIRTIO_GPU_BLOB_MEM_GUEST, 0,
                                0, 4096, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(unref(gpu, 60), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(&b);
}

static void test_map_bad(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, 4096);

    host3d_blob(gpu, 1, 8192);
    host3d_blob(gpu, 2, 4096);
    make_host_object(gpu, 3, 4096, true);
    g_assert_cmphex(create_blob(gpu, 3, CTX, VIRTIO_GPU_BLOB_MEM_HOST3D, 0,
                                3, 4096, 0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(create_blob(gpu, 4, CTX, VIRTIO_GPU_BLOB_MEM_GUEST,
                                VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE, 0, 4096,
                                guest, 1),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(map_blob(gpu, 77, 0, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* Not mappable: no MAPPABLE flag, or guest memory */
    g_assert_cmphex(map_blob(gpu, 3, 0, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 4, 0, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Offsets the region refuses */
    g_assert_cmphex(map_blob(gpu, 1, 100, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 1, 64 * MiB - 4096, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 1, UINT64_MAX & ~0xfffull, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Mapped twice, and overlapping */
    g_assert_cmphex(map_blob(gpu, 1, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(map_blob(gpu, 1, 64 * KiB, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 2, 4096, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 2, 8192, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    /* UNMAP of an unknown resource; of an unmapped one, as Linux does */
    g_assert_cmphex(unmap_blob(gpu, 77), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(unmap_blob(gpu, 3), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 2);

    /* UNREF of mapped blobs unmaps them; the rest goes normally. */
    g_assert_cmphex(unref(gpu, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 2), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 3), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 4), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mapped-bytes"), ==, 0);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(&b);
}

/*
 * Bytes written through the BAR are what the renderer copies, and
 * bytes the renderer writes show through the BAR.
 */
static void test_coherence(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t size = 16 * KiB, blob = 1, buf = 2;
    const uint64_t off = 1 * MiB;
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    g_autofree uint8_t *pattern = g_malloc(size);
    g_autofree uint8_t *got = g_malloc(size);
    uint64_t backing;
    uint32_t map_info;

    host3d_blob(gpu, blob, size);
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                        VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, CTX, blob),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(map_blob(gpu, blob, off, &map_info), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(map_info, ==, VIRTIO_GPU_MAP_CACHE_CACHED);
    backing = guest_buffer(gpu, buf, size);

    /* guest -> BAR -> renderer */
    fill(pattern, size, 1);
    qpci_memwrite(gpu->pdev, b.bar, off, pattern, size);
    gpu_copy(gpu, buf, blob, size);
    g_assert_cmphex(transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D,
                                buf, size), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qtest_memread(gpu->qts, backing, got, size);
    g_assert_cmpmem(got, size, pattern, size);

    /* renderer -> BAR -> guest */
    fill(pattern, size, 77);
    qtest_memwrite(gpu->qts, backing, pattern, size);
    g_assert_cmphex(transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D,
                                buf, size), ==, VIRTIO_GPU_RESP_OK_NODATA);
    gpu_copy(gpu, blob, buf, size);
    qpci_memread(gpu->pdev, b.bar, off, got, size);
    g_assert_cmpmem(got, size, pattern, size);

    /* Unmapped, the range shows nothing. */
    g_assert_cmphex(unmap_blob(gpu, blob), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qpci_memread(gpu->pdev, b.bar, off, got, 64);
    g_assert_true(buffer_is_zero(got, 64));

    g_assert_cmphex(unref(gpu, buf), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, blob), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, backing);
    stop(&b);
}

/*
 * What Linux does: map right after create, then unmap and unref, and
 * the next blob gets the same id and the same offset at once.
 */
static void test_linux_pattern(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t size = 64 * KiB;
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    g_autofree uint8_t *pattern = g_malloc(size);
    g_autofree uint8_t *got = g_malloc(size);
    int i;

    for (i = 0; i < 32; i++) {
        host3d_blob(gpu, 5, size);
        g_assert_cmphex(map_blob(gpu, 5, 0, NULL), ==,
                        VIRTIO_GPU_RESP_OK_MAP_INFO);
        fill(pattern, size, i);
        qpci_memwrite(gpu->pdev, b.bar, 0, pattern, size);
        qpci_memread(gpu->pdev, b.bar, 0, got, size);
        g_assert_cmpmem(got, size, pattern, size);
        if (i % 2) {
            /* Linux unmaps first; an UNREF alone must do too. */
            g_assert_cmphex(unmap_blob(gpu, 5), ==,
                            VIRTIO_GPU_RESP_OK_NODATA);
        }
        g_assert_cmphex(unref(gpu, 5), ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    stop(&b);
}

static void test_many_and_reset(void *obj, void *data,
                                QGuestAllocator *alloc)
{
    const int n = 256;
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint8_t byte;
    QDict *rsp;
    int i;

    for (i = 0; i < n; i++) {
        host3d_blob(gpu, 100 + i, 4096);
        g_assert_cmphex(map_blob(gpu, 100 + i, i * 8192ull, NULL), ==,
                        VIRTIO_GPU_RESP_OK_MAP_INFO);
        byte = i;
        qpci_memwrite(gpu->pdev, b.bar, i * 8192ull + 7, &byte, 1);
    }
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, n);
    for (i = 0; i < n; i++) {
        qpci_memread(gpu->pdev, b.bar, i * 8192ull + 7, &byte, 1);
        g_assert_cmpuint(byte, ==, (uint8_t)i);
    }

    /* Reset with all of them live. */
    rsp = qtest_qmp(gpu->qts, "{'execute': 'system_reset'}");
    qobject_unref(rsp);
    qtest_qmp_eventwait(gpu->qts, "RESET");
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mapped-bytes"), ==, 0);

    /* The device starts over: same ids, same offsets. */
    qvirtio_gpu_stop(gpu);
    b = start(obj, alloc);
    host3d_blob(gpu, 100, 4096);
    g_assert_cmphex(map_blob(gpu, 100, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(unref(gpu, 100), ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(&b);
}

static void hold_releases(QVirtioGpu *gpu, bool hold)
{
    qvirtio_gpu_hold_grace_periods(gpu->qts, GPU_PATH, hold);
}

/*
 * UNREF of a mapped blob answers at once, even while the release of its
 * memory is held back, and the range is free at once; only a create that
 * reuses the id waits for the release.
 */
static void test_release_wait(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    struct virtio_gpu_resource_create_blob cb = { 0 };
    struct virtio_gpu_ctrl_hdr resp;
    QVirtioGpuReq r;
    int i;

    host3d_blob(gpu, 7, 4096);
    g_assert_cmphex(map_blob(gpu, 7, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    hold_releases(gpu, true);
    g_assert_cmphex(unref(gpu, 7), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-pending-releases"), ==, 1);
    host3d_blob(gpu, 8, 4096);
    g_assert_cmphex(map_blob(gpu, 8, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);

    /* Id 7 again: no answer while the release is held back... */
    make_host_object(gpu, 7, 4096, true);
    qvirtio_gpu_hdr_init(&cb.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, CTX);
    cb.resource_id = 7;
    cb.blob_mem = VIRTIO_GPU_BLOB_MEM_HOST3D;
    cb.blob_flags = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE;
    cb.blob_id = 7;
    cb.size = 4096;
    qvirtio_gpu_cmd_send(gpu, &cb, sizeof(cb), sizeof(resp), false, &r);
    for (i = 0; i < 20; i++) {
        g_assert_false(qvirtio_gpu_cmd_poll(gpu, &r, &resp));
    }
    /* ...and the right one once it is done. */
    hold_releases(gpu, false);
    for (i = 0; !qvirtio_gpu_cmd_poll(gpu, &r, &resp); i++) {
        g_assert_cmpint(i, <, 10000);
    }
    g_assert_cmphex(resp.type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-pending-releases"), ==, 0);

    g_assert_cmphex(map_blob(gpu, 7, 4096, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(unref(gpu, 7), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 8), ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(&b);
}

/* Destroying a context unmaps the blobs made in it. */
static void test_ctx_destroy(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint8_t got[16];

    host3d_blob(gpu, 9, 4096);
    g_assert_cmphex(map_blob(gpu, 9, 4096, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memwrite(gpu->pdev, b.bar, 4096, "still mapped", 12);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, CTX), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    qpci_memread(gpu->pdev, b.bar, 4096, got, sizeof(got));
    g_assert_true(buffer_is_zero(got, sizeof(got)));
    g_assert_cmphex(unref(gpu, 9), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

/* Send an UNMAP_BLOB or MAP_BLOB without waiting for its answer. */
static void send_unmap(QVirtioGpu *gpu, uint32_t id, QVirtioGpuReq *r)
{
    struct virtio_gpu_resource_unmap_blob u = { .resource_id = id };

    qvirtio_gpu_hdr_init(&u.hdr, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 0);
    qvirtio_gpu_cmd_send(gpu, &u, sizeof(u),
                         sizeof(struct virtio_gpu_resp_map_info), false, r);
}

static void send_map(QVirtioGpu *gpu, uint32_t id, uint64_t offset,
                     QVirtioGpuReq *r)
{
    struct virtio_gpu_resource_map_blob m = {
        .resource_id = id, .offset = offset,
    };

    qvirtio_gpu_hdr_init(&m.hdr, VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB, 0);
    qvirtio_gpu_cmd_send(gpu, &m, sizeof(m),
                         sizeof(struct virtio_gpu_resp_map_info), false, r);
}

/*
 * The next answer, to whichever of @r it is: its index, with its reply
 * type in @type.  The virtual clock moves by @step_ns per poll.
 */
static int wait_any(QVirtioGpu *gpu, QVirtioGpuReq *r, int n,
                    int64_t step_ns, uint32_t *type)
{
    struct virtio_gpu_resp_map_info resp;
    gint64 start = g_get_monotonic_time();
    uint32_t got;
    int i;

    for (;;) {
        /* QEMU 10.0 answers a step of 0 with FAIL */
        if (step_ns) {
            qtest_clock_step(gpu->qts, step_ns);
        }
        if (qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, NULL)) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <=,
                        10 * G_USEC_PER_SEC);
    }
    for (i = 0; i < n && r[i].head != got; i++) {
        /* look further */
    }
    g_assert_cmpint(i, <, n);
    qtest_memread(gpu->qts, r[i].rsp, &resp, sizeof(resp));
    guest_free(gpu->alloc, r[i].req);
    guest_free(gpu->alloc, r[i].rsp);
    *type = resp.hdr.type;
    return i;
}

/* No answer comes while the virtual clock stands still. */
static void assert_no_answer(QVirtioGpu *gpu)
{
    uint32_t got;
    int i;

    for (i = 0; i < 20; i++) {
        g_usleep(1000);
        g_assert_false(qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, NULL));
    }
}

static void wait_released(QVirtioGpu *gpu)
{
    int i;

    for (i = 0; region_stat(gpu, "x-hostmem-pending-releases"); i++) {
        g_assert_cmpint(i, <, 10000);
        g_usleep(1000);
    }
}

/*
 * An UNMAP_BLOB is answered once the mapping is out of the guest's
 * reach: with the next MAP_BLOB, which takes it out in the same flat
 * view update, after a millisecond of virtual time, or at once when it
 * is fenced.  Until then the blob may still be seen.
 */
static void test_unmap_held(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    QVirtioGpuReq r[3];
    uint8_t got[16];
    uint32_t type;

    host3d_blob(gpu, 20, 4096);
    host3d_blob(gpu, 21, 4096);
    g_assert_cmphex(map_blob(gpu, 20, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memwrite(gpu->pdev, b.bar, 0, "blob twenty", 12);

    /* Held: no answer, the range free in the books, the blob in reach. */
    send_unmap(gpu, 20, &r[0]);
    assert_no_answer(gpu);
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    qpci_memread(gpu->pdev, b.bar, 0, got, 12);
    g_assert_cmpmem(got, 12, "blob twenty", 12);

    /* So does a second UNMAP: its answer, too, says "out of reach". */
    send_unmap(gpu, 20, &r[1]);
    assert_no_answer(gpu);

    /* A MAP over the same range carries it out, and all are answered. */
    send_map(gpu, 21, 0, &r[2]);
    g_assert_cmpint(wait_any(gpu, r, 3, 0, &type), ==, 0);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(wait_any(gpu, r, 3, 0, &type), ==, 1);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(wait_any(gpu, r, 3, 0, &type), ==, 2);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memread(gpu->pdev, b.bar, 0, got, 12);
    g_assert_true(buffer_is_zero(got, 12));
    qpci_memwrite(gpu->pdev, b.bar, 0, "twenty-one", 11);
    qpci_memread(gpu->pdev, b.bar, 0, got, 11);
    g_assert_cmpmem(got, 11, "twenty-one", 11);
    wait_released(gpu);

    /* Alone, it is carried out once the virtual clock moved on. */
    send_unmap(gpu, 21, &r[0]);
    assert_no_answer(gpu);
    g_assert_cmpint(wait_any(gpu, r, 1, 2 * 1000 * 1000, &type), ==, 0);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    qpci_memread(gpu->pdev, b.bar, 0, got, 11);
    g_assert_true(buffer_is_zero(got, 11));
    wait_released(gpu);

    /*
     * Fenced: at once, the fence answered with it; a held one for the
     * same blob goes with it.
     */
    g_assert_cmphex(map_blob(gpu, 21, 8192, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memwrite(gpu->pdev, b.bar, 8192, "fenced", 6);
    send_unmap(gpu, 21, &r[0]);
    assert_no_answer(gpu);
    {
        struct virtio_gpu_resource_unmap_blob u = { .resource_id = 21 };

        qvirtio_gpu_hdr_init(&u.hdr, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 0);
        qvirtio_gpu_cmd_send(gpu, &u, sizeof(u),
                             sizeof(struct virtio_gpu_resp_map_info), true,
                             &r[1]);
    }
    g_assert_cmpint(wait_any(gpu, r, 2, 0, &type), ==, 0);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(wait_any(gpu, r, 2, 0, &type), ==, 1);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    qpci_memread(gpu->pdev, b.bar, 8192, got, 6);
    g_assert_true(buffer_is_zero(got, 6));

    /* An unmapped blob's UNMAP is answered at once. */
    g_assert_cmphex(unmap_blob(gpu, 21), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 20), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 21), ==, VIRTIO_GPU_RESP_OK_NODATA);
    wait_released(gpu);
    stop(&b);
}

/*
 * A held UNMAP, then UNREF, then a create that reuses the id: the create
 * waits for the release, and so carries the UNMAP out itself.
 */
static void test_unmap_held_reuse(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    struct virtio_gpu_resource_create_blob cb = { 0 };
    QVirtioGpuReq r[3];
    uint32_t type;

    host3d_blob(gpu, 22, 4096);
    g_assert_cmphex(map_blob(gpu, 22, 4096, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    send_unmap(gpu, 22, &r[0]);
    {
        struct virtio_gpu_resource_unref u = { .resource_id = 22 };

        qvirtio_gpu_hdr_init(&u.hdr, VIRTIO_GPU_CMD_RESOURCE_UNREF, 0);
        qvirtio_gpu_cmd_send(gpu, &u, sizeof(u),
                             sizeof(struct virtio_gpu_resp_map_info), false,
                             &r[1]);
    }
    /* UNREF overtakes the held UNMAP. */
    g_assert_cmpint(wait_any(gpu, r, 2, 0, &type), ==, 1);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);

    make_host_object(gpu, 22, 4096, true);
    qvirtio_gpu_hdr_init(&cb.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, CTX);
    cb.resource_id = 22;
    cb.blob_mem = VIRTIO_GPU_BLOB_MEM_HOST3D;
    cb.blob_flags = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE;
    cb.blob_id = 22;
    cb.size = 4096;
    qvirtio_gpu_cmd_send(gpu, &cb, sizeof(cb),
                         sizeof(struct virtio_gpu_resp_map_info), false,
                         &r[2]);
    g_assert_cmpint(wait_any(gpu, r, 3, 0, &type), ==, 0);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(wait_any(gpu, r, 3, 0, &type), ==, 2);
    g_assert_cmphex(type, ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(map_blob(gpu, 22, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(unref(gpu, 22), ==, VIRTIO_GPU_RESP_OK_NODATA);
    wait_released(gpu);
    stop(&b);
}

/* Reset with an UNMAP held: it is dropped, the memory released. */
static void test_unmap_held_reset(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    QVirtioGpuReq r;
    uint8_t got[4];
    QDict *rsp;

    host3d_blob(gpu, 23, 4096);
    g_assert_cmphex(map_blob(gpu, 23, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memwrite(gpu->pdev, b.bar, 0, "held", 4);
    send_unmap(gpu, 23, &r);
    assert_no_answer(gpu);

    rsp = qtest_qmp(gpu->qts, "{'execute': 'system_reset'}");
    qobject_unref(rsp);
    qtest_qmp_eventwait(gpu->qts, "RESET");
    g_assert_cmphex(region_stat(gpu, "x-hostmem-mappings"), ==, 0);
    wait_released(gpu);
    qtest_clock_step(gpu->qts, 10 * 1000 * 1000);

    /* The device starts over and maps the same range. */
    qvirtio_gpu_stop(gpu);
    b = start(obj, alloc);
    host3d_blob(gpu, 23, 4096);
    g_assert_cmphex(map_blob(gpu, 23, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    qpci_memread(gpu->pdev, b.bar, 0, got, 4);
    g_assert_true(buffer_is_zero(got, 4));
    g_assert_cmphex(unref(gpu, 23), ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(&b);
}

/* HOST3D_GUEST: guest pages shadow the host object through transfers. */
static void test_host3d_guest(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t size = 16 * KiB;
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, size);
    g_autofree uint8_t *pattern = g_malloc(size);
    g_autofree uint8_t *got = g_malloc(size);

    make_host_object(gpu, 20, size, false);
    g_assert_cmphex(create_blob(gpu, 20, CTX,
                                VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST, 0, 20, size,
                                guest, 4),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                        VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, CTX, 20),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    fill(pattern, size, 5);
    qtest_memwrite(gpu->qts, guest, pattern, size);
    g_assert_cmphex(transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D,
                                20, size), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qtest_memset(gpu->qts, guest, 0, size);
    g_assert_cmphex(transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D,
                                20, size), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qtest_memread(gpu->qts, guest, got, size);
    g_assert_cmpmem(got, size, pattern, size);

    /* And the context keeps working. */
    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, CTX, (uint32_t[]){ 0 }, 1,
                                          true),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 20), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(&b);
}

/* Without a host-visible region there is nothing to map into. */
static void test_no_region(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;

    /* Nowhere to map: no alignment to offer. */
    g_assert_cmphex(qvirtio_get_features(gpu->vdev) & F_ALIGN, ==, 0);
    host3d_blob(gpu, 1, 4096);
    g_assert_cmphex(map_blob(gpu, 1, 0, NULL), ==, VIRTIO_GPU_RESP_ERR_UNSPEC);
    g_assert_cmphex(unmap_blob(gpu, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(&b);
}

/*
 * VIRTIO_GPU_F_BLOB_ALIGNMENT: offered with blob_alignment, the host's
 * page size (there is no heap here).  Negotiated, blob sizes and
 * MAP_BLOB offsets off it are refused, not rounded.
 */
static void test_alignment(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start_with(obj, alloc, BLOB_FEATURES | F_ALIGN);
    QVirtioGpu *gpu = b.gpu;
    uint32_t page = qemu_real_host_page_size();
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, 2 * page);

    g_assert_cmpuint(qvirtio_config_readl(gpu->vdev, 16), ==, page);
    g_assert_cmphex(create_blob(gpu, 1, 0, VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0,
                                page + 512, guest, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_blob(gpu, 1, 0, VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0,
                                2 * page, guest, 1),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    host3d_blob(gpu, 2, page);
    g_assert_cmphex(map_blob(gpu, 2, page / 2, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(map_blob(gpu, 2, page, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    g_assert_cmphex(unmap_blob(gpu, 2), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 2), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(&b);
}

/* Offered but not negotiated: sizes as Linux before 7.2 sends them. */
static void test_alignment_off(void *obj, void *data, QGuestAllocator *alloc)
{
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, 8192);

    g_assert_cmphex(qvirtio_get_features(gpu->vdev) & F_ALIGN, ==, F_ALIGN);
    g_assert_cmphex(gpu->features & F_ALIGN, ==, 0);
    g_assert_cmphex(create_blob(gpu, 1, 0, VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0,
                                4096 + 512, guest, 1),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(unref(gpu, 1), ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(&b);
}

/*
 * Benchmark (-m perf): what blob commands cost QEMU, in CPU
 * time of the QEMU process (all threads), so that the test driver's own
 * time does not count; each also beyond the cost of as many no-op
 * commands (GET_DISPLAY_INFO), which is what the qtest transport adds.
 */
typedef struct Meter {
    QVirtioGpu *gpu;
    gint64 wall;
    uint64_t cpu;
} Meter;

static Meter meter_start(QVirtioGpu *gpu)
{
    return (Meter) {
        gpu, g_get_monotonic_time(), qvirtio_gpu_qemu_cpu_ns(gpu)
    };
}

/* QEMU CPU us per iteration; @wall_us gets the wall-clock figure. */
static double meter_us(Meter m, int n, double *wall_us)
{
    double cpu = (qvirtio_gpu_qemu_cpu_ns(m.gpu) - m.cpu) / 1000.0 / n;

    *wall_us = (double)(g_get_monotonic_time() - m.wall) / n;
    return cpu;
}

static void test_bench(void *obj, void *data, QGuestAllocator *alloc)
{
    static const int live[] = { 1, 100, 1000 };
    const int n = 300;
    Blob b = start(obj, alloc);
    QVirtioGpu *gpu = b.gpu;
    struct virtio_gpu_ctrl_hdr nop;
    struct virtio_gpu_resp_display_info di;
    double nop_us, us, wall, first = 0;
    int i, k, have = 0;
    Meter m;

    m = meter_start(gpu);
    for (i = 0; i < n; i++) {
        qvirtio_gpu_hdr_init(&nop, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
        qvirtio_gpu_cmd(gpu, &nop, sizeof(nop), &di, sizeof(di), false);
    }
    nop_us = meter_us(m, n, &wall);
    printf("# no-op command: QEMU %.1f us CPU (%.1f us wall)\n", nop_us,
           wall);

    /* map+unmap of one 64 KiB HOST3D blob, with others live */
    host3d_blob(gpu, 1, 64 * KiB);
    for (k = 0; k < ARRAY_SIZE(live); k++) {
        for (; have < live[k]; have++) {
            host3d_blob(gpu, 10 + have, 4096);
            g_assert_cmphex(map_blob(gpu, 10 + have, have * 4096ull, NULL),
                            ==, VIRTIO_GPU_RESP_OK_MAP_INFO);
        }
        m = meter_start(gpu);
        for (i = 0; i < n; i++) {
            g_assert_cmphex(map_blob(gpu, 1, 32 * MiB, NULL), ==,
                            VIRTIO_GPU_RESP_OK_MAP_INFO);
            g_assert_cmphex(unmap_blob(gpu, 1), ==,
                            VIRTIO_GPU_RESP_OK_NODATA);
        }
        us = meter_us(m, n, &wall) - 2 * nop_us;
        first = first ?: us;
        printf("# map+unmap, 64 KiB HOST3D blob, %4d live: QEMU %.1f us "
               "CPU beyond 2 no-ops (%.2fx the 1-live cost), %.0f "
               "cycles/s wall\n", live[k], us, us / first, 1e6 / wall);
    }

    /* CREATE_BLOB+UNREF, of a buffer object made by a submit */
    m = meter_start(gpu);
    for (i = 0; i < n; i++) {
        host3d_blob(gpu, 100000 + i, 64 * KiB);
        g_assert_cmphex(unref(gpu, 100000 + i), ==,
                        VIRTIO_GPU_RESP_OK_NODATA);
    }
    us = meter_us(m, n, &wall) - 3 * nop_us;
    printf("# SUBMIT(object)+CREATE_BLOB+UNREF, 64 KiB: QEMU %.1f us CPU "
           "beyond 3 no-ops, %.0f per second wall\n", us, 1e6 / wall);

    /* The Linux driver's loop: create, map, unmap, unref, same id */
    m = meter_start(gpu);
    for (i = 0; i < n; i++) {
        host3d_blob(gpu, 5, 64 * KiB);
        g_assert_cmphex(map_blob(gpu, 5, 32 * MiB, NULL), ==,
                        VIRTIO_GPU_RESP_OK_MAP_INFO);
        g_assert_cmphex(unmap_blob(gpu, 5), ==, VIRTIO_GPU_RESP_OK_NODATA);
        g_assert_cmphex(unref(gpu, 5), ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
    us = meter_us(m, n, &wall);
    printf("# create+map+unmap+unref, same id and offset: %.2f ms wall per "
           "iteration; QEMU %.1f us CPU beyond 5 no-ops\n", wall / 1000,
           us - 5 * nop_us);
    stop(&b);
}

/* One blob's create, map, unmap and unref in venus context 5. */
static double venus_cycle_us(QVirtioGpu *gpu, uint64_t blob_id,
                             uint64_t size, int n, double *cpu_us)
{
    Meter m = meter_start(gpu);
    double wall;
    int i;

    for (i = 0; i < n; i++) {
        g_assert_cmphex(create_blob(gpu, 7, 5, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                    VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE,
                                    blob_id, size, 0, 0),
                        ==, VIRTIO_GPU_RESP_OK_NODATA);
        g_assert_cmphex(map_blob(gpu, 7, 32 * MiB, NULL), ==,
                        VIRTIO_GPU_RESP_OK_MAP_INFO);
        g_assert_cmphex(unmap_blob(gpu, 7), ==, VIRTIO_GPU_RESP_OK_NODATA);
        g_assert_cmphex(unref(gpu, 7), ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
    *cpu_us = meter_us(m, n, &wall);
    return wall;
}

/*
 * guest_vram=on against the host-based path, on one device in one run.
 * Host-based: a venus blob whose memory the renderer allocates (blob_id
 * 0, its shared memory), exported to QEMU and placed over the heap.
 * Guest-based: a blob with a blob_id, its memory a heap slice imported
 * into the renderer and attached to the context (the render server
 * takes its copy).  Wall time includes the render server's share.
 */
static void test_bench_guest_vram(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    const uint64_t feats = BLOB_FEATURES |
                           (1ull << VIRTIO_GPU_F_CONTEXT_INIT);
    static const uint64_t sizes[] = { 64 * KiB, 4 * MiB };
    const int n = 100;
    QVirtioGpu *gpu = obj;
    double host, guest, host_cpu, guest_cpu;
    int k;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, feats) & feats, ==, feats);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    for (k = 0; k < ARRAY_SIZE(sizes); k++) {
        /* warm both paths up, then interleave them */
        venus_cycle_us(gpu, 0, sizes[k], 10, &host_cpu);
        venus_cycle_us(gpu, 0x77, sizes[k], 10, &guest_cpu);
        host = venus_cycle_us(gpu, 0, sizes[k], n, &host_cpu);
        guest = venus_cycle_us(gpu, 0x77, sizes[k], n, &guest_cpu);
        host = (host + venus_cycle_us(gpu, 0, sizes[k], n, &host_cpu)) / 2;
        guest = (guest + venus_cycle_us(gpu, 0x77, sizes[k], n,
                                        &guest_cpu)) / 2;
        printf("# venus %4" PRIu64 " KiB blob create+map+unmap+unref: "
               "host-allocated %.0f us wall (QEMU %.0f us CPU), guest_vram "
               "heap slice %.0f us wall (QEMU %.0f us CPU): guest/host "
               "%.2fx wall\n", sizes[k] / KiB, host, host_cpu, guest,
               guest_cpu, guest / host);
    }
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 5), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

static void register_virtio_gpu_blob_test(void)
{
    if (g_test_perf()) {
        qos_add_test("bench", "virtio-gpu-blob", test_bench, NULL);
        if (QVIRTIO_GPU_HAS_GUEST_VRAM) {
            qos_add_test("bench-guest-vram", "virtio-gpu-guest-vram",
                         test_bench_guest_vram, NULL);
        }
    }
    qos_add_test("create-bad", "virtio-gpu-blob", test_create_bad, NULL);
    qos_add_test("map-bad", "virtio-gpu-blob", test_map_bad, NULL);
    qos_add_test("coherence", "virtio-gpu-blob", test_coherence, NULL);
    qos_add_test("linux-pattern", "virtio-gpu-blob", test_linux_pattern,
                 NULL);
    qos_add_test("many-and-reset", "virtio-gpu-blob", test_many_and_reset,
                 NULL);
    qos_add_test("release-wait", "virtio-gpu-blob", test_release_wait, NULL);
    qos_add_test("ctx-destroy", "virtio-gpu-blob", test_ctx_destroy, NULL);
    qos_add_test("unmap-held", "virtio-gpu-blob", test_unmap_held, NULL);
    qos_add_test("unmap-held-reuse", "virtio-gpu-blob", test_unmap_held_reuse,
                 NULL);
    qos_add_test("unmap-held-reset", "virtio-gpu-blob", test_unmap_held_reset,
                 NULL);
    qos_add_test("host3d-guest", "virtio-gpu-blob", test_host3d_guest, NULL);
    qos_add_test("alignment", "virtio-gpu-blob", test_alignment, NULL);
    qos_add_test("alignment-off", "virtio-gpu-blob", test_alignment_off,
                 NULL);
    qos_add_test("no-region", "virtio-gpu-blob-noregion", test_no_region,
                 NULL);
}

libqos_init(register_virtio_gpu_blob_test);
