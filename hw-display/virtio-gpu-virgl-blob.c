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
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
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
#include "hw/virtio/virtio-gpu-compat.h"

#define VIRGL_RENDERER_UNSTABLE_APIS
#include <virglrenderer.h>

/* Drop a resource no longer tracked, and no longer mapped, in the renderer. */
void virtio_gpu_virgl_destroy(VirtIOGPU *g, VirglResource *r)
{
    uint32_t id = r->base.resource_id;

    trace_virtio_gpu_virgl_blob_destroy(id);
    virgl_renderer_force_ctx_0();
    if (r->map) {
        virgl_renderer_resource_unmap(id);
    }
    if (r->export_fd >= 0) {
        close(r->export_fd);
    }
    virtio_gpu_virgl_detach_iov(g, id);
    virgl_renderer_resource_unref(id);
    /* What the renderer held for it counts until now. */
    g->hostmem -= r->base.hostmem;
    g_free(r);
}

/*
 * The guest dropped @r: it leaves the region and g->reslist at once, and
 * goes now or, while a mapping awaits its release, later from gl->dying.
 */
void virtio_gpu_virgl_drop(VirtIOGPU *g, VirglResource *r)
{
    uint32_t id = r->base.resource_id;

    /* Unmapped first: the guest may reuse the range once we answer. */
    virtio_gpu_region_unmap(&g->parent_obj.region, id);
    virtio_gpu_remove_resource(g, &r->base);
    if (r->region_refs) {
        /* The renderer's memory goes when the last mapping is released. */
        g_hash_table_insert(VIRTIO_GPU_GL(g)->dying, GUINT_TO_POINTER(id), r);
        return;
    }
    virtio_gpu_virgl_destroy(g, r);
}

/*
 * The region released one of the resource's mappings: no access to the
 * renderer's memory can be under way any more.  A resource the guest
 * dropped meanwhile goes now, and whatever waited for that may go on.
 */
static void virtio_gpu_virgl_blob_released(void *opaque)
{
    VirglResource *r = opaque;
    VirtIOGPU *g = r->g;
    VirtIOGPUGL *gl = VIRTIO_GPU_GL(g);

    assert(r->region_refs);
    if (--r->region_refs) {
        return;
    }
    if (g_hash_table_remove(gl->dying,
                            GUINT_TO_POINTER(r->base.resource_id))) {
        virtio_gpu_virgl_destroy(g, r);
    }
    if (gl->cmdq_suspended || VIRTIO_GPU_GL_RESET_PENDING(gl)) {
        gl->cmdq_suspended = false;
        qemu_bh_schedule(g->ctrl_bh);
    }
}

/*
 * How many bytes of a blob the host can read: the renderer's mapping or
 * exported fd, or the guest pages attached now.  The size the guest
 * declared counts for nothing here.
 */
static uint64_t virtio_gpu_virgl_blob_backed_size(VirglResource *r)
{
    if (r->map || r->export_fd >= 0) {
        return r->map_size;
    }
    return iov_size(r->iov, r->iov_cnt);
}

/*
 * Where a walk over a blob's guest pages stands, so that reading rows in
 * order costs one pass over the pages, not one per row.
 */
typedef struct VirglIovCursor {
    unsigned int idx;           /* the first page entry not wholly passed */
    uint64_t base;              /* the blob offset where it starts */
} VirglIovCursor;

/*
 * Copy @len bytes at @offset of a blob's memory into @dst: the one way
 * QEMU reads blob memory, never past what backs it.  @cur (zeroed at
 * first) speeds up reads at increasing offsets.
 */
static bool virtio_gpu_virgl_blob_read(VirglResource *r, uint64_t offset,
                                       void *dst, size_t len,
                                       VirglIovCursor *cur)
{
    uint64_t size = virtio_gpu_virgl_blob_backed_size(r);

    if (offset > size || len > size - offset) {
        return false;
    }
    if (r->map) {
        memcpy(dst, (uint8_t *)r->map + offset, len);
        return true;
    }
    if (r->export_fd >= 0) {
        return pread(r->export_fd, dst, len, offset) == len;
    }
    if (offset < cur->base) {
        *cur = (VirglIovCursor) { 0 };
    }
    while (cur->idx < r->iov_cnt &&
           offset - cur->base >= r->iov[cur->idx].iov_len) {
        cur->base += r->iov[cur->idx].iov_len;
        cur->idx++;
    }
    return iov_to_buf(r->iov + cur->idx, r->iov_cnt - cur->idx,
                      offset - cur->base, dst, len) == len;
}

