/*
 * qtests for the virtio-gpu PCI devices: the 2D command set, and virgl
 * on whatever EGL offers (Mesa llvmpipe on a machine without a GPU).
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
#include "libqos/qgraph.h"
#include "libqos/virtio-gpu.h"

/* The parts of virglrenderer's command protocol the tests speak. */
#define VIRGL_CMD0(cmd, obj, len)   ((cmd) | ((obj) << 8) | ((len) << 16))
#define VIRGL_CCMD_CREATE_OBJECT        1
#define VIRGL_CCMD_SET_FRAMEBUFFER_STATE 5
#define VIRGL_CCMD_CLEAR                7
#define VIRGL_OBJECT_SURFACE            8
#define VIRGL_FORMAT_B8G8R8A8_UNORM     1
#define PIPE_TEXTURE_2D                 2
#define PIPE_CLEAR_COLOR0               (1 << 2)
#define VIRGL_BIND_RENDER_TARGET        (1 << 1)

#define GPU_FEATURES \
    ((1ull << VIRTIO_GPU_F_EDID) | (1ull << VIRTIO_GPU_F_VIRGL))

static QVirtioGpu *start(void *obj, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;

    qvirtio_gpu_start(gpu, alloc, GPU_FEATURES);
    return gpu;
}

static void test_display_info(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    struct virtio_gpu_ctrl_hdr cmd;
    struct virtio_gpu_resp_display_info resp;
    int i;

    qvirtio_gpu_hdr_init(&cmd, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), &resp,
                                    sizeof(resp), false),
                    ==, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    g_assert_cmpuint(resp.pmodes[0].enabled, ==, 1);
    g_assert_cmpuint(resp.pmodes[0].r.width, ==, 1280);
    g_assert_cmpuint(resp.pmodes[0].r.height, ==, 800);
    for (i = 1; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
        g_assert_cmpuint(resp.pmodes[i].enabled, ==, 0);
    }

    /* A fenced command is answered with the fence echoed. */
    qvirtio_gpu_hdr_init(&cmd, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), &resp,
                                    sizeof(resp), true),
                    ==, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    qvirtio_gpu_stop(gpu);
}

static void test_edid(void *obj, void *data, QGuestAllocator *alloc)
{
    static const uint8_t edid_header[8] = {
        0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00
    };
    QVirtioGpu *gpu = start(obj, alloc);
    struct virtio_gpu_cmd_get_edid cmd;
    struct virtio_gpu_resp_edid resp;
    uint32_t block, i;

    g_assert_true(qvirtio_gpu_has_feature(gpu, VIRTIO_GPU_F_EDID));
    qvirtio_gpu_hdr_init(&cmd.hdr, VIRTIO_GPU_CMD_GET_EDID, 0);
    cmd.scanout = 0;
    cmd.padding = 0;
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), &resp,
                                    sizeof(resp), false),
                    ==, VIRTIO_GPU_RESP_OK_EDID);
    g_assert_cmpuint(resp.size, >=, 128);
    g_assert_cmpuint(resp.size % 128, ==, 0);
    g_assert_cmpuint(resp.size, <=, sizeof(resp.edid));
    g_assert_cmpmem(resp.edid, 8, edid_header, 8);
    for (block = 0; block < resp.size / 128; block++) {
        uint8_t sum = 0;

        for (i = 0; i < 128; i++) {
            sum += resp.edid[block * 128 + i];
        }
        g_assert_cmpuint(sum, ==, 0);
    }

    cmd.scanout = VIRTIO_GPU_MAX_SCANOUTS;
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), &resp,
                                    sizeof(resp), false),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    qvirtio_gpu_stop(gpu);
}

static uint32_t set_scanout(QVirtioGpu *gpu, uint32_t scanout,
                            uint32_t resource_id, uint32_t w, uint32_t h)
{
    struct virtio_gpu_set_scanout ss = {
        .r = { .x = 0, .y = 0, .width = w, .height = h },
        .scanout_id = scanout,
        .resource_id = resource_id,
    };

    qvirtio_gpu_hdr_init(&ss.hdr, VIRTIO_GPU_CMD_SET_SCANOUT, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &ss, sizeof(ss), false);
}

