/*
 * virtio-gpu blob resources on virglrenderer
 *
 * RESOURCE_CREATE_BLOB, MAP_BLOB, UNMAP_BLOB and SET_SCANOUT_BLOB of the
 * virgl device, the memory of a blob as the host reads it, and the end
 * of a virgl resource's life: a resource the guest dropped lives on
 * until the host-visible region releases its last mapping.  See
 * docs/overview.md for who owns a blob's memory at each step.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/virtio/virtio-gpu-pixman.h"
#include "trace.h"
#include "ui/console.h"
#include "hw/virtio/virtio-gpu.h"
#include "hw/virtio/virtio-gpu-virgl.h"

#define VIRGL_RENDERER_UNSTABLE_APIS
#include <virglrenderer.h>

/* Drop a resource no longer tracked, and no longer mapped, in the renderer. */
void virtio_gpu_virgl_destroy(VirtIOGPU *g, VirglResource *r)
{
    uint32_t id = r->base.resource_id;

    trace_virtio_gpu_virgl_blob_destroy(id);
    virgl_renderer_force_ctx_0();
    virtio_gpu_virgl_detach_iov(g, id);
    virgl_renderer_resource_unref(id);
    g_free(r);
}

void virtio_gpu_virgl_create_blob(VirtIOGPU *g,
                                  struct virtio_gpu_ctrl_command *cmd)
{
    const uint32_t known_flags = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE |
                                 VIRTIO_GPU_BLOB_FLAG_USE_SHAREABLE |
                                 VIRTIO_GPU_BLOB_FLAG_USE_CROSS_DEVICE;
    struct virtio_gpu_resource_create_blob cblob;
    struct virgl_renderer_resource_create_blob_args args = { 0 };
    struct iovec *iovs = NULL;
    uint32_t niov = 0;
    VirglResource *r;
    bool host;
    int ret;

    VIRTIO_GPU_FILL_CMD(cblob);
    trace_virtio_gpu_cmd_res_create_blob(cblob.resource_id, cblob.size);

    if (!virtio_gpu_blob_enabled(g->parent_obj.conf)) {
        cmd->error = VIRTIO_GPU_RESP_ERR_UNSPEC;
        return;
    }
    if (!virtio_gpu_virgl_new_id_ok(g, cblob.resource_id, cmd, __func__)) {
        return;
    }

    switch (cblob.blob_mem) {
    case VIRTIO_GPU_BLOB_MEM_GUEST:
        host = false;
        if (cblob.blob_id) {
            cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        }
        break;
    case VIRTIO_GPU_BLOB_MEM_HOST3D:
        host = true;
        if (cblob.nr_entries) {
            cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        }
        break;
    case VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST:
        host = true;
        break;
    default:
        host = false;
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (cblob.blob_flags & ~known_flags || !cblob.size) {
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (cmd->error) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad blob: mem %u flags 0x%x "
                      "id 0x%" PRIx64 " size 0x%" PRIx64 " entries %u\n",
                      __func__, cblob.blob_mem, cblob.blob_flags,
                      cblob.blob_id, cblob.size, cblob.nr_entries);
        return;
    }
    /* The renderer's objects live in a context; guest memory needs none. */
    if (!virtio_gpu_virgl_check_ctx(g, cblob.hdr.ctx_id, !host, cmd,
                                    __func__)) {
        return;
    }
    /* Host memory counts against max_hostmem, as 2D resources do. */
    if (host && cblob.size > g->conf_max_hostmem - g->hostmem) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: blob of 0x%" PRIx64 " bytes "
                      "exceeds max_hostmem\n", __func__, cblob.size);
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return;
    }

    if (cblob.nr_entries) {
        if (virtio_gpu_create_mapping_iov(g, cblob.nr_entries, sizeof(cblob),
                                          cmd, NULL, &iovs, &niov)) {
            cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
            return;
        }
    }
    if (cblob.blob_mem != VIRTIO_GPU_BLOB_MEM_HOST3D &&
        iov_size(iovs, niov) < cblob.size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: entries cover less than the "
                      "blob's 0x%" PRIx64 " bytes\n", __func__, cblob.size);
        if (cblob.blob_mem == VIRTIO_GPU_BLOB_MEM_GUEST || niov) {
            virtio_gpu_cleanup_mapping_iov(g, iovs, niov);
            cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
            return;
        }
    }

    trace_virtio_gpu_virgl_blob_create(cblob.resource_id, cblob.hdr.ctx_id,
                                       cblob.blob_mem, cblob.blob_flags,
                                       cblob.blob_id, cblob.size);
    args.res_handle = cblob.resource_id;
    args.ctx_id = cblob.hdr.ctx_id;
    args.blob_mem = cblob.blob_mem;
    args.blob_flags = cblob.blob_flags;
    args.blob_id = cblob.blob_id;
    args.size = cblob.size;
    args.iovecs = iovs;
    args.num_iovs = niov;
    ret = virgl_renderer_resource_create_blob(&args);
    if (ret) {
        virtio_gpu_cleanup_mapping_iov(g, iovs, niov);
        virtio_gpu_virgl_failed(cmd, __func__, ret);
        return;
    }
    if (cblob.blob_mem == VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST && niov) {
        /*
         * virglrenderer 0.10.4 records these pages for the resource but
         * never hands them to its GL side, so transfers fail; attaching
         * them again does.
         */
        struct iovec *again = NULL;
        int nagain = 0;

        virgl_renderer_resource_detach_iov(cblob.resource_id, &again,
                                           &nagain);
        ret = virgl_renderer_resource_attach_iov(cblob.resource_id, iovs,
                                                 niov);
        if (ret) {
            virgl_renderer_resource_unref(cblob.resource_id);
            virtio_gpu_cleanup_mapping_iov(g, iovs, niov);
            virtio_gpu_virgl_failed(cmd, __func__, ret);
            return;
        }
    }

    r = virtio_gpu_virgl_track(g, cblob.resource_id, 0, 0, 0);
    r->blob_mem = cblob.blob_mem;
    r->blob_flags = cblob.blob_flags;
    r->ctx_id = cblob.hdr.ctx_id;
    r->base.blob_size = cblob.size;
    r->base.hostmem = host ? cblob.size : 0;
    g->hostmem += r->base.hostmem;
}