/* Copy the blob's pixels in rectangle @rect into the scanout's surface. */
void virtio_gpu_virgl_scanout_update(VirtIOGPU *g, int id,
                                     const struct virtio_gpu_rect *rect)
{
    VirtIOGPUBlobScanout *bs = &VIRTIO_GPU_GL(g)->blob_scanout[id];
    struct virtio_gpu_simple_resource *res;
    VirglIovCursor cur = { 0 };
    uint32_t w, h, x, y, row;
    pixman_image_t *image;
    uint8_t *data;
    int stride;

    res = virtio_gpu_find_resource(g, bs->resource_id);
    if (!res || !bs->ds) {
        return;
    }
    image = bs->ds->image;
    data = (uint8_t *)pixman_image_get_data(image);
    stride = pixman_image_get_stride(image);
    w = pixman_image_get_width(image);
    h = pixman_image_get_height(image);
    /* Clip to the surface; all formats are 4 bytes a pixel. */
    x = MIN(rect->x, w);
    y = MIN(rect->y, h);
    w = MIN(rect->width, w - x);
    h = MIN(rect->height, h - y);
    for (row = y; row < y + h; row++) {
        uint8_t *line = data + (size_t)row * stride + (size_t)x * 4;

        /* The guest may have detached pages since: show black there. */
        if (!virtio_gpu_virgl_blob_read(virtio_gpu_virgl_res(res),
                                        bs->offset +
                                        (uint64_t)row * bs->stride +
                                        (uint64_t)x * 4, line,
                                        (size_t)w * 4, &cur)) {
            memset(line, 0, (size_t)w * 4);
        }
    }
    dpy_gfx_update(g->parent_obj.scanout[id].con, x, y, w, h);
}

void virtio_gpu_virgl_scanout_disable(VirtIOGPU *g, int id)
{
    VirtIOGPUBlobScanout *bs = &VIRTIO_GPU_GL(g)->blob_scanout[id];

    if (bs->resource_id) {
        dpy_gfx_replace_surface(g->parent_obj.scanout[id].con, NULL);
        g->hostmem -= bs->hostmem;
        memset(bs, 0, sizeof(*bs));
    }
}

/*
 * Unmap the blobs made in context @ctx_id; true while the release of one
 * of them is still to come.
 */
bool virtio_gpu_virgl_unmap_ctx_blobs(VirtIOGPU *g, uint32_t ctx_id)
{
    struct virtio_gpu_simple_resource *res;
    GHashTableIter iter;
    VirglResource *r;
    bool pending = false;

    QTAILQ_FOREACH(res, &g->reslist, next) {
        r = virtio_gpu_virgl_res(res);
        if (r->blob_mem && r->ctx_id == ctx_id) {
            virtio_gpu_region_unmap_later(&g->parent_obj.region,
                                          res->resource_id);
            /* released only after the flush, asynchronously */
            pending |= r->region_refs != 0;
        }
    }
    virtio_gpu_region_flush(&g->parent_obj.region);
    g_hash_table_iter_init(&iter, VIRTIO_GPU_GL(g)->dying);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&r)) {
        pending |= r->ctx_id == ctx_id;
    }
    return pending;
}

/*
 * Shared memory the renderer can export (venus) is mapped from its fd:
 * virglrenderer 0.10.4 cannot unmap such a blob's pointer again.
 */
static bool virtio_gpu_virgl_export_shm(VirglResource *r)
{
    uint32_t id = r->base.resource_id, fd_type;
    struct stat st;
    int fd;

    if (virgl_renderer_resource_export_blob(id, &fd_type, &fd)) {
        return false;
    }
    if (fd_type != VIRGL_RENDERER_BLOB_FD_TYPE_SHM || fstat(fd, &st)) {
        close(fd);
        return false;
    }
    r->export_fd = fd;
    r->map_size = st.st_size;
    if (virgl_renderer_resource_get_map_info(id, &r->map_info)) {
        r->map_info = VIRTIO_GPU_MAP_CACHE_CACHED;
    }
    return true;
}

/*
 * Reach a HOST3D blob's memory: from its shm fd, or the renderer maps
 * it.  0, or the renderer's error.
 */
