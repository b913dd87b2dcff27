/*
 * The parts of the virtio-gpu DRM uAPI (Linux's
 * include/uapi/drm/virtgpu_drm.h) the in-guest programs use, so that
 * they build without the kernel's or libdrm's headers.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */
#ifndef GUEST_VIRTGPU_UAPI_H
#define GUEST_VIRTGPU_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

#define DRM_IOCTL_BASE      'd'
#define DRM_COMMAND_BASE    0x40
#define DRM_IOWR(nr, type)  _IOWR(DRM_IOCTL_BASE, nr, type)
#define DRM_IOW(nr, type)   _IOW(DRM_IOCTL_BASE, nr, type)

struct drm_gem_close { uint32_t handle, pad; };
#define DRM_IOCTL_GEM_CLOSE DRM_IOW(0x09, struct drm_gem_close)

struct drm_virtgpu_map { uint64_t offset; uint32_t handle, pad; };
struct drm_virtgpu_execbuffer {
    uint32_t flags, size;
    uint64_t command, bo_handles;
    uint32_t num_bo_handles;
    int32_t fence_fd;
    uint32_t ring_idx, pad;
};
struct drm_virtgpu_getparam { uint64_t param, value; };
struct drm_virtgpu_resource_create {
    uint32_t target, format, bind, width, height, depth, array_size,
             last_level, nr_samples, flags, bo_handle, res_handle, size,
             stride;
};
struct drm_virtgpu_3d_box { uint32_t x, y, z, w, h, d; };
struct drm_virtgpu_3d_transfer {
    uint32_t bo_handle;
    struct drm_virtgpu_3d_box box;
    uint32_t level, offset, stride, layer_stride;
};
struct drm_virtgpu_3d_wait { uint32_t handle, flags; };
struct drm_virtgpu_resource_create_blob {
    uint32_t blob_mem, blob_flags, bo_handle, res_handle;
    uint64_t size;
    uint32_t pad, cmd_size;
    uint64_t cmd, blob_id;
};
struct drm_virtgpu_get_caps {
    uint32_t cap_set_id, cap_set_ver;
    uint64_t addr;
    uint32_t size, pad;
};
struct drm_virtgpu_context_set_param { uint64_t param, value; };
struct drm_virtgpu_context_init {
    uint32_t num_params, pad;
    uint64_t ctx_set_params;
};

#define VIRTGPU_IOCTL(nr, type) DRM_IOWR(DRM_COMMAND_BASE + (nr), type)
#define IOCTL_MAP              VIRTGPU_IOCTL(0x01, struct drm_virtgpu_map)
#define IOCTL_EXECBUFFER       VIRTGPU_IOCTL(0x02, \
                                             struct drm_virtgpu_execbuffer)
#define IOCTL_GETPARAM         VIRTGPU_IOCTL(0x03, \
                                             struct drm_virtgpu_getparam)
#define IOCTL_RESOURCE_CREATE  VIRTGPU_IOCTL(0x04, \
                                    struct drm_virtgpu_resource_create)
#define IOCTL_TRANSFER_FROM_HOST VIRTGPU_IOCTL(0x06, \
                                    struct drm_virtgpu_3d_transfer)
#define IOCTL_TRANSFER_TO_HOST VIRTGPU_IOCTL(0x07, \
                                             struct drm_virtgpu_3d_transfer)
#define IOCTL_WAIT             VIRTGPU_IOCTL(0x08, struct drm_virtgpu_3d_wait)
#define IOCTL_CREATE_BLOB      VIRTGPU_IOCTL(0x0a, \
                                    struct drm_virtgpu_resource_create_blob)
#define IOCTL_CONTEXT_INIT     VIRTGPU_IOCTL(0x0b, \
                                             struct drm_virtgpu_context_init)
#define IOCTL_GET_CAPS         VIRTGPU_IOCTL(0x09, struct drm_virtgpu_get_caps)

enum {
    PARAM_3D_FEATURES = 1, PARAM_CAPSET_QUERY_FIX, PARAM_RESOURCE_BLOB,
    PARAM_HOST_VISIBLE, PARAM_CROSS_DEVICE, PARAM_CONTEXT_INIT,
    PARAM_SUPPORTED_CAPSET_IDS,
};
#define CONTEXT_PARAM_CAPSET_ID 1
#define CONTEXT_PARAM_NUM_RINGS 2
#define EXECBUF_FENCE_FD_OUT 0x02
#define EXECBUF_RING_IDX     0x04
#define CAPSET_VIRGL  1
#define CAPSET_VIRGL2 2
#define CAPSET_VENUS  4
#define BLOB_MEM_GUEST  1
#define BLOB_MEM_HOST3D 2
#define BLOB_FLAG_MAPPABLE 1

#endif