static uint32_t create_2d(QVirtioGpu *gpu, uint32_t resource_id,
                          uint32_t w, uint32_t h)
{
    struct virtio_gpu_resource_create_2d c2d = {
        .resource_id = resource_id,
        .format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
        .width = w, .height = h,
    };

    qvirtio_gpu_hdr_init(&c2d.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &c2d, sizeof(c2d), false);
}

static uint32_t transfer_2d(QVirtioGpu *gpu, uint32_t resource_id,
                            uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    struct virtio_gpu_transfer_to_host_2d t2d = {
        .r = { x, y, w, h }, .offset = 0, .resource_id = resource_id,
    };

    qvirtio_gpu_hdr_init(&t2d.hdr, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &t2d, sizeof(t2d), true);
}

static uint32_t flush(QVirtioGpu *gpu, uint32_t resource_id,
                      uint32_t w, uint32_t h)
{
    struct virtio_gpu_resource_flush rf = {
        .r = { 0, 0, w, h }, .resource_id = resource_id,
    };

    qvirtio_gpu_hdr_init(&rf.hdr, VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &rf, sizeof(rf), true);
}

static void test_bad_input(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    struct virtio_gpu_ctrl_hdr cmd;
    struct virtio_gpu_resp_display_info resp;

    /* An unknown command type. */
    qvirtio_gpu_hdr_init(&cmd, 0x0999, 0);
    g_assert_cmphex(qvirtio_gpu_cmd_nodata(gpu, &cmd, sizeof(cmd), false),
                    ==, VIRTIO_GPU_RESP_ERR_UNSPEC);
    /* A scanout beyond the device's. */
    g_assert_cmphex(set_scanout(gpu, VIRTIO_GPU_MAX_SCANOUTS, 0, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    g_assert_cmphex(set_scanout(gpu, 1, 0, 0, 0),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    /* A resource that does not exist, in every command that names one. */
    g_assert_cmphex(set_scanout(gpu, 0, 4242, 64, 64),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_attach_backing(gpu, 4242, 0x100000, 4096, 1),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 4242), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 4242), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(transfer_2d(gpu, 4242, 0, 0, 16, 16), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(flush(gpu, 4242, 16, 16), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* Resource id 0 cannot be created. */
    g_assert_cmphex(create_2d(gpu, 0, 16, 16), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);

    /* The device keeps working. */
    qvirtio_gpu_hdr_init(&cmd, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), &resp,
                                    sizeof(resp), false),
                    ==, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    qvirtio_gpu_stop(gpu);
}

static uint32_t pattern_bgrx(int x, int y)
{
    return (x * 4) | ((y * 8) << 8) | ((x ^ y) << 16) | 0xff000000u;
}

/*
 * Runs on virtio-gpu-pci only: with virgl, screendump of an egl-headless
 * console answers "no surface"; the virgl tests read pixels back instead.
 */
static void test_2d_scanout(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t rid = 7, w = 64, h = 32;
    QVirtioGpu *gpu = start(&((QVirtioGpuPCI *)obj)->gpu, alloc);
    g_autofree uint32_t *pixels = g_new(uint32_t, w * h);
    g_autofree uint8_t *ppm = NULL;
    uint64_t backing;
    int x, y, pw, ph;

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            pixels[y * w + x] = pattern_bgrx(x, y);
        }
    }

    g_assert_cmphex(create_2d(gpu, rid, w, h), ==, VIRTIO_GPU_RESP_OK_NODATA);
    /* The same id again is refused. */
    g_assert_cmphex(create_2d(gpu, rid, w, h), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);

    backing = qvirtio_gpu_alloc_backing(gpu, w * h * 4);
    qtest_memwrite(gpu->qts, backing, pixels, w * h * 4);
    /* Scattered backing: three entries. */
    g_assert_cmphex(qvirtio_gpu_attach_backing(gpu, rid, backing, w * h * 4, 3),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(transfer_2d(gpu, rid, 0, 0, w, h), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(set_scanout(gpu, 0, rid, w, h), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(flush(gpu, rid, w, h), ==, VIRTIO_GPU_RESP_OK_NODATA);

    ppm = qvirtio_gpu_screendump(gpu, &pw, &ph);
    g_assert_cmpint(pw, ==, w);
    g_assert_cmpint(ph, ==, h);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            uint32_t p = pattern_bgrx(x, y);
            uint8_t *rgb = ppm + (y * w + x) * 3;

            g_assert_cmpuint(rgb[0], ==, (p >> 16) & 0xff);
            g_assert_cmpuint(rgb[1], ==, (p >> 8) & 0xff);
            g_assert_cmpuint(rgb[2], ==, p & 0xff);
        }
    }

    g_assert_cmphex(set_scanout(gpu, 0, 0, 0, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, rid), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    /* Gone: flushing it now fails. */
    g_assert_cmphex(flush(gpu, rid, w, h), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    qvirtio_gpu_free_backing(gpu, backing);
    qvirtio_gpu_stop(gpu);
}

/* ---- virgl ---- */

static void capset_info(QVirtioGpu *gpu, uint32_t index,
                        struct virtio_gpu_resp_capset_info *resp)
{
    struct virtio_gpu_get_capset_info cmd = { .capset_index = index };

    qvirtio_gpu_hdr_init(&cmd.hdr, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), resp,
                                    sizeof(*resp), false),
                    ==, VIRTIO_GPU_RESP_OK_CAPSET_INFO);
}

static void test_virgl_capsets(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    struct virtio_gpu_resp_capset_info info;
    struct virtio_gpu_get_capset cmd;
    struct virtio_gpu_resp_capset *resp;
    size_t resp_len;
    uint32_t num_capsets;

    g_assert_true(qvirtio_gpu_has_feature(gpu, VIRTIO_GPU_F_VIRGL));
    num_capsets = qvirtio_config_readl(gpu->vdev,
                    offsetof(struct virtio_gpu_config, num_capsets));
    g_assert_cmpuint(num_capsets, ==, 2);

    capset_info(gpu, 0, &info);
    g_assert_cmpuint(info.capset_id, ==, VIRTIO_GPU_CAPSET_VIRGL);
    g_assert_cmpuint(info.capset_max_version, ==, 1);
    g_assert_cmpuint(info.capset_max_size, ==, 308);
    capset_info(gpu, 1, &info);
    g_assert_cmpuint(info.capset_id, ==, VIRTIO_GPU_CAPSET_VIRGL2);
    g_assert_cmpuint(info.capset_max_version, ==, 2);
    g_assert_cmpuint(info.capset_max_size, >=, 1024);

    resp_len = sizeof(*resp) + info.capset_max_size;
    resp = g_malloc0(resp_len);
    cmd = (struct virtio_gpu_get_capset) {
        .capset_id = VIRTIO_GPU_CAPSET_VIRGL2, .capset_version = 2,
    };
    qvirtio_gpu_hdr_init(&cmd.hdr, VIRTIO_GPU_CMD_GET_CAPSET, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), resp, resp_len,
                                    false),
                    ==, VIRTIO_GPU_RESP_OK_CAPSET);
    /* virgl_caps_v2.max_version, then the host renderer's name. */
    g_assert_cmpuint(ldl_le_p(resp->capset_data), ==, 2);
    /*
     * Without /dev/dri, egl-headless falls back to surfaceless EGL, which
     * is llvmpipe: the capset then names it (in capitals).
     */
    if (access("/dev/dri", F_OK) != 0) {
        g_assert_nonnull(memmem(resp->capset_data, info.capset_max_size,
                                "LLVMPIPE", strlen("LLVMPIPE")));
    }
    g_free(resp);
    qvirtio_gpu_stop(gpu);
}