static int virtio_gpu_virgl_blob_access(VirglResource *r)
{
    uint32_t id = r->base.resource_id;
    int ret;

    if (r->map || r->export_fd >= 0 || virtio_gpu_virgl_export_shm(r)) {
        return 0;
    }
    virgl_renderer_force_ctx_0();
    ret = virgl_renderer_resource_map(id, &r->map, &r->map_size);
    if (ret) {
        r->map = NULL;
        return ret;
    }
    ret = virgl_renderer_resource_get_map_info(id, &r->map_info);
    if (ret) {
        virgl_renderer_resource_unmap(id);
        r->map = NULL;
    }
    return ret;
}

/* What the guest asked for is a blob this device can create. */
static bool
virtio_gpu_virgl_blob_params_ok(const struct virtio_gpu_resource_create_blob
                                *cblob, bool *host)
{
    const uint32_t known_flags = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE |
                                 VIRTIO_GPU_BLOB_FLAG_USE_SHAREABLE |
                                 VIRTIO_GPU_BLOB_FLAG_USE_CROSS_DEVICE;
    bool ok = !(cblob->blob_flags & ~known_flags) && cblob->size;

    *host = false;
    switch (cblob->blob_mem) {
    case VIRTIO_GPU_BLOB_MEM_GUEST:
        ok = ok && !cblob->blob_id;
        break;
    case VIRTIO_GPU_BLOB_MEM_HOST3D:
        *host = true;
        ok = ok && !cblob->nr_entries;
        break;
    case VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST:
        *host = true;
        break;
    default:
        ok = false;
    }
    if (!ok) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad blob: mem %u flags 0x%x "
                      "id 0x%" PRIx64 " size 0x%" PRIx64 " entries %u\n",
                      __func__, cblob->blob_mem, cblob->blob_flags,
                      cblob->blob_id, cblob->size, cblob->nr_entries);
    }
    return ok;
}

/*
 * The guest pages the blob's entries name.  They must cover the blob:
 * virglrenderer 0.10.4 takes no HOST3D_GUEST blob without its pages
 * either.
 */
static bool
virtio_gpu_virgl_blob_pages(VirtIOGPU *g, struct virtio_gpu_ctrl_command *cmd,
                            struct virtio_gpu_resource_create_blob *cblob,
                            struct iovec **iovs, uint32_t *niov)
{
    *iovs = NULL;
    *niov = 0;
    if (cblob->nr_entries &&
        virtio_gpu_create_mapping_iov(g, cblob->nr_entries, sizeof(*cblob),
                                      cmd, NULL, iovs, niov)) {
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return false;
    }
    if (cblob->blob_mem != VIRTIO_GPU_BLOB_MEM_HOST3D &&
        iov_size(*iovs, *niov) < cblob->size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: entries cover less than the "
                      "blob's 0x%" PRIx64 " bytes\n", __func__, cblob->size);
        virtio_gpu_cleanup_mapping_iov(g, *iovs, *niov);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return false;
    }
    return true;
}

/* Make the renderer's resource; on failure the renderer holds nothing. */
static int
virtio_gpu_virgl_blob_create(const struct virtio_gpu_resource_create_blob
                             *cblob, struct iovec *iovs, uint32_t niov)
{
    struct virgl_renderer_resource_create_blob_args args = {
        .res_handle = cblob->resource_id,
        .ctx_id = cblob->hdr.ctx_id,
        .blob_mem = cblob->blob_mem,
        .blob_flags = cblob->blob_flags,
        .blob_id = cblob->blob_id,
        .size = cblob->size,
        .iovecs = iovs,
        .num_iovs = niov,
    };
    struct iovec *again = NULL;
    int nagain = 0;
    int ret;

    trace_virtio_gpu_virgl_blob_create(cblob->resource_id, cblob->hdr.ctx_id,
                                       cblob->blob_mem, cblob->blob_flags,
                                       cblob->blob_id, cblob->size);
    ret = virgl_renderer_resource_create_blob(&args);
    if (ret || cblob->blob_mem != VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST || !niov) {
        return ret;
    }
    /*
     * virglrenderer 0.10.4 records these pages for the resource but never
     * hands them to its GL side, so transfers fail; attaching them again
     * does.
     */
    virgl_renderer_resource_detach_iov(cblob->resource_id, &again, &nagain);
    ret = virgl_renderer_resource_attach_iov(cblob->resource_id, iovs, niov);
    if (ret) {
        virgl_renderer_resource_unref(cblob->resource_id);
    }
    return ret;
}

