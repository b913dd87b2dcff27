/*
 * virtio-gpu host-visible memory region
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_GPU_REGION_H
#define HW_VIRTIO_GPU_REGION_H

#include "exec/memory.h"
#include "qemu/queue.h"
#include "qemu/thread.h"
#include "qemu/timer.h"

/* The largest hostmem= accepted. */
#define VIRTIO_GPU_REGION_MAX (1ull << 40)

/*
 * Live mappings all regions of the process may hold together.  Each
 * mapping, and the gap after it, is a section of every address space
 * that sees the BAR, and an address space holds fewer than 4096
 * sections (phys_section_add()): this leaves room for the machine's
 * own.  max_mappings= picks a device's share, by default
 * VIRTIO_GPU_REGION_MAPPINGS_DEFAULT.
 */
#define VIRTIO_GPU_REGION_MAPPINGS_MAX 1800
#define VIRTIO_GPU_REGION_MAPPINGS_DEFAULT 1536

/*
 * Blobs placed over the static heap at once.  Each may split the heap's
 * mapping in three, and Linux allows a process 65530 mappings
 * (vm.max_map_count) by default.
 */
#define VIRTIO_GPU_REGION_HEAP_MAPPINGS_MAX 16384

/*
 * How long an unmap may wait for the next map, to share its flat view
 * update, before it is carried out alone.
 */
#define VIRTIO_GPU_REGION_FLUSH_DELAY_US 1000

/*
 * Called once the guest can no longer reach a mapping's memory, on the
 * main loop thread: the owner may free or recycle it then.
 */
typedef void VirtIOGPURegionRelease(void *opaque);

/* Called after unmapped mappings left the guest's reach (a flush). */
typedef void VirtIOGPURegionFlushed(void *opaque);

/* What a mapping shows: host memory, or a slice of a file descriptor. */
typedef struct VirtIOGPURegionBacking {
    void *ptr;                  /* host memory, or NULL to map @fd */
    int fd;                     /* memfd, udmabuf...; mapped shared */
    uint64_t fd_offset;
    VirtIOGPURegionRelease *release;   /* may be NULL */
    void *opaque;
} VirtIOGPURegionBacking;

typedef struct VirtIOGPURegionMapping VirtIOGPURegionMapping;
typedef struct RegionRelease RegionRelease;

typedef struct VirtIOGPURegion {
    /* The whole BAR, a power of two: reads 0, drops writes, where unmapped */
    MemoryRegion bar;
    uint64_t size;              /* what the guest may use: hostmem= */
    uint32_t max_mappings;      /* live mappings allowed: max_mappings= */
    GHashTable *by_resource;    /* resource id -> mapping */
    GTree *by_offset;           /* offset -> mapping; never overlapping */
    uint64_t mapped_bytes;

    /*
     * Unmapped, but still in the BAR until the next flush: the next map,
     * virtio_gpu_region_flush(), or the timer.  One flat view update
     * then takes them all out.
     */
    GPtrArray *detached;
    QSIMPLEQ_HEAD(, RegionRelease) removed;    /* until the commit */
    QEMUTimer *flush_timer;
    VirtIOGPURegionFlushed *flushed;
    void *flushed_opaque;

    /* Unmapped backings: a thread waits out the RCU grace period. */
    QemuThread grace_thread;
    QemuMutex lock;
    QemuCond cond;
    QSIMPLEQ_HEAD(, RegionRelease) waiting;    /* grace period running */
    QSIMPLEQ_HEAD(, RegionRelease) released;   /* to release on main loop */
    bool stopping;
    QEMUBH *release_bh;
    unsigned pending_releases;  /* unmapped, not released yet */

    /*
     * The static heap (hostmem-memdev=), or NULL: memory that backs the
     * whole region for the device's life.  Blobs with an fd are mmapped
     * over it; the guest physical map never changes for them.
     */
    HostMemoryBackend *heap;
    MemoryRegion heap_mr;       /* under every mapping, at offset 0 */
    uint8_t *heap_ptr;          /* the backend's host mapping */
    int heap_fd;
    uint64_t heap_fd_offset;
    uint64_t heap_align;        /* the backend's page size */
    unsigned heap_mappings;     /* blobs placed over the heap, slices */
    Error *heap_blocker;        /* its pages are not migrated */

    /* Slices of the heap: /dev/udmabuf, or -1 until enabled */
    int udmabuf_dev;
    uint64_t udmabuf_limit;     /* the largest udmabuf (size_limit_mb) */
    unsigned slices;            /* live */
} VirtIOGPURegion;

/*
 * Check @size for use as hostmem= and set up the region.  The BAR is
 * @size rounded up to a power of two; the guest may use @size of it.
 */
bool virtio_gpu_region_init(VirtIOGPURegion *vr, Object *owner,
                            uint64_t size, uint32_t max_mappings,
                            Error **errp);
void virtio_gpu_region_fini(VirtIOGPURegion *vr);

/*
 * Back the whole region with @heap, a shared, fd-backed memory backend
 * of the region's size (memory-backend-memfd): one RAM range that never
 * moves.  A backing with an fd is then placed over it with MAP_FIXED,
 * and unmapping puts the heap's own pages back; a pointer backing still
 * gets a subregion of its own, over the heap.
 */
bool virtio_gpu_region_use_heap(VirtIOGPURegion *vr, HostMemoryBackend *heap,
                                Error **errp);

