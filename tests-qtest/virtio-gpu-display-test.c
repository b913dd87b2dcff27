/*
 * qtests for the virgl device's resource UUIDs, blob scanouts (pixels
 * checked through screendump) and migration blocker.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-gpu.h"

#define F(bit) (1ull << (bit))
#define FEATURES (F(VIRTIO_GPU_F_VIRGL) | F(VIRTIO_GPU_F_RESOURCE_BLOB) | \
                  F(VIRTIO_GPU_F_RESOURCE_UUID))
#define CTX 1
#define W 64
#define H 32
/* the frame's layout in its blob: padded lines, after a header */
#define STRIDE (W * 4 + 64)
#define OFFSET 256
#define BLOB_SIZE (OFFSET + STRIDE * H)

static QVirtioGpu *start(void *obj, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, FEATURES) & FEATURES, ==,
                    FEATURES);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, CTX, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    return gpu;
}

static void stop(QVirtioGpu *gpu)
{
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, CTX), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

static uint32_t assign_uuid(QVirtioGpu *gpu, uint32_t id, uint8_t uuid[16])
{
    struct virtio_gpu_resource_assign_uuid a = { .resource_id = id };
    struct virtio_gpu_resp_resource_uuid resp;

    qvirtio_gpu_hdr_init(&a.hdr, VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID, 0);
    memset(&resp, 0, sizeof(resp));
    qvirtio_gpu_cmd(gpu, &a, sizeof(a), &resp, sizeof(resp), false);
    memcpy(uuid, resp.uuid, 16);
    return resp.hdr.type;
}

static void test_uuid(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    uint8_t a[16], a2[16], b[16];
    static const uint8_t zero[16];

    qvirtio_gpu_virgl_buffer_object(gpu, CTX, 1, 4096, true);
    qvirtio_gpu_virgl_buffer_object(gpu, CTX, 2, 4096, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 1, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D,
                        VIRTIO_GPU_BLOB_FLAG_USE_SHAREABLE, 1, 4096, 0, 0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 2, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D,
                        VIRTIO_GPU_BLOB_FLAG_USE_SHAREABLE, 2, 4096, 0, 0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(assign_uuid(gpu, 1, a), ==,
                    VIRTIO_GPU_RESP_OK_RESOURCE_UUID);
    g_assert_cmphex(assign_uuid(gpu, 2, b), ==,
                    VIRTIO_GPU_RESP_OK_RESOURCE_UUID);
    g_assert_cmphex(assign_uuid(gpu, 1, a2), ==,
                    VIRTIO_GPU_RESP_OK_RESOURCE_UUID);
    /* stable, distinct, not nil, and RFC 4122 version 4 */
    g_assert_cmpmem(a, 16, a2, 16);
    g_assert_true(memcmp(a, b, 16) != 0);
    g_assert_true(memcmp(a, zero, 16) != 0);
    g_assert_cmphex(a[6] >> 4, ==, 4);
    g_assert_cmphex(a[8] >> 6, ==, 2);

    g_assert_cmphex(assign_uuid(gpu, 77, a), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 1),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(assign_uuid(gpu, 1, a), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 2),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(gpu);
}

static uint32_t pixel(int x, int y, int seed)
{
    return ((x * 4 + seed) & 0xff) | (((y * 8) & 0xff) << 8) |
           (((x ^ y) + seed) & 0xff) << 16 | 0xff000000u;
}

/* Write a frame into guest memory @addr, or through BAR @bar. */
static void write_frame(QVirtioGpu *gpu, uint64_t addr, QPCIBar *bar,
                        int seed)
{
    g_autofree uint8_t *blob = g_malloc0(BLOB_SIZE);
    int x, y;

    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            stl_le_p(blob + OFFSET + y * STRIDE + x * 4, pixel(x, y, seed));
        }
    }
    if (bar) {
        qpci_memwrite(gpu->pdev, *bar, addr, blob, BLOB_SIZE);
    } else {
        qtest_memwrite(gpu->qts, addr, blob, BLOB_SIZE);
    }
}