/*
 * Charge @r against max_hostmem.  The object behind a mappable blob may
 * be larger than the size the guest declared, and all of it is host
 * memory the guest can reach: charge what the renderer really holds.  (A
 * blob it cannot map fails MAP_BLOB later.)
 */
static bool virtio_gpu_virgl_blob_charge(VirtIOGPU *g, VirglResource *r)
{
    if (r->blob_mem == VIRTIO_GPU_BLOB_MEM_HOST3D &&
        r->blob_flags & VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE &&
        !virtio_gpu_virgl_blob_access(r)) {
        r->base.hostmem = MAX(r->base.hostmem, r->map_size);
    }
    if (r->base.hostmem > g->conf_max_hostmem - g->hostmem) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: the renderer holds 0x%" PRIx64
                      " bytes for it: beyond max_hostmem\n", __func__,
                      r->base.hostmem);
        return false;
    }
    g->hostmem += r->base.hostmem;
    return true;
}

/* Host memory still charged for blobs the guest dropped. */
static uint64_t virtio_gpu_virgl_dying_hostmem(VirtIOGPU *g)
{
    GHashTableIter iter;
    VirglResource *r;
    uint64_t bytes = 0;

    g_hash_table_iter_init(&iter, VIRTIO_GPU_GL(g)->dying);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&r)) {
        bytes += r->base.hostmem;
    }
    return bytes;
}

/* A size or offset the guest promised to align (BLOB_ALIGNMENT), or not. */
static bool virtio_gpu_virgl_blob_aligned(VirtIOGPU *g, uint64_t value,
                                          const char *what)
{
    VirtIOGPURegion *vr = &g->parent_obj.region;

    if (virtio_gpu_region_blob_aligned(vr,
            virtio_vdev_has_feature(VIRTIO_DEVICE(g),
                                    VIRTIO_GPU_F_BLOB_ALIGNMENT), value)) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "%s: %s 0x%" PRIx64 " breaks "
                  "blob_alignment 0x%" PRIx64 "\n", __func__, what, value,
                  virtio_gpu_region_blob_alignment(vr));
    return false;
}

/* Track a blob the guest created: in g->reslist from now on. */
static VirglResource *
virtio_gpu_virgl_track_blob(VirtIOGPU *g,
                            const struct virtio_gpu_resource_create_blob
                            *cblob)
{
    VirglResource *r = virtio_gpu_virgl_track(g, cblob->resource_id, 0, 0,
                                              0);

    r->blob_mem = cblob->blob_mem;
    r->blob_flags = cblob->blob_flags;
    r->ctx_id = cblob->hdr.ctx_id;
    r->base.blob_size = cblob->size;
    return r;
}

/*
 * Guest-based allocation (guest_vram=on, Debian 13's virglrenderer):
 * venus allocates host-visible memory in the region itself.  Its blob,
 * HOST3D with the memory object's blob_id, has no memory on the host
 * until MAP_BLOB: then the heap's own pages at the guest's offset, which
 * the renderer imports as a udmabuf.  Nothing is allocated for it.
 * Keyed on the property's macro, which Debian 13's patch 0037 brings
 * after this file: before it, and on Debian 12, there are no such blobs.
 */
#ifdef virtio_gpu_guest_vram_enabled
static bool
virtio_gpu_virgl_guest_vram(VirtIOGPU *g,
                            const struct virtio_gpu_resource_create_blob
                            *cblob)
{
    return virtio_gpu_guest_vram_enabled(g->parent_obj.conf) &&
           cblob->blob_mem == VIRTIO_GPU_BLOB_MEM_HOST3D && cblob->blob_id &&
           virtio_gpu_virgl_ctx_has_rings(g, cblob->hdr.ctx_id);
}

/*
 * The slice left the region: the renderer lets go of its import, which
 * detaches it from every context, so the render server closes its copy
 * and the heap's pages are no longer pinned for it.
 */
static void virtio_gpu_virgl_slice_released(void *opaque)
{
    VirglResource *r = opaque;
    uint32_t id = r->base.resource_id;

    trace_virtio_gpu_virgl_slice_release(id);
    /* Pages a guest attached go back now: the renderer forgets them. */
    r->iov = NULL;
    r->iov_cnt = 0;
    virtio_gpu_virgl_detach_iov(r->g, id);
    virgl_renderer_force_ctx_0();
    virgl_renderer_resource_unref(id);
}

