/*
 * libqos driver for the virtio-gpu PCI devices
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_GPU_H
#define TESTS_LIBQOS_VIRTIO_GPU_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"
#include "standard-headers/linux/virtio_gpu.h"

/*
 * venus_in_process=on is the Debian 12 line's (QEMU 7.2): virglrenderer
 * 0.10.4's render server cannot share Vulkan memory with QEMU.  Debian
 * 13's virglrenderer 1.1.0 shares it, and its build runs venus only
 * through the server.
 */
#define QVIRTIO_GPU_HAS_VENUS_IN_PROCESS (QEMU_VERSION_MAJOR < 10)
/* guest_vram=on: Debian 13's device, on virglrenderer 1.0.1 or later */
#define QVIRTIO_GPU_HAS_GUEST_VRAM (QEMU_VERSION_MAJOR >= 10)
/* venus through the render server, which Debian 12 must ask for */
#if QEMU_VERSION_MAJOR < 10
#define QVIRTIO_GPU_VENUS_SERVER "venus=on,venus_in_process=off"
#define QVIRTIO_GPU_VENUS_NEEDS "venus=on needs blob=on and hostmem"
#else
#define QVIRTIO_GPU_VENUS_SERVER "venus=on"
/* QEMU 10.0's own check, before the series' */
#define QVIRTIO_GPU_VENUS_NEEDS "venus requires enabled blob and hostmem " \
    "options"
#endif
/*
 * The sandbox libvirt runs QEMU in by default.  Not on sanitizer builds:
 * LeakSanitizer's exit-time scan clones a process, which it forbids.
 */
#if defined(QEMU_SANITIZE_ADDRESS) || defined(QEMU_SANITIZE_THREAD)
#define QVIRTIO_GPU_CAN_SANDBOX 0
#else
#define QVIRTIO_GPU_CAN_SANDBOX 1
#endif
#define QVIRTIO_GPU_LIBVIRT_SANDBOX "on,obsolete=deny,elevateprivileges=deny," \
    "spawn=deny,resourcecontrol=deny"

typedef struct QVirtioGpu QVirtioGpu;
typedef struct QVirtioGpuPCI QVirtioGpuPCI;

struct QVirtioGpu {
    QVirtioDevice *vdev;
    QPCIDevice *pdev;
    QTestState *qts;
    /* Set up by qvirtio_gpu_start() */
    QGuestAllocator *alloc;
    QVirtQueue *ctrlq;
    QVirtQueue *cursorq;
    uint64_t features;
    uint64_t next_fence;
};

struct QVirtioGpuPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioGpu gpu;
};

/*
 * Negotiate VERSION_1 plus those of @features the device offers, set up
 * both queues and set DRIVER_OK.  Returns the negotiated feature set.
 */
uint64_t qvirtio_gpu_start(QVirtioGpu *gpu, QGuestAllocator *alloc,
                           uint64_t features);
void qvirtio_gpu_stop(QVirtioGpu *gpu);
bool qvirtio_gpu_has_feature(QVirtioGpu *gpu, unsigned int bit);

/*
 * Submit @cmd (@cmd_len bytes, starting with a struct virtio_gpu_ctrl_hdr)
 * on the control queue, fenced if @fence, and wait for the reply, which is
 * copied to @resp (@resp_len bytes).  Returns the reply's type.  A fenced
 * reply is checked to carry the fence flag and id.
 */
uint32_t qvirtio_gpu_cmd(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                         void *resp, size_t resp_len, bool fence);
/* The same in two steps, for a test that looks in between. */
typedef struct QVirtioGpuReq {
    uint32_t head;
    uint64_t req, rsp;
    size_t resp_len;
    uint64_t fence_id;
} QVirtioGpuReq;
void qvirtio_gpu_cmd_send(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                          size_t resp_len, bool fence, QVirtioGpuReq *r);
/* Step the clock once; true, with @resp filled, once the reply is there. */
bool qvirtio_gpu_cmd_poll(QVirtioGpu *gpu, QVirtioGpuReq *r, void *resp);

/* The same for commands whose reply is a bare header. */
uint32_t qvirtio_gpu_cmd_nodata(QVirtioGpu *gpu, void *cmd, size_t cmd_len,
                                bool fence);