/*
 * Slices of the heap: the heap's own pages at a range, shared as a
 * udmabuf (a dma-buf) with the renderer or a display.  They need
 * /dev/udmabuf and a heap sealed against shrinking (seal=on); a device
 * that uses them enables them at realize, where a host without them
 * fails with the reason.
 */
bool virtio_gpu_region_enable_slices(VirtIOGPURegion *vr, Error **errp);

/*
 * Give [@offset, @offset + @size) of the heap to @resource_id, checked
 * as virtio_gpu_region_map() checks a mapping, and return a udmabuf of
 * it, or -1.  The guest keeps reaching the range, the same pages.  The
 * region owns the fd and closes it when the resource is unmapped: the
 * pages stay pinned until then, and after that as long as a user holds
 * a reference of its own (a dup or an import).  @release (may be NULL)
 * runs at that unmap, at once and before the close: its user drops
 * what it made of the udmabuf, so that nothing keeps the pages pinned.
 */
int virtio_gpu_region_map_slice(VirtIOGPURegion *vr, uint32_t resource_id,
                                uint64_t offset, uint64_t size,
                                VirtIOGPURegionRelease *release,
                                void *opaque, Error **errp);
/* The largest slice the region can make: 0 where it makes none. */
uint64_t virtio_gpu_region_max_slice(VirtIOGPURegion *vr);
/* @resource_id's slice, or -1 if it has none: owned by the region. */
int virtio_gpu_region_slice_fd(VirtIOGPURegion *vr, uint32_t resource_id);

static inline bool virtio_gpu_region_enabled(VirtIOGPURegion *vr)
{
    return vr->size != 0;
}

/* virtio 1.4's VIRTIO_GPU_F_BLOB_ALIGNMENT, newer than both lines' headers */
#ifndef VIRTIO_GPU_F_BLOB_ALIGNMENT
#define VIRTIO_GPU_F_BLOB_ALIGNMENT 5
#endif
/* Its config field, blob_alignment, after struct virtio_gpu_config. */
#define VIRTIO_GPU_CONFIG_BLOB_ALIGNMENT 16

/*
 * The alignment placing a blob in the region needs, offered to the guest
 * as blob_alignment: the heap's page size (a hugepage backend's), or the
 * host's.
 */
uint64_t virtio_gpu_region_blob_alignment(VirtIOGPURegion *vr);

/*
 * Whether @value, a blob's size or a MAP_BLOB offset, keeps to that
 * alignment, if the guest negotiated it.
 */
bool virtio_gpu_region_blob_aligned(VirtIOGPURegion *vr, bool negotiated,
                                    uint64_t value);

/*
 * Whether one more mapping would pass its limit on live mappings: of a
 * backing with an fd (@fd) or of a pointer.
 */
bool virtio_gpu_region_full(VirtIOGPURegion *vr, bool fd);

/*
 * Show @backing at [@offset, @offset + @size) of the region.  Refused,
 * with the reason in @errp, unless both are host-page aligned (and so is
 * a pointer backing), the range lies inside the region and overlaps no
 * live mapping, @resource_id is not mapped yet, and the region is not
 * full.
 */
bool virtio_gpu_region_map(VirtIOGPURegion *vr, uint32_t resource_id,
                           uint64_t offset, uint64_t size,
                           const VirtIOGPURegionBacking *backing,
                           Error **errp);
/*
 * Take @resource_id's mapping out of the region.  It is unreachable for
 * new accesses at once and the range may be mapped again at once; the
 * backing's release callback runs once no access can still be under way
 * (for a backing placed over the heap, at once).
 * Returns false if @resource_id was not mapped.
 */
bool virtio_gpu_region_unmap(VirtIOGPURegion *vr, uint32_t resource_id);
/*
 * The same, but the mapping stays reachable until the region flushes:
 * at the next map, which takes it out in the same flat view update, at
 * virtio_gpu_region_flush(), or VIRTIO_GPU_REGION_FLUSH_DELAY_US from
 * now.  Only the bookkeeping changes at once: the range and the
 * resource may be mapped again.  Returns true if a mapping of
 * @resource_id leaves at that flush, unmapped now or before.  A backing
 * placed over the heap needs no flush: it leaves at once.
 */
bool virtio_gpu_region_unmap_later(VirtIOGPURegion *vr,
                                   uint32_t resource_id);
/* Carry out the unmaps still pending now. */
void virtio_gpu_region_flush(VirtIOGPURegion *vr);
/* @flushed runs after each flush that took mappings out. */
void virtio_gpu_region_set_flushed(VirtIOGPURegion *vr,
                                   VirtIOGPURegionFlushed *flushed,
                                   void *opaque);
bool virtio_gpu_region_is_mapped(VirtIOGPURegion *vr, uint32_t resource_id);
/* Unmap everything at once: device reset. */
void virtio_gpu_region_unmap_all(VirtIOGPURegion *vr);

/*
 * Read-only statistics as QOM properties on @obj (x-hostmem-mappings,
 * x-hostmem-mapped-bytes, x-hostmem-pending-releases,
 * x-hostmem-heap-mappings, x-hostmem-slices).  Tests drive the
 * region with an x-virtio-gpu-region-tester object.
 */
void virtio_gpu_region_add_properties(VirtIOGPURegion *vr, Object *obj);

static inline unsigned virtio_gpu_region_nr_mappings(VirtIOGPURegion *vr)
{
    return vr->by_resource ? g_hash_table_size(vr->by_resource) : 0;
}

#endif