/* Give the renderer a dup of the slice's udmabuf as @id's memory. */
static int virtio_gpu_virgl_import_slice(uint32_t id, int slice,
                                         uint64_t size)
{
    struct virgl_renderer_resource_import_blob_args args = {
        .res_handle = id,
        .blob_mem = VIRGL_RENDERER_BLOB_MEM_HOST3D,
        .fd_type = VIRGL_RENDERER_BLOB_FD_TYPE_DMABUF,
        .fd = qemu_dup(slice),
        .size = size,
    };
    int ret;

    if (args.fd < 0) {
        return -errno;
    }
    ret = virgl_renderer_resource_import_blob(&args);
    /* It owns the fd unless it refused the arguments (-EINVAL). */
    if (ret == -EINVAL) {
        close(args.fd);
    }
    return ret;
}

/*
 * MAP_BLOB of such a blob.  Its context gets the import before the
 * guest's vkAllocateMemory can name it: an unknown resource makes a
 * venus context fatal.
 */
static void virtio_gpu_virgl_map_slice(VirtIOGPU *g, VirglResource *r,
                                       uint64_t offset,
                                       struct virtio_gpu_ctrl_command *cmd)
{
    VirtIOGPURegion *vr = &g->parent_obj.region;
    struct virtio_gpu_resp_map_info resp = { 0 };
    uint32_t id = r->base.resource_id;
    uint64_t size = ROUND_UP(r->base.blob_size, qemu_real_host_page_size());
    Error *err = NULL;
    int slice, ret;

    /* What it imports goes to the venus context that made it. */
    if (!virtio_gpu_virgl_ctx_has_rings(g, r->ctx_id)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: context %u of resource %u is "
                      "gone\n", __func__, r->ctx_id, id);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
        return;
    }
    if (virtio_gpu_region_full(vr, true)) {
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return;
    }
    slice = virtio_gpu_region_map_slice(vr, id, offset, size,
                                        virtio_gpu_virgl_slice_released, r,
                                        &err);
    if (slice < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: %s\n", __func__,
                      error_get_pretty(err));
        error_free(err);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    ret = virtio_gpu_virgl_import_slice(id, slice, size);
    if (ret) {
        virtio_gpu_region_unmap(vr, id);
        virtio_gpu_virgl_failed(cmd, __func__, ret);
        return;
    }
    virgl_renderer_ctx_attach_resource(r->ctx_id, id);
    trace_virtio_gpu_virgl_slice_import(id, r->ctx_id, offset, size);

    /* The heap is ordinary memory, cached on both sides. */
    resp.hdr.type = VIRTIO_GPU_RESP_OK_MAP_INFO;
    resp.map_info = VIRTIO_GPU_MAP_CACHE_CACHED;
    virtio_gpu_ctrl_response(g, cmd, &resp.hdr, sizeof(resp));
}
#else
static bool
virtio_gpu_virgl_guest_vram(VirtIOGPU *g,
                            const struct virtio_gpu_resource_create_blob
                            *cblob)
{
    return false;
}

static void virtio_gpu_virgl_map_slice(VirtIOGPU *g, VirglResource *r,
                                       uint64_t offset,
                                       struct virtio_gpu_ctrl_command *cmd)
{
    g_assert_not_reached();     /* no guest_vram blobs */
}
#endif

/*
 * CREATE_BLOB of a guest_vram blob: tracked only, its memory comes at
 * MAP_BLOB.  It must fit in one slice: Mesa learns nothing of a failed
 * MAP, and its import of a resource without memory loses the device.
 */
static void
virtio_gpu_virgl_create_guest_vram(VirtIOGPU *g,
                                   struct virtio_gpu_resource_create_blob
                                   *cblob,
                                   struct virtio_gpu_ctrl_command *cmd)
{
    VirglResource *r;

    if (!(cblob->blob_flags & VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: guest_vram blob %u is not "
                      "mappable\n", __func__, cblob->resource_id);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    if (cblob->size > virtio_gpu_region_max_slice(&g->parent_obj.region)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: blob of 0x%" PRIx64 " bytes is "
                      "larger than a slice can be\n", __func__, cblob->size);
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return;
    }
    trace_virtio_gpu_virgl_blob_create(cblob->resource_id, cblob->hdr.ctx_id,
                                       cblob->blob_mem, cblob->blob_flags,
                                       cblob->blob_id, cblob->size);
    r = virtio_gpu_virgl_track_blob(g, cblob);
    r->guest_vram = true;
}