static void test_virgl_clear(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t ctx = 1, rid = 11, w = 32, h = 16, surf = 1;
    QVirtioGpu *gpu = start(obj, alloc);
    struct virtio_gpu_resource_create_3d c3d = {
        .resource_id = rid, .target = PIPE_TEXTURE_2D,
        .format = VIRGL_FORMAT_B8G8R8A8_UNORM,
        .bind = VIRGL_BIND_RENDER_TARGET,
        .width = w, .height = h, .depth = 1, .array_size = 1,
    };
    struct virtio_gpu_transfer_host_3d tf = {
        .box = { .x = 0, .y = 0, .z = 0, .w = w, .h = h, .d = 1 },
        .resource_id = rid, .stride = w * 4,
    };
    union { float f; uint32_t u; } red = { .f = 1.0f }, one = { .f = 1.0f };
    const uint32_t stream[] = {
        VIRGL_CMD0(VIRGL_CCMD_CREATE_OBJECT, VIRGL_OBJECT_SURFACE, 5),
        surf, rid, VIRGL_FORMAT_B8G8R8A8_UNORM, 0, 0,
        VIRGL_CMD0(VIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0, 3),
        1, 0, surf,
        VIRGL_CMD0(VIRGL_CCMD_CLEAR, 0, 8),
        PIPE_CLEAR_COLOR0, red.u, 0, 0, one.u, 0, 0, 0,
    };
    g_autofree uint32_t *pixels = g_new(uint32_t, w * h);
    uint64_t backing;
    uint32_t i;

    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, ctx, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_hdr_init(&c3d.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, ctx);
    g_assert_cmphex(qvirtio_gpu_cmd_nodata(gpu, &c3d, sizeof(c3d), false),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    backing = qvirtio_gpu_alloc_backing(gpu, w * h * 4);
    qtest_memset(gpu->qts, backing, 0x5a, w * h * 4);
    g_assert_cmphex(qvirtio_gpu_attach_backing(gpu, rid, backing, w * h * 4, 2),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                                             VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
                                             ctx, rid),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, ctx, stream,
                                          ARRAY_SIZE(stream), true),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);

    qvirtio_gpu_hdr_init(&tf.hdr, VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D, ctx);
    g_assert_cmphex(qvirtio_gpu_cmd_nodata(gpu, &tf, sizeof(tf), true),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    qtest_memread(gpu->qts, backing, pixels, w * h * 4);
    for (i = 0; i < w * h; i++) {
        /* B8G8R8A8: opaque red. */
        g_assert_cmphex(le32_to_cpu(pixels[i]), ==, 0xffff0000);
    }

    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                                             VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE,
                                             ctx, rid),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, ctx), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_free_backing(gpu, backing);
    qvirtio_gpu_stop(gpu);
}