static void check_screen(QVirtioGpu *gpu, int seed)
{
    g_autofree uint8_t *rgb = NULL;
    int w, h, x, y;

    rgb = qvirtio_gpu_screendump(gpu, &w, &h);
    g_assert_cmpint(w, ==, W);
    g_assert_cmpint(h, ==, H);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            uint32_t p = pixel(x, y, seed);
            uint8_t *px = rgb + (y * W + x) * 3;

            g_assert_cmpuint(px[0], ==, (p >> 16) & 0xff);
            g_assert_cmpuint(px[1], ==, (p >> 8) & 0xff);
            g_assert_cmpuint(px[2], ==, p & 0xff);
        }
    }
}

static uint32_t scanout_blob(QVirtioGpu *gpu, uint32_t scanout, uint32_t id,
                             uint32_t format, uint32_t w, uint32_t h,
                             uint32_t stride, uint32_t offset,
                             struct virtio_gpu_rect r)
{
    struct virtio_gpu_set_scanout_blob ss = {
        .r = r, .scanout_id = scanout, .resource_id = id,
        .width = w, .height = h, .format = format,
        .strides = { stride }, .offsets = { offset },
    };

    qvirtio_gpu_hdr_init(&ss.hdr, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &ss, sizeof(ss), false);
}

static uint32_t show(QVirtioGpu *gpu, uint32_t id)
{
    struct virtio_gpu_rect full = { 0, 0, W, H };

    return scanout_blob(gpu, 0, id, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, W, H,
                        STRIDE, OFFSET, full);
}

static uint32_t flush(QVirtioGpu *gpu, uint32_t id)
{
    struct virtio_gpu_resource_flush rf = {
        .r = { 0, 0, W, H }, .resource_id = id,
    };

    qvirtio_gpu_hdr_init(&rf.hdr, VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &rf, sizeof(rf), true);
}

/* A GUEST blob on the scanout: the guest's pixels, on every flush. */
static void test_scanout_guest(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, BLOB_SIZE);

    write_frame(gpu, guest, NULL, 1);
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 3, 0,
                        VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0, BLOB_SIZE, guest, 2,
                        BLOB_SIZE),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(show(gpu, 3), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 1);

    write_frame(gpu, guest, NULL, 2);
    g_assert_cmphex(flush(gpu, 3), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 2);

    /* Dropping the blob takes it off the scanout. */
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 3),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(flush(gpu, 3), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(gpu);
}

/*
 * The 2D device's GUEST blob, in two page-aligned entries: QEMU joins
 * them into one udmabuf of the guest's RAM (a memfd), and scans that out
 * with no copy.  The udmabuf goes with the blob.
 */
static void test_scanout_udmabuf(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    const uint64_t blob = F(VIRTIO_GPU_F_RESOURCE_BLOB);
    const uint32_t size = ROUND_UP(BLOB_SIZE, 8192);
    QVirtioGpu *gpu = obj;
    uint64_t guest;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, blob) & blob, ==, blob);
    guest = qvirtio_gpu_alloc_backing(gpu, size);
    g_assert_cmphex(guest % 4096, ==, 0);
    write_frame(gpu, guest, NULL, 3);
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 5, 0,
                        VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0, size, guest, 2, size),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 1);
    g_assert_cmphex(show(gpu, 5), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 3);

    write_frame(gpu, guest, NULL, 4);
    g_assert_cmphex(flush(gpu, 5), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 4);

    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 5),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, 0);
    qvirtio_gpu_free_backing(gpu, guest);
    qvirtio_gpu_stop(gpu);
}