void virtio_gpu_virgl_create_blob(VirtIOGPU *g,
                                  struct virtio_gpu_ctrl_command *cmd)
{
    struct virtio_gpu_resource_create_blob cblob;
    struct iovec *iovs;
    uint32_t niov;
    VirglResource *r;
    bool host;
    int ret;

    VIRTIO_GPU_FILL_CMD(cblob);
    trace_virtio_gpu_cmd_res_create_blob(cblob.resource_id, cblob.size);

    if (!virtio_gpu_virgl_new_id_ok(g, cblob.resource_id, cmd, __func__)) {
        return;
    }
    if (!virtio_gpu_virgl_blob_params_ok(&cblob, &host) ||
        !virtio_gpu_virgl_blob_aligned(g, cblob.size, "size")) {
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    /* The renderer's objects live in a context; guest memory needs none. */
    if (!virtio_gpu_virgl_check_ctx(g, cblob.hdr.ctx_id, !host, cmd,
                                    __func__)) {
        return;
    }
    if (virtio_gpu_virgl_guest_vram(g, &cblob)) {
        virtio_gpu_virgl_create_guest_vram(g, &cblob, cmd);
        return;
    }
    /* Host memory counts against max_hostmem, as 2D resources do. */
    if (host && cblob.size > g->conf_max_hostmem - g->hostmem) {
        /* The guest gave back what is still being released: wait for it. */
        if (cblob.size - (g->conf_max_hostmem - g->hostmem) <=
            virtio_gpu_virgl_dying_hostmem(g)) {
            virtio_gpu_virgl_suspend(g, cmd, 0);
            return;
        }
        qemu_log_mask(LOG_GUEST_ERROR, "%s: blob of 0x%" PRIx64 " bytes "
                      "exceeds max_hostmem\n", __func__, cblob.size);
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return;
    }
    if (!virtio_gpu_virgl_blob_pages(g, cmd, &cblob, &iovs, &niov)) {
        return;
    }
    ret = virtio_gpu_virgl_blob_create(&cblob, iovs, niov);
    if (ret) {
        virtio_gpu_cleanup_mapping_iov(g, iovs, niov);
        virtio_gpu_virgl_failed(cmd, __func__, ret);
        return;
    }

    /* From here on the resource owns the pages. */
    r = virtio_gpu_virgl_track_blob(g, &cblob);
    r->iov = iovs;
    r->iov_cnt = niov;
    r->base.hostmem = host ? cblob.size : 0;
    if (!virtio_gpu_virgl_blob_charge(g, r)) {
        virtio_gpu_remove_resource(g, &r->base);
        r->base.hostmem = 0;        /* never charged */
        virtio_gpu_virgl_destroy(g, r);
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
}

/*
 * virglrenderer 0.10.4's render server cannot share Vulkan memory with
 * QEMU; 1.0 fixed that (and brought VIRGL_CHECK_VERSION).
 */
static void virtio_gpu_virgl_venus_hint(VirtIOGPU *g, VirglResource *r)
{
#ifndef VIRGL_CHECK_VERSION
    if (virtio_gpu_virgl_ctx_has_rings(g, r->ctx_id) &&
        !virtio_gpu_venus_in_process(g->parent_obj.conf)) {
        error_report_once("venus: virglrenderer 0.10.4's render server "
                          "cannot share Vulkan memory with QEMU, so "
                          "vkMapMemory fails in the guest; "
                          "venus_in_process=on runs venus in QEMU's "
                          "process, where it works");
    }
#endif
}

void virtio_gpu_virgl_map_blob(VirtIOGPU *g,
                               struct virtio_gpu_ctrl_command *cmd)
{
    VirtIOGPURegion *vr = &g->parent_obj.region;
    struct virtio_gpu_resource_map_blob mblob;
    struct virtio_gpu_resp_map_info resp = { 0 };
    VirtIOGPURegionBacking backing = { 0 };
    struct virtio_gpu_simple_resource *res;
    Error *err = NULL;
    VirglResource *r;
    uint64_t size;
    int ret;

    VIRTIO_GPU_FILL_CMD(mblob);
    trace_virtio_gpu_cmd_res_map_blob(mblob.resource_id, mblob.offset);

    if (!virtio_gpu_region_enabled(vr)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: no host-visible region\n",
                      __func__);
        cmd->error = VIRTIO_GPU_RESP_ERR_UNSPEC;
        return;
    }
    res = virtio_gpu_virgl_get_resource(g, mblob.resource_id, cmd, __func__);
    if (!res) {
        return;
    }
    r = virtio_gpu_virgl_res(res);
    /* Only host memory the renderer can map goes into the region. */
    if (r->blob_mem != VIRTIO_GPU_BLOB_MEM_HOST3D ||
        !(r->blob_flags & VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: resource %u is not mappable\n",
                      __func__, mblob.resource_id);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    if (!virtio_gpu_virgl_blob_aligned(g, mblob.offset, "offset")) {
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    if (r->guest_vram) {
        virtio_gpu_virgl_map_slice(g, r, mblob.offset, cmd);
        return;
    }

    ret = virtio_gpu_virgl_blob_access(r);
    if (ret) {
        virtio_gpu_virgl_venus_hint(g, r);
        virtio_gpu_virgl_failed(cmd, __func__, ret);
        return;
    }
    /* Shared memory goes in by its fd, over the heap if there is one. */
    if (virtio_gpu_region_full(vr, !r->map)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: %u blobs mapped, no more\n",
                      __func__, virtio_gpu_region_nr_mappings(vr));
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return;
    }

    /* The guest reserved whole pages; the renderer must cover them. */
    size = ROUND_UP(res->blob_size, qemu_real_host_page_size());
    if (r->map_size < size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: renderer mapped 0x%" PRIx64
                      " of 0x%" PRIx64 " bytes\n", __func__, r->map_size,
                      size);
        cmd->error = VIRTIO_GPU_RESP_ERR_UNSPEC;
        return;
    }
    backing.ptr = r->map;
    backing.fd = r->export_fd;
    backing.release = virtio_gpu_virgl_blob_released;
    backing.opaque = r;
    if (!virtio_gpu_region_map(vr, mblob.resource_id, mblob.offset, size,
                               &backing, &err)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: %s\n", __func__,
                      error_get_pretty(err));
        error_free(err);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return;
    }
    r->region_refs++;

