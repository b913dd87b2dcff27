/*
 * virtio-gpu virgl device: what its command dispatch
 * (virtio-gpu-virgl.c) and its blob code (virtio-gpu-virgl-blob.c) share
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_GPU_VIRGL_H
#define HW_VIRTIO_GPU_VIRGL_H

#include "qemu/uuid.h"
#include "hw/virtio/virtio-gpu.h"

/* A virgl resource as QEMU tracks it: in g->reslist, by its base. */
typedef struct VirglResource {
    struct virtio_gpu_simple_resource base;
    VirtIOGPU *g;
    /* blobs only */
    uint32_t blob_mem;          /* 0: not a blob */
    uint32_t blob_flags;
    uint32_t ctx_id;
    void *map;                  /* the renderer's mapping, kept until unref */
    uint64_t map_size;
    uint32_t map_info;
    int export_fd;              /* or the shm fd it exported; -1 if none */
    struct iovec *iov;          /* guest pages (held by the renderer) */
    unsigned int iov_cnt;
    /* guest_vram=on: venus' memory, a slice of the heap once mapped */
    bool guest_vram;
    /* RESOURCE_ASSIGN_UUID: made once, then stable */
    QemuUUID uuid;
    bool has_uuid;
    unsigned region_refs;      /* region mappings not released yet */
} VirglResource;

static inline VirglResource *
virtio_gpu_virgl_res(struct virtio_gpu_simple_resource *res)
{
    return container_of(res, VirglResource, base);
}

/* virtio-gpu-virgl.c: resources, contexts, errors */
struct virtio_gpu_simple_resource *
virtio_gpu_virgl_get_resource(VirtIOGPU *g, uint32_t resource_id,
                              struct virtio_gpu_ctrl_command *cmd,
                              const char *caller);
bool virtio_gpu_virgl_new_id_ok(VirtIOGPU *g, uint32_t resource_id,
                                struct virtio_gpu_ctrl_command *cmd,
                                const char *caller);
VirglResource *virtio_gpu_virgl_track(VirtIOGPU *g, uint32_t resource_id,
                                      uint32_t format, uint32_t width,
                                      uint32_t height);
void virtio_gpu_virgl_detach_iov(VirtIOGPU *g, uint32_t resource_id);
bool virtio_gpu_virgl_ctx_has_rings(VirtIOGPU *g, uint32_t ctx_id);
bool virtio_gpu_virgl_check_ctx(VirtIOGPU *g, uint32_t ctx_id, bool allow_0,
                                struct virtio_gpu_ctrl_command *cmd,
                                const char *caller);
void virtio_gpu_virgl_failed(struct virtio_gpu_ctrl_command *cmd,
                             const char *caller, int ret);
/* Hold @cmd at the head of the queue until blob memory is released. */
void virtio_gpu_virgl_suspend(VirtIOGPU *g, struct virtio_gpu_ctrl_command *cmd,
                              uint32_t resource_id);

/* virtio-gpu-virgl-blob.c */
void virtio_gpu_virgl_destroy(VirtIOGPU *g, VirglResource *r);
void virtio_gpu_virgl_drop(VirtIOGPU *g, VirglResource *r);
void virtio_gpu_virgl_scanout_update(VirtIOGPU *g, int id,
                                     const struct virtio_gpu_rect *rect);
void virtio_gpu_virgl_scanout_disable(VirtIOGPU *g, int id);
bool virtio_gpu_virgl_unmap_ctx_blobs(VirtIOGPU *g, uint32_t ctx_id);
void virtio_gpu_virgl_create_blob(VirtIOGPU *g,
                                  struct virtio_gpu_ctrl_command *cmd);
void virtio_gpu_virgl_map_blob(VirtIOGPU *g,
                               struct virtio_gpu_ctrl_command *cmd);
void virtio_gpu_virgl_set_scanout_blob(VirtIOGPU *g,
                                       struct virtio_gpu_ctrl_command *cmd);
void virtio_gpu_virgl_unmap_blob(VirtIOGPU *g,
                                 struct virtio_gpu_ctrl_command *cmd);

#endif