static void test_virgl_bad_input(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = start(obj, alloc);
    const uint32_t nop[] = { 0 };

    /* Unknown contexts. */
    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, 77, nop, 1, false), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 77), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    /* Context id 0, and one in use. */
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 0, 0), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 3, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 3, 0), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    /* A resource the context does not know of. */
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                                             VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
                                             3, 4242),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* A stream virglrenderer cannot decode: an unknown command. */
    {
        const uint32_t bogus[] = { VIRGL_CMD0(250, 0, 1), 0 };

        g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, 3, bogus,
                                              ARRAY_SIZE(bogus), false),
                        ==, VIRTIO_GPU_RESP_ERR_UNSPEC);
    }
    /* The context keeps working, and goes away cleanly. */
    g_assert_cmphex(qvirtio_gpu_submit_3d(gpu, 3, nop, 1, true), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 3), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 3), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);
    qvirtio_gpu_stop(gpu);
}

static void register_virtio_gpu_test(void)
{
    qos_add_test("display-info", "virtio-gpu", test_display_info, NULL);
    qos_add_test("edid", "virtio-gpu", test_edid, NULL);
    qos_add_test("bad-input", "virtio-gpu", test_bad_input, NULL);
    qos_add_test("2d-scanout", "virtio-gpu-pci", test_2d_scanout, NULL);
    qos_add_test("virgl-capsets", "virtio-gpu-gl", test_virgl_capsets, NULL);
    qos_add_test("virgl-clear", "virtio-gpu-gl", test_virgl_clear, NULL);
    qos_add_test("virgl-bad-input", "virtio-gpu-gl", test_virgl_bad_input,
                 NULL);
}

libqos_init(register_virtio_gpu_test);