    resp.hdr.type = VIRTIO_GPU_RESP_OK_MAP_INFO;
    resp.map_info = r->map_info;
    virtio_gpu_ctrl_response(g, cmd, &resp.hdr, sizeof(resp));
}

/*
 * Show a blob on a scanout.  Without dma-bufs (llvmpipe, or any display
 * that cannot import them) the pixels are copied into a 2D surface,
 * from the renderer's mapping or the guest pages, on every flush.
 */
/*
 * The frame lies inside what backs the blob: the last pixel of the last
 * line inside the size the blob declared, and inside what really backs
 * it (which may be smaller).
 */
static bool
virtio_gpu_virgl_scanout_blob_ok(VirglResource *r,
                                 struct virtio_gpu_set_scanout_blob *ss,
                                 struct virtio_gpu_ctrl_command *cmd)
{
    uint64_t end = ss->offsets[0] +
                   (uint64_t)ss->strides[0] * (ss->height - 1) +
                   (uint64_t)ss->width * 4;
    int ret;

    /* A guest_vram blob's memory is heap pages QEMU does not read. */
    if (!r->blob_mem || r->guest_vram ||
        !virtio_gpu_get_pixman_format(ss->format) ||
        !ss->width || !ss->height || !ss->r.width || !ss->r.height ||
        (uint64_t)ss->r.x + ss->r.width > ss->width ||
        (uint64_t)ss->r.y + ss->r.height > ss->height ||
        ss->strides[0] < (uint64_t)ss->width * 4 ||
        end > r->base.blob_size) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad scanout blob: res %u "
                      "format %u %ux%u stride %u offset %u\n", __func__,
                      ss->resource_id, ss->format, ss->width, ss->height,
                      ss->strides[0], ss->offsets[0]);
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return false;
    }
    if (r->blob_mem == VIRTIO_GPU_BLOB_MEM_HOST3D) {
        ret = virtio_gpu_virgl_blob_access(r);
        if (ret) {
            virtio_gpu_virgl_failed(cmd, __func__, ret);
            return false;
        }
    }
    if (end > virtio_gpu_virgl_blob_backed_size(r)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: scanout ends at 0x%" PRIx64
                      ", resource %u has 0x%" PRIx64 " bytes\n", __func__,
                      end, ss->resource_id,
                      virtio_gpu_virgl_blob_backed_size(r));
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        return false;
    }
    return true;
}