/* A HOST3D blob, written through the BAR, on the scanout. */
static void test_scanout_host(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t size = ROUND_UP(BLOB_SIZE, 4096);
    QVirtioGpu *gpu = start(obj, alloc);
    QPCIBar bar = qpci_iomap(gpu->pdev, 4, NULL);

    qvirtio_gpu_virgl_buffer_object(gpu, CTX, 4, size, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 4, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D,
                        VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE, 4, size, 0, 0, 0),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 4, 0, NULL), ==,
                    VIRTIO_GPU_RESP_OK_MAP_INFO);
    write_frame(gpu, 0, &bar, 3);
    g_assert_cmphex(show(gpu, 4), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 3);
    write_frame(gpu, 0, &bar, 4);
    g_assert_cmphex(flush(gpu, 4), ==, VIRTIO_GPU_RESP_OK_NODATA);
    check_screen(gpu, 4);

    /* Resource 0 takes it off again. */
    g_assert_cmphex(scanout_blob(gpu, 0, 0, 0, 0, 0, 0, 0,
                                 (struct virtio_gpu_rect){ 0 }),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 4),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    stop(gpu);
}

static void test_scanout_bad(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t B8G8R8X8 = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM;
    const struct virtio_gpu_rect full = { 0, 0, W, H };
    QVirtioGpu *gpu = start(obj, alloc);
    uint64_t guest = qvirtio_gpu_alloc_backing(gpu, BLOB_SIZE);
    struct virtio_gpu_resource_create_3d c3d = {
        .resource_id = 6, .target = 2, .format = 1, .bind = 2,
        .width = W, .height = H, .depth = 1, .array_size = 1,
    };

    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 5, 0,
                        VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0, BLOB_SIZE, guest, 1,
                        BLOB_SIZE),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_hdr_init(&c3d.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, CTX);
    g_assert_cmphex(qvirtio_gpu_cmd_nodata(gpu, &c3d, sizeof(c3d), false),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(scanout_blob(gpu, 16, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    g_assert_cmphex(scanout_blob(gpu, 1, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    g_assert_cmphex(scanout_blob(gpu, 0, 77, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* not a blob; an unknown format */
    g_assert_cmphex(scanout_blob(gpu, 0, 6, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, 999, W, H, STRIDE, OFFSET, full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* rectangles outside the frame, or empty */
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 (struct virtio_gpu_rect){ 1, 0, W, H }),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                        (struct virtio_gpu_rect){ 0xffffffff, 0, 2, H }),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 (struct virtio_gpu_rect){ 0, 0, 0, H }),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* strides and offsets that leave the blob, or wrap */
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, W * 4 - 4,
                                 OFFSET, full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* the last line's padding is not needed; one pixel more is too much */
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE,
                                 OFFSET + STRIDE - W * 4, full),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE,
                                 OFFSET + STRIDE - W * 4 + 4, full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, 0x10000, 0xffffffff,
                                 0xffffffff, full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, 0x40000000, 1,
                                 0xffffffff, 0, full),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);

    /* Still fine afterwards */
    g_assert_cmphex(scanout_blob(gpu, 0, 5, B8G8R8X8, W, H, STRIDE, OFFSET,
                                 full),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 5),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 6),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, guest);
    stop(gpu);
}

/*
 * The virgl device cannot be migrated, and says why (over a heap, the
 * heap's reason may come first).
 */
static void test_no_migration(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;
    const char *why;
    QDict *rsp;

    rsp = qtest_qmp(gpu->qts, "{'execute': 'migrate', 'arguments':"
                    " {'uri': 'exec:cat > /dev/null'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    why = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    if (!strstr(why, "virgl is not yet migratable") &&
        !strstr(why, "the heap's pages are not migrated")) {
        g_error("migration refused for another reason: %s", why);
    }
    qobject_unref(rsp);
}

static void register_virtio_gpu_display_test(void)
{
    qos_add_test("uuid", "virtio-gpu-blob", test_uuid, NULL);
    qos_add_test("scanout-guest", "virtio-gpu-blob", test_scanout_guest,
                 NULL);
    qos_add_test("scanout-host", "virtio-gpu-blob", test_scanout_host, NULL);
    qos_add_test("scanout-udmabuf", "virtio-gpu-udmabuf",
                 test_scanout_udmabuf, NULL);
    qos_add_test("scanout-bad", "virtio-gpu-blob", test_scanout_bad, NULL);
    qos_add_test("no-migration", "virtio-gpu-blob", test_no_migration, NULL);
}

libqos_init(register_virtio_gpu_display_test);
