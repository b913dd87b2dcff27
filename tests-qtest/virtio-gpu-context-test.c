/*
 * qtests for virgl context init on virtio-gpu-gl-pci: capsets, contexts
 * of a given capset (virgl2, and venus with venus=on), and fences on a
 * context's rings.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-gpu.h"
#include "standard-headers/linux/virtio_config.h"

#define VIRTIO_GPU_CAPSET_VENUS 4
#define GFXSTREAM 3

#define F(bit) (1ull << (bit))
#define CTX_FEATURES (F(VIRTIO_GPU_F_VIRGL) | F(VIRTIO_GPU_F_CONTEXT_INIT))

static uint32_t capset_info(QVirtioGpu *gpu, uint32_t index,
                            struct virtio_gpu_resp_capset_info *resp)
{
    struct virtio_gpu_get_capset_info cmd = { .capset_index = index };

    qvirtio_gpu_hdr_init(&cmd.hdr, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0);
    return qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), resp, sizeof(*resp),
                           false);
}

static uint32_t get_capset(QVirtioGpu *gpu, uint32_t id, uint32_t version,
                           void *data, size_t size)
{
    struct virtio_gpu_get_capset cmd = {
        .capset_id = id, .capset_version = version,
    };
    g_autofree struct virtio_gpu_resp_capset *resp =
        g_malloc0(sizeof(*resp) + size);
    uint32_t type;

    qvirtio_gpu_hdr_init(&cmd.hdr, VIRTIO_GPU_CMD_GET_CAPSET, 0);
    type = qvirtio_gpu_cmd(gpu, &cmd, sizeof(cmd), resp,
                           sizeof(*resp) + size, false);
    memcpy(data, resp->capset_data, size);
    return type;
}

/*
 * A fenced submit on ring @ring of @ctx, of one no-op dword (virgl) or
 * of nothing (venus); checks the echo.
 */
static uint32_t ring_submit(QVirtioGpu *gpu, uint32_t ctx, uint32_t ring,
                            bool nop)
{
    struct {
        struct virtio_gpu_cmd_submit cs;
        uint32_t nop;
    } c = { .cs.size = nop ? 4 : 0 };
    struct virtio_gpu_ctrl_hdr resp;
    uint32_t type;

    qvirtio_gpu_hdr_init(&c.cs.hdr, VIRTIO_GPU_CMD_SUBMIT_3D, ctx);
    c.cs.hdr.flags = VIRTIO_GPU_FLAG_INFO_RING_IDX;
    c.cs.hdr.ring_idx = ring;
    type = qvirtio_gpu_cmd(gpu, &c, sizeof(c.cs) + c.cs.size, &resp,
                           sizeof(resp), true);
    g_assert_cmphex(resp.flags & VIRTIO_GPU_FLAG_INFO_RING_IDX, ==,
                    VIRTIO_GPU_FLAG_INFO_RING_IDX);
    g_assert_cmpuint(resp.ring_idx, ==, ring);
    return type;
}

static void test_context_init(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;
    struct virtio_gpu_resp_capset_info info;
    uint32_t caps[4];
    int ring;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, CTX_FEATURES), ==,
                    CTX_FEATURES | F(VIRTIO_F_VERSION_1));

    /* virgl and virgl2 only: index 2 and venus do not exist here */
    g_assert_cmpuint(qvirtio_config_readl(gpu->vdev,
                     offsetof(struct virtio_gpu_config, num_capsets)),
                     ==, 2);
    g_assert_cmphex(capset_info(gpu, 2, &info), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(get_capset(gpu, VIRTIO_GPU_CAPSET_VENUS, 0, caps,
                               sizeof(caps)),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(get_capset(gpu, VIRTIO_GPU_CAPSET_VIRGL2, 3, caps,
                               sizeof(caps)),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);

    /* Contexts of the capsets offered, and only those */
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 1, VIRTIO_GPU_CAPSET_VIRGL2),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 2, VIRTIO_GPU_CAPSET_VIRGL),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 3, GFXSTREAM), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 3, VIRTIO_GPU_CAPSET_VENUS),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);

    /* Fences on rings: each ring answers with its index */
    for (ring = 0; ring < 64; ring += 21) {
        g_assert_cmphex(ring_submit(gpu, 1, ring, true), ==,
                        VIRTIO_GPU_RESP_OK_NODATA);
    }
    g_assert_cmphex(ring_submit(gpu, 2, 63, true), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(ring_submit(gpu, 1, 64, true), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(ring_submit(gpu, 9, 1, true), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID);

    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 1), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 2), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

/* A driver that did not negotiate context init cannot use it. */
static void test_no_context_init(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;

    qvirtio_gpu_start(gpu, alloc, F(VIRTIO_GPU_F_VIRGL));
    g_assert_false(qvirtio_gpu_has_feature(gpu, VIRTIO_GPU_F_CONTEXT_INIT));
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 1, VIRTIO_GPU_CAPSET_VIRGL2),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 1, 0), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(ring_submit(gpu, 1, 0, true), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 1), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

/* venus=on: the capset, and a venus context with fences on its rings. */
static void test_venus(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint64_t feats = CTX_FEATURES | F(VIRTIO_GPU_F_RESOURCE_BLOB);
    QVirtioGpu *gpu = obj;
    struct virtio_gpu_resp_capset_info info;
    uint32_t caps[2], vk;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, feats) & feats, ==, feats);
    g_assert_cmpuint(qvirtio_config_readl(gpu->vdev,
                     offsetof(struct virtio_gpu_config, num_capsets)),
                     ==, 3);
    g_assert_cmphex(capset_info(gpu, 2, &info), ==,
                    VIRTIO_GPU_RESP_OK_CAPSET_INFO);
    g_assert_cmpuint(info.capset_id, ==, VIRTIO_GPU_CAPSET_VENUS);
    g_assert_cmpuint(info.capset_max_size, >=, 156);
    g_assert_cmphex(get_capset(gpu, VIRTIO_GPU_CAPSET_VENUS, 0, caps,
                               sizeof(caps)),
                    ==, VIRTIO_GPU_RESP_OK_CAPSET);
    /* wire format 0 (virglrenderer 0.10.4) or 1 (1.x), Vulkan 1.3.x */
    g_assert_cmpuint(le32_to_cpu(caps[0]), <=, 1);
    vk = le32_to_cpu(caps[1]);
    g_assert_cmpuint(vk >> 22, ==, 1);
    g_assert_cmpuint((vk >> 12) & 0x3ff, >=, 3);

    /* A venus context, through the render server */
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, VIRTIO_GPU_CAPSET_VENUS),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(ring_submit(gpu, 5, 0, false), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(ring_submit(gpu, 5, 0, false), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    /* its worker runs in the server, a child of QEMU's */
    g_assert_cmpint(qvirtio_gpu_children(), >=, 1);

    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 5), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_stop(gpu);
}

static void register_virtio_gpu_context_test(void)
{
    qos_add_test("context-init", "virtio-gpu-gl", test_context_init, NULL);
    qos_add_test("no-context-init", "virtio-gpu-gl", test_no_context_init,
                 NULL);
    qos_add_test("venus", "virtio-gpu-venus", test_venus, NULL);
}

libqos_init(register_virtio_gpu_context_test);