/*
 * Give the scanout a copy surface for the blob.  It is host memory the
 * guest made us allocate: it counts against max_hostmem while shown.
 */
static bool
virtio_gpu_virgl_scanout_blob_show(VirtIOGPU *g,
                                   struct virtio_gpu_set_scanout_blob *ss,
                                   struct virtio_gpu_ctrl_command *cmd)
{
    VirtIOGPUBlobScanout *bs = &VIRTIO_GPU_GL(g)->blob_scanout[ss->scanout_id];
    struct virtio_gpu_scanout *scanout;
    uint64_t surface_bytes = (uint64_t)ss->width * ss->height * 4;
    pixman_image_t *image;

    if (surface_bytes > g->conf_max_hostmem - (g->hostmem - bs->hostmem)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: a %ux%u surface is beyond "
                      "max_hostmem\n", __func__, ss->width, ss->height);
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return false;
    }
    image = pixman_image_create_bits(virtio_gpu_get_pixman_format(ss->format),
                                     ss->width, ss->height, NULL, 0);
    if (!image) {
        cmd->error = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        return false;
    }
    scanout = &g->parent_obj.scanout[ss->scanout_id];
    dpy_gl_scanout_disable(scanout->con);
    g->hostmem += surface_bytes - bs->hostmem;
    bs->hostmem = surface_bytes;
    bs->ds = qemu_create_displaysurface_pixman(image);
    pixman_image_unref(image);
    dpy_gfx_replace_surface(scanout->con, bs->ds);
    bs->resource_id = ss->resource_id;
    bs->offset = ss->offsets[0];
    bs->stride = ss->strides[0];
    scanout->resource_id = ss->resource_id;
    scanout->width = ss->width;
    scanout->height = ss->height;
    return true;
}

void virtio_gpu_virgl_set_scanout_blob(VirtIOGPU *g,
                                       struct virtio_gpu_ctrl_command *cmd)
{
    struct virtio_gpu_set_scanout_blob ss;
    struct virtio_gpu_simple_resource *res;
    struct virtio_gpu_scanout *scanout;

    VIRTIO_GPU_FILL_CMD(ss);
    trace_virtio_gpu_cmd_set_scanout_blob(ss.scanout_id, ss.resource_id,
                                          ss.r.width, ss.r.height, ss.r.x,
                                          ss.r.y);
    if (ss.scanout_id >= g->parent_obj.conf.max_outputs) {
        cmd->error = VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
        return;
    }
    scanout = &g->parent_obj.scanout[ss.scanout_id];
    if (!ss.resource_id) {
        virtio_gpu_virgl_scanout_disable(g, ss.scanout_id);
        dpy_gl_scanout_disable(scanout->con);
        scanout->resource_id = 0;
        return;
    }
    res = virtio_gpu_virgl_get_resource(g, ss.resource_id, cmd, __func__);
    if (!res ||
        !virtio_gpu_virgl_scanout_blob_ok(virtio_gpu_virgl_res(res), &ss,
                                          cmd) ||
        !virtio_gpu_virgl_scanout_blob_show(g, &ss, cmd)) {
        return;
    }
    g->parent_obj.enable = 1;
    virtio_gpu_virgl_scanout_update(g, ss.scanout_id, &ss.r);
}

/*
 * UNMAP of a blob that is not mapped succeeds: Linux sends it for every
 * blob it reserved a range for, also when MAP_BLOB failed, and the
 * state it asks for holds.
 */
void virtio_gpu_virgl_unmap_blob(VirtIOGPU *g,
                                 struct virtio_gpu_ctrl_command *cmd)
{
    struct virtio_gpu_resource_unmap_blob ublob;

    VIRTIO_GPU_FILL_CMD(ublob);
    trace_virtio_gpu_cmd_res_unmap_blob(ublob.resource_id);

    if (!virtio_gpu_virgl_get_resource(g, ublob.resource_id, cmd, __func__)) {
        return;
    }
    /*
     * Answered once the mapping is out of reach: usually with the next
     * MAP_BLOB, in one flat view update.  A fence must not retire first.
     */
    if (!virtio_gpu_region_unmap_later(&g->parent_obj.region,
                                       ublob.resource_id)) {
        return;                 /* not mapped: nothing to wait for */
    }
    if (cmd->cmd_hdr.flags & VIRTIO_GPU_FLAG_FENCE) {
        virtio_gpu_region_flush(&g->parent_obj.region);
        return;
    }
    cmd->held = true;
}