/* Guest pages for resource backing. */
uint64_t qvirtio_gpu_alloc_backing(QVirtioGpu *gpu, size_t size);
void qvirtio_gpu_free_backing(QVirtioGpu *gpu, uint64_t addr);
/* RESOURCE_ATTACH_BACKING of one contiguous guest range, split in @nr. */
uint32_t qvirtio_gpu_attach_backing(QVirtioGpu *gpu, uint32_t resource_id,
                                    uint64_t addr, size_t size, unsigned nr);

/* Command helpers; each returns the reply type. */
void qvirtio_gpu_hdr_init(struct virtio_gpu_ctrl_hdr *hdr, uint32_t type,
                          uint32_t ctx_id);
/* A command whose body is just a resource id (UNREF, DETACH_BACKING...). */
uint32_t qvirtio_gpu_resource_cmd(QVirtioGpu *gpu, uint32_t type,
                                  uint32_t resource_id);
uint32_t qvirtio_gpu_ctx_create(QVirtioGpu *gpu, uint32_t ctx_id,
                                uint32_t context_init);
uint32_t qvirtio_gpu_ctx_destroy(QVirtioGpu *gpu, uint32_t ctx_id);
/* CTX_ATTACH_RESOURCE or CTX_DETACH_RESOURCE */
uint32_t qvirtio_gpu_ctx_resource(QVirtioGpu *gpu, uint32_t type,
                                  uint32_t ctx_id, uint32_t resource_id);
uint32_t qvirtio_gpu_submit_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                               const uint32_t *dw, size_t ndw, bool fence);

/*
 * RESOURCE_CREATE_BLOB with @nr_entries entries (at most 4 sent) that
 * cover @covered bytes from @guest_addr in equal parts.
 */
uint32_t qvirtio_gpu_create_blob(QVirtioGpu *gpu, uint32_t id, uint32_t ctx,
                                 uint32_t mem, uint32_t flags,
                                 uint64_t blob_id, uint64_t size,
                                 uint64_t guest_addr, uint32_t nr_entries,
                                 uint64_t covered);
uint32_t qvirtio_gpu_map_blob(QVirtioGpu *gpu, uint32_t id, uint64_t offset,
                              uint32_t *map_info);
/*
 * Have virgl make buffer object @blob_id of @size bytes in @ctx (with
 * an inline PIPE_RESOURCE_CREATE, as Mesa does), persistently and
 * coherently mappable if @mappable.
 */
void qvirtio_gpu_virgl_buffer_object(QVirtioGpu *gpu, uint32_t ctx,
                                     uint32_t blob_id, uint32_t size,
                                     bool mappable);

/*
 * CPU time the QEMU process has used so far, all threads, in ns: for
 * benchmarks that want the device's cost without the test's.
 */
uint64_t qvirtio_gpu_qemu_cpu_ns(QVirtioGpu *gpu);
/* The file descriptors the QEMU process holds, for leak checks. */
int qvirtio_gpu_qemu_fd_count(QVirtioGpu *gpu);
/* The dma-bufs among them (udmabufs the device holds, pinning pages). */
int qvirtio_gpu_qemu_dmabufs(void);
/* The dma-bufs QEMU's child processes hold (the render server's). */
int qvirtio_gpu_child_dmabufs(void);
/* QEMU's child processes and theirs (the render server and workers). */
int qvirtio_gpu_children(void);

/* screendump of the console, as RGB bytes; g_free() it. */
uint8_t *qvirtio_gpu_screendump(QVirtioGpu *gpu, int *width, int *height);

/* Load the module of x-virtio-gpu-region-tester, where there are modules. */
void qvirtio_gpu_load_tester(QTestState *qts);

/*
 * The QOM path of the x-virtio-gpu-region-tester that drives the
 * host-visible region of the device at @dev_path (properties map, unmap,
 * hold-grace-periods), made on first use.
 */
const char *qvirtio_gpu_region_tester(QTestState *qts, const char *dev_path);
/* Hold every RCU grace period back, and with them the region's releases. */
void qvirtio_gpu_hold_grace_periods(QTestState *qts, const char *dev_path,
                                    bool hold);

#endif
