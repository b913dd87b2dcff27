/*
 * virtio-gpu host-visible memory region
 *
 * The region is a PCI BAR the guest driver carves up itself; the device
 * places blob memory at the offsets it is told to.  This file owns that
 * BAR and every mapping in it.  See docs/hostmem.md for the design.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/host-utils.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object.h"
#include "hw/core/cpu.h"
#include "hw/virtio/virtio-gpu-compat.h"
#include "hw/virtio/virtio-gpu-region.h"
#include "trace.h"
#ifdef CONFIG_LINUX
#include <sys/ioctl.h>
#include "standard-headers/linux/udmabuf.h"
#endif

/*
 * Where a mapping is.  A subregion is detached at unmap and goes at the
 * next flush; a backing placed over the heap, or a slice, goes at unmap.
 */
typedef enum MappingState {
    MAPPING_NEW,
    MAPPING_SUBREGION,          /* a subregion of the BAR of its own */
    MAPPING_FIXED,              /* mmapped over the heap */
    MAPPING_SLICE,              /* the heap's own pages, and a udmabuf */
    MAPPING_DETACHED,           /* unmapped, in the BAR until the flush */
    MAPPING_GONE,
} MappingState;

static const char *const region_state_names[] = {
    [MAPPING_NEW] = "new",
    [MAPPING_SUBREGION] = "subregion",
    [MAPPING_FIXED] = "fixed",
    [MAPPING_SLICE] = "slice",
    [MAPPING_DETACHED] = "detached",
    [MAPPING_GONE] = "gone",
};

struct VirtIOGPURegionMapping {
    MappingState state;
    /*
     * The region is its own QOM owner, so the flat views that still
     * route to it keep it alive; the last one to go frees the mapping.
     */
    MemoryRegion mr;
    uint32_t resource_id;
    uint64_t offset;
    uint64_t size;
    void *fd_map;               /* our own mmap of an fd backing */
    int dmabuf;                 /* a slice's udmabuf */
    VirtIOGPURegionRelease *release;
    void *opaque;
};

static void region_set_state(VirtIOGPURegionMapping *m, MappingState to)
{
    static const uint8_t allowed[] = {
        [MAPPING_NEW] = 1 << MAPPING_SUBREGION | 1 << MAPPING_FIXED |
                        1 << MAPPING_SLICE,
        [MAPPING_SUBREGION] = 1 << MAPPING_DETACHED,
        [MAPPING_FIXED] = 1 << MAPPING_GONE,
        [MAPPING_SLICE] = 1 << MAPPING_GONE,
        [MAPPING_DETACHED] = 1 << MAPPING_GONE,
    };

    assert(allowed[m->state] & (1 << to));
    trace_virtio_gpu_region_state(m->resource_id, m->offset,
                                  region_state_names[m->state],
                                  region_state_names[to]);
    m->state = to;
}

/* Live mappings of all regions: see VIRTIO_GPU_REGION_MAPPINGS_MAX. */
static unsigned region_live_mappings;

/* A backing to give back once no access to it can be under way. */
typedef struct RegionRelease {
    uint32_t resource_id;
    VirtIOGPURegionRelease *release;
    void *opaque;
    QSIMPLEQ_ENTRY(RegionRelease) next;
} RegionRelease;

static uint64_t region_unmapped_read(void *opaque, hwaddr addr,
                                     unsigned size)
{
    trace_virtio_gpu_region_unmapped_access(addr, size, false);
    return 0;
}

static void region_unmapped_write(void *opaque, hwaddr addr, uint64_t val,
                                  unsigned size)
{
    trace_virtio_gpu_region_unmapped_access(addr, size, true);
}

static const MemoryRegionOps region_unmapped_ops = {
    .read = region_unmapped_read,
    .write = region_unmapped_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

static gint region_offset_cmp(gconstpointer a, gconstpointer b,
                              gpointer unused)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

typedef struct RegionRange {
    uint64_t offset;
    uint64_t size;
} RegionRange;

/* g_tree_search() callback: 0 where a live mapping overlaps the range. */
static gint region_overlap_search(gconstpointer key, gconstpointer data)
{
    const VirtIOGPURegionMapping *m =
        container_of(key, VirtIOGPURegionMapping, offset);
    const RegionRange *r = data;

    if (m->offset + m->size <= r->offset) {
        return 1;               /* look at higher offsets */
    }
    if (r->offset + r->size <= m->offset) {
        return -1;
    }
    return 0;
}

/* On the main loop: run the release callbacks whose grace period ended. */
static void region_release_bh(void *opaque)
{
    VirtIOGPURegion *vr = opaque;
    RegionRelease *r;

    for (;;) {
        WITH_QEMU_LOCK_GUARD(&vr->lock) {
            r = QSIMPLEQ_FIRST(&vr->released);
            if (r) {
                QSIMPLEQ_REMOVE_HEAD(&vr->released, next);
            }
        }
        if (!r) {
            return;
        }
        trace_virtio_gpu_region_release(r->resource_id);
        if (r->release) {
            r->release(r->opaque);
        }
        vr->pending_releases--;
        g_free(r);
    }
}

/*
 * Waits out an RCU grace period for each batch of unmapped backings:
 * after it, no access that could have seen them is still under way.
 * The vCPUs were kicked at unmap time, so this is quick.
 */
static void *region_grace_thread(void *opaque)
{
    VirtIOGPURegion *vr = opaque;
    QSIMPLEQ_HEAD(, RegionRelease) batch;

    qemu_mutex_lock(&vr->lock);
    for (;;) {
        while (QSIMPLEQ_EMPTY(&vr->waiting) && !vr->stopping) {
            qemu_cond_wait(&vr->cond, &vr->lock);
        }
        if (QSIMPLEQ_EMPTY(&vr->waiting)) {
            break;
        }
        QSIMPLEQ_INIT(&batch);
        QSIMPLEQ_CONCAT(&batch, &vr->waiting);
        qemu_mutex_unlock(&vr->lock);

        synchronize_rcu();

        qemu_mutex_lock(&vr->lock);
        QSIMPLEQ_CONCAT(&vr->released, &batch);
        qemu_bh_schedule(vr->release_bh);
    }
    qemu_mutex_unlock(&vr->lock);
    return NULL;
}

/*
 * The region's last reference is gone, possibly on the RCU thread: its
 * backing was released already; drop our own mmap of an fd, if any.
 */
static void region_mapping_free(void *obj)
{
    VirtIOGPURegionMapping *m = container_of(obj, VirtIOGPURegionMapping,
                                             mr);

    region_set_state(m, MAPPING_GONE);
    if (m->fd_map) {
        munmap(m->fd_map, m->size);
    }
    g_free(m);
}

/*
 * Put the heap's own pages back at [@offset, @offset + @size): the same
 * file at the same place, so the guest finds what it left there.
 */
static bool region_restore_heap(VirtIOGPURegion *vr, uint64_t offset,
                                uint64_t size)
{
    if (mmap(vr->heap_ptr + offset, size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, vr->heap_fd,
             vr->heap_fd_offset + offset) == MAP_FAILED) {
        error_report("virtio-gpu: cannot map the heap back at 0x%" PRIx64
                     ", the blob there stays: %s", offset, strerror(errno));
        return false;
    }
    return true;
}

/*
 * A backing over the heap leaves at once: when mmap() returns, no CPU
 * can reach its pages through the region any more (the kernel flushed
 * the TLBs, KVM's MMU notifier dropped its mappings, and TCG and vhost
 * go through the same host address), so it is released without a grace
 * period.  If the heap cannot be put back, the backing stays mapped and
 * is never released.  A slice leaves the guest its pages: closing the
 * udmabuf unpins them, unless its user still holds a reference.
 */
static void region_unplace(VirtIOGPURegion *vr, VirtIOGPURegionMapping *m)
{
    RegionRelease *r;

    vr->heap_mappings--;
    if (m->state == MAPPING_SLICE) {
        /* Its user lets go of what it made of the udmabuf first. */
        if (m->release) {
            m->release(m->opaque);
        }
        close(m->dmabuf);
        vr->slices--;
    } else if (region_restore_heap(vr, m->offset, m->size)) {
        r = g_new0(RegionRelease, 1);
        r->resource_id = m->resource_id;
        r->release = m->release;
        r->opaque = m->opaque;
        vr->pending_releases++;
        WITH_QEMU_LOCK_GUARD(&vr->lock) {
            QSIMPLEQ_INSERT_TAIL(&vr->released, r, next);
        }
        qemu_bh_schedule(vr->release_bh);
    }
    region_set_state(m, MAPPING_GONE);
    g_free(m);
}

/*
 * Out of the bookkeeping: the guest may map the range again at once.
 * A subregion stays in the BAR, reachable, until the next flush.
 */
static void region_detach(VirtIOGPURegion *vr, VirtIOGPURegionMapping *m)
{
    trace_virtio_gpu_region_unmap(m->resource_id, m->offset, m->size);
    g_hash_table_remove(vr->by_resource, GUINT_TO_POINTER(m->resource_id));
    g_tree_remove(vr->by_offset, &m->offset);
    vr->mapped_bytes -= m->size;
    if (m->state != MAPPING_SUBREGION) {
        region_unplace(vr, m);
        return;
    }
    region_set_state(m, MAPPING_DETACHED);
    g_ptr_array_add(vr->detached, m);
}

/* Take the detached mappings out of the BAR, within a transaction. */
static void region_remove_detached(VirtIOGPURegion *vr)
{
    VirtIOGPURegionMapping *m;
    RegionRelease *r;
    guint i;

    trace_virtio_gpu_region_flush(vr->detached->len);
    for (i = 0; i < vr->detached->len; i++) {
        m = g_ptr_array_index(vr->detached, i);
        r = g_new0(RegionRelease, 1);
        r->resource_id = m->resource_id;
        r->release = m->release;
        r->opaque = m->opaque;
        QSIMPLEQ_INSERT_TAIL(&vr->removed, r, next);
        vr->pending_releases++;
        region_live_mappings--;

        /*
         * The mapping owns itself, so keep a reference across unparenting
         * it: with no flat view holding it (the BAR not enabled), the
         * last one goes now, @m with it, not halfway through dropping its
         * own child property.
         */
        memory_region_del_subregion(&vr->bar, &m->mr);
        object_ref(OBJECT(&m->mr));
        object_unparent(OBJECT(&m->mr));
        object_unref(OBJECT(&m->mr));
    }
    g_ptr_array_set_size(vr->detached, 0);
}

/*
 * The transaction that removed them is committed: no new access reaches
 * the removed mappings.  Accesses already under way may still use the
 * old flat view: give the backings back after a grace period, which the
 * vCPUs, kicked out of the code they run, end quickly.  Then tell the
 * device, which may answer the UNMAPs it held.
 */
static void region_removed(VirtIOGPURegion *vr)
{
    CPUState *cpu;

    if (QSIMPLEQ_EMPTY(&vr->removed)) {
        return;
    }
    WITH_QEMU_LOCK_GUARD(&vr->lock) {
        QSIMPLEQ_CONCAT(&vr->waiting, &vr->removed);
        qemu_cond_signal(&vr->cond);
    }
    CPU_FOREACH(cpu) {
        cpu_exit(cpu);
    }
    timer_del(vr->flush_timer);
    if (vr->flushed) {
        vr->flushed(vr->flushed_opaque);
    }
}

void virtio_gpu_region_flush(VirtIOGPURegion *vr)
{
    if (!virtio_gpu_region_enabled(vr) || !vr->detached->len) {
        return;
    }
    memory_region_transaction_begin();
    region_remove_detached(vr);
    memory_region_transaction_commit();
    region_removed(vr);
}

static void region_flush_timer(void *opaque)
{
    virtio_gpu_region_flush(opaque);
}

static VirtIOGPURegionMapping *region_find(VirtIOGPURegion *vr,
                                           uint32_t resource_id)
{
    if (!virtio_gpu_region_enabled(vr)) {
        return NULL;
    }
    return g_hash_table_lookup(vr->by_resource,
                               GUINT_TO_POINTER(resource_id));
}

bool virtio_gpu_region_unmap(VirtIOGPURegion *vr, uint32_t resource_id)
{
    VirtIOGPURegionMapping *m = region_find(vr, resource_id);

    if (!m) {
        return false;
    }
    region_detach(vr, m);
    virtio_gpu_region_flush(vr);
    return true;
}

/* Whether a mapping of @resource_id waits for the next flush to leave. */
static bool region_detached(VirtIOGPURegion *vr, uint32_t resource_id)
{
    guint i;

    for (i = 0; i < vr->detached->len; i++) {
        VirtIOGPURegionMapping *m = g_ptr_array_index(vr->detached, i);

        if (m->resource_id == resource_id) {
            return true;
        }
    }
    return false;
}

bool virtio_gpu_region_unmap_later(VirtIOGPURegion *vr,
                                   uint32_t resource_id)
{
    VirtIOGPURegionMapping *m = region_find(vr, resource_id);
    bool at_once;

    if (!m) {
        /* Unmapped before, still reachable: that, too, waits. */
        return virtio_gpu_region_enabled(vr) &&
               region_detached(vr, resource_id);
    }
    /* Over the heap, it is gone when region_detach() returns. */
    at_once = m->state != MAPPING_SUBREGION;
    region_detach(vr, m);
    if (at_once) {
        return false;
    }
    if (!timer_pending(vr->flush_timer)) {
        timer_mod(vr->flush_timer,
                  qemu_clock_get_us(QEMU_CLOCK_VIRTUAL) +
                  VIRTIO_GPU_REGION_FLUSH_DELAY_US);
    }
    return true;
}

bool virtio_gpu_region_init(VirtIOGPURegion *vr, Object *owner,
                            uint64_t size, uint32_t max_mappings,
                            Error **errp)
{
    size_t page = qemu_real_host_page_size();
    uint64_t bar_size;

    memset(vr, 0, sizeof(*vr));
    vr->udmabuf_dev = -1;
    if (!max_mappings || max_mappings > VIRTIO_GPU_REGION_MAPPINGS_MAX) {
        error_setg(errp, "max_mappings=%" PRIu32 " is not between 1 and %d",
                   max_mappings, VIRTIO_GPU_REGION_MAPPINGS_MAX);
        return false;
    }
    if (!size) {
        return true;
    }
    if (size % page) {
        error_setg(errp, "hostmem=%" PRIu64 " is not a multiple of the "
                   "host page size (%zu bytes)", size, page);
        return false;
    }
    if (size > VIRTIO_GPU_REGION_MAX) {
        error_setg(errp, "hostmem=%" PRIu64 " is larger than the maximum "
                   "of %llu GiB", size, VIRTIO_GPU_REGION_MAX / GiB);
        return false;
    }

    /* A BAR is a power of two; the guest is told to use only @size. */
    bar_size = pow2ceil(size);
    vr->size = size;
    vr->max_mappings = max_mappings;
    /*
     * The BAR answers itself where no mapping covers it, under the
     * mappings, its subregions: with nothing below them, each new one is
     * added at the tail of the list at once.
     */
    memory_region_init_io(&vr->bar, owner, &region_unmapped_ops, vr,
                          "virtio-gpu-hostmem", bar_size);

    vr->by_resource = g_hash_table_new(NULL, NULL);
    vr->by_offset = g_tree_new_full(region_offset_cmp, NULL, NULL, NULL);
    qemu_mutex_init(&vr->lock);
    qemu_cond_init(&vr->cond);
    vr->detached = g_ptr_array_new();
    QSIMPLEQ_INIT(&vr->removed);
    vr->flush_timer = timer_new_us(QEMU_CLOCK_VIRTUAL, region_flush_timer,
                                   vr);
    QSIMPLEQ_INIT(&vr->waiting);
    QSIMPLEQ_INIT(&vr->released);
    vr->release_bh = qemu_bh_new(region_release_bh, vr);
    qemu_thread_create(&vr->grace_thread, "virtio-gpu-hostmem",
                       region_grace_thread, vr, QEMU_THREAD_JOINABLE);
    trace_virtio_gpu_region_init(size, bar_size);
    return true;
}

void virtio_gpu_region_fini(VirtIOGPURegion *vr)
{
    if (!virtio_gpu_region_enabled(vr)) {
        return;
    }
    vr->flushed = NULL;         /* the device is going */
    virtio_gpu_region_unmap_all(vr);
    timer_free(vr->flush_timer);
    g_ptr_array_free(vr->detached, true);
    /* The thread finishes the grace periods under way, then exits. */
    WITH_QEMU_LOCK_GUARD(&vr->lock) {
        vr->stopping = true;
        qemu_cond_signal(&vr->cond);
    }
    qemu_thread_join(&vr->grace_thread);
    region_release_bh(vr);
    assert(vr->pending_releases == 0);

    if (vr->heap) {
        memory_region_del_subregion(&vr->bar, &vr->heap_mr);
        object_unparent(OBJECT(&vr->heap_mr));
        host_memory_backend_set_mapped(vr->heap, false);
        virtio_gpu_del_blocker(&vr->heap_blocker);
        vr->heap = NULL;
    }
    if (vr->udmabuf_dev >= 0) {
        close(vr->udmabuf_dev);
        vr->udmabuf_dev = -1;
    }
    qemu_bh_delete(vr->release_bh);
    qemu_cond_destroy(&vr->cond);
    qemu_mutex_destroy(&vr->lock);
    g_tree_destroy(vr->by_offset);
    g_hash_table_destroy(vr->by_resource);
    object_unparent(OBJECT(&vr->bar));
    vr->size = 0;
}

uint64_t virtio_gpu_region_blob_alignment(VirtIOGPURegion *vr)
{
    return vr->heap ? vr->heap_align : qemu_real_host_page_size();
}

bool virtio_gpu_region_blob_aligned(VirtIOGPURegion *vr, bool negotiated,
                                    uint64_t value)
{
    return !negotiated || value % virtio_gpu_region_blob_alignment(vr) == 0;
}

bool virtio_gpu_region_full(VirtIOGPURegion *vr, bool fd)
{
    /* Detached mappings leave in the update that adds the next one. */
    unsigned detached = vr->detached ? vr->detached->len : 0;

    /* Over the heap a mapping is no section and no slot. */
    if (fd && vr->heap) {
        return vr->heap_mappings >= VIRTIO_GPU_REGION_HEAP_MAPPINGS_MAX;
    }
    /* With KVM each mapping is also a memory slot; it aborts past them. */
    return virtio_gpu_region_nr_mappings(vr) - vr->heap_mappings >=
           vr->max_mappings ||
           region_live_mappings - detached >=
           VIRTIO_GPU_REGION_MAPPINGS_MAX ||
           (kvm_enabled() && !detached &&
            !virtio_gpu_kvm_has_free_slot());
}

static bool region_check(VirtIOGPURegion *vr, uint32_t resource_id,
                         uint64_t offset, uint64_t size, bool fd,
                         Error **errp)
{
    size_t page = qemu_real_host_page_size();
    RegionRange range = { offset, size };
    VirtIOGPURegionMapping *other;

    if (!virtio_gpu_region_enabled(vr)) {
        error_setg(errp, "the device has no host-visible region");
        return false;
    }
    if (g_hash_table_contains(vr->by_resource,
                              GUINT_TO_POINTER(resource_id))) {
        error_setg(errp, "resource %u is mapped already", resource_id);
        return false;
    }
    if (!size || offset % page || size % page) {
        error_setg(errp, "offset 0x%" PRIx64 " or size 0x%" PRIx64
                   " is not a non-zero multiple of the page size",
                   offset, size);
        return false;
    }
    /* Written so that offset + size cannot wrap. */
    if (size > vr->size || offset > vr->size - size) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is outside "
                   "the region (0x%" PRIx64 " bytes)", offset, size, vr->size);
        return false;
    }
    if (virtio_gpu_region_full(vr, fd)) {
        error_setg(errp, "the region holds %u mappings, %u in all regions: "
                   "no more", virtio_gpu_region_nr_mappings(vr),
                   region_live_mappings);
        return false;
    }
    other = g_tree_search(vr->by_offset, region_overlap_search, &range);
    if (other) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " overlaps "
                   "resource %u at 0x%" PRIx64 "+0x%" PRIx64,
                   offset, size, other->resource_id, other->offset,
                   other->size);
        return false;
    }
    return true;
}

/*
 * Mappings never overlap one another, so their priority only orders the
 * render of the flat view: lowest offset first, each range lands after
 * those below it instead of in front of them, which would move all of
 * them.
 */
static int region_render_priority(uint64_t offset)
{
    QEMU_BUILD_BUG_ON(VIRTIO_GPU_REGION_MAX / 4096 >= INT_MAX);
    return INT_MAX - offset / qemu_real_host_page_size();
}

static VirtIOGPURegionMapping *
region_new_mapping(uint32_t resource_id, uint64_t offset, uint64_t size,
                   const VirtIOGPURegionBacking *backing)
{
    VirtIOGPURegionMapping *m = g_new0(VirtIOGPURegionMapping, 1);

    m->resource_id = resource_id;
    m->offset = offset;
    m->size = size;
    m->release = backing->release;
    m->opaque = backing->opaque;
    return m;
}

static void region_add(VirtIOGPURegion *vr, VirtIOGPURegionMapping *m)
{
    g_hash_table_insert(vr->by_resource, GUINT_TO_POINTER(m->resource_id),
                        m);
    g_tree_insert(vr->by_offset, &m->offset, m);
    vr->mapped_bytes += m->size;
}

/*
 * mmap() @backing's fd over the heap: the region's memory changes under
 * the guest, its physical map does not.  The blob is in reach when
 * mmap() returns, before the guest is answered.
 */
static bool region_map_fixed(VirtIOGPURegion *vr, uint32_t resource_id,
                             uint64_t offset, uint64_t size,
                             const VirtIOGPURegionBacking *backing,
                             Error **errp)
{
    VirtIOGPURegionMapping *m;

    if (offset % vr->heap_align || size % vr->heap_align) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is not aligned "
                   "to the heap's pages (0x%" PRIx64 " bytes)", offset, size,
                   vr->heap_align);
        return false;
    }
    /* A subregion unmapped there would hide the blob until the flush. */
    virtio_gpu_region_flush(vr);
    if (mmap(vr->heap_ptr + offset, size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, backing->fd,
             backing->fd_offset) == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot place the backing of "
                         "resource %u over the heap", resource_id);
        /* A failed MAP_FIXED may have taken the heap's pages away. */
        region_restore_heap(vr, offset, size);
        return false;
    }
    m = region_new_mapping(resource_id, offset, size, backing);
    region_set_state(m, MAPPING_FIXED);
    region_add(vr, m);
    vr->heap_mappings++;
    trace_virtio_gpu_region_map(resource_id, offset, size, false);
    return true;
}

bool virtio_gpu_region_map(VirtIOGPURegion *vr, uint32_t resource_id,
                           uint64_t offset, uint64_t size,
                           const VirtIOGPURegionBacking *backing,
                           Error **errp)
{
    bool fixed = vr->heap && !backing->ptr;
    VirtIOGPURegionMapping *m;
    g_autofree char *name = NULL;
    void *ptr = backing->ptr;
    void *fd_map = NULL;

    if (!region_check(vr, resource_id, offset, size, !backing->ptr, errp) ||
        (fixed && !region_map_fixed(vr, resource_id, offset, size, backing,
                                    errp))) {
        trace_virtio_gpu_region_reject(resource_id, offset, size);
        return false;
    }
    if (fixed) {
        return true;
    }
    /* KVM takes only page-aligned memory for a slot. */
    if ((uintptr_t)ptr % qemu_real_host_page_size()) {
        error_setg(errp, "the backing of resource %u is not page-aligned",
                   resource_id);
        trace_virtio_gpu_region_reject(resource_id, offset, size);
        return false;
    }
    if (!ptr) {
        fd_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                      backing->fd, backing->fd_offset);
        if (fd_map == MAP_FAILED) {
            error_setg_errno(errp, errno, "cannot map the backing of "
                             "resource %u", resource_id);
            trace_virtio_gpu_region_reject(resource_id, offset, size);
            return false;
        }
        ptr = fd_map;
    }

    m = region_new_mapping(resource_id, offset, size, backing);
    m->fd_map = fd_map;
    region_set_state(m, MAPPING_SUBREGION);

    name = g_strdup_printf("virtio-gpu-hostmem-res%u", resource_id);
    /*
     * Device memory, not RAM: other devices reach it only through
     * bounced accesses, never keep a pointer into it, so the backing can
     * go once a grace period has passed.
     */
    memory_region_init_ram_device_ptr(&m->mr, OBJECT(&m->mr), name, size,
                                      ptr);
    OBJECT(&m->mr)->free = region_mapping_free;
    /* Unmapped ones leave in the same flat view update. */
    memory_region_transaction_begin();
    region_remove_detached(vr);
    memory_region_add_subregion_overlap(&vr->bar, offset, &m->mr,
                                        region_render_priority(offset));
    memory_region_transaction_commit();

    region_add(vr, m);
    region_live_mappings++;
    trace_virtio_gpu_region_map(resource_id, offset, size, !fd_map);
    region_removed(vr);
    return true;
}

bool virtio_gpu_region_is_mapped(VirtIOGPURegion *vr, uint32_t resource_id)
{
    return virtio_gpu_region_enabled(vr) &&
           g_hash_table_contains(vr->by_resource,
                                 GUINT_TO_POINTER(resource_id));
}

static gboolean region_collect(gpointer key, gpointer value, gpointer data)
{
    g_ptr_array_add(data, value);
    return FALSE;
}

void virtio_gpu_region_unmap_all(VirtIOGPURegion *vr)
{
    g_autoptr(GPtrArray) all = NULL;
    guint i;

    if (!virtio_gpu_region_enabled(vr)) {
        return;
    }
    all = g_ptr_array_new();
    g_tree_foreach(vr->by_offset, region_collect, all);
    for (i = 0; i < all->len; i++) {
        region_detach(vr, g_ptr_array_index(all, i));
    }
    /* One flat view update for all of them. */
    virtio_gpu_region_flush(vr);
}

static void region_get_stat(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    VirtIOGPURegion *vr = opaque;
    uint64_t value;

    if (!strcmp(name, "x-hostmem-mapped-bytes")) {
        value = vr->mapped_bytes;
    } else if (!strcmp(name, "x-hostmem-mappings")) {
        value = virtio_gpu_region_nr_mappings(vr);
    } else if (!strcmp(name, "x-hostmem-heap-mappings")) {
        value = vr->heap_mappings;
    } else if (!strcmp(name, "x-hostmem-slices")) {
        value = vr->slices;
    } else {
        value = vr->pending_releases;
    }
    visit_type_uint64(v, name, &value, errp);
}

void virtio_gpu_region_set_flushed(VirtIOGPURegion *vr,
                                   VirtIOGPURegionFlushed *flushed,
                                   void *opaque)
{
    vr->flushed = flushed;
    vr->flushed_opaque = opaque;
}

void virtio_gpu_region_add_properties(VirtIOGPURegion *vr, Object *obj)
{
    object_property_add(obj, "x-hostmem-mapped-bytes", "uint64",
                        region_get_stat, NULL, NULL, vr);
    object_property_add(obj, "x-hostmem-mappings", "uint64",
                        region_get_stat, NULL, NULL, vr);
    object_property_add(obj, "x-hostmem-pending-releases", "uint64",
                        region_get_stat, NULL, NULL, vr);
    object_property_add(obj, "x-hostmem-heap-mappings", "uint64",
                        region_get_stat, NULL, NULL, vr);
    object_property_add(obj, "x-hostmem-slices", "uint64",
                        region_get_stat, NULL, NULL, vr);
}

bool virtio_gpu_region_use_heap(VirtIOGPURegion *vr, HostMemoryBackend *heap,
                                Error **errp)
{
    const char *name = object_get_canonical_path_component(OBJECT(heap));
    MemoryRegion *mr = host_memory_backend_get_memory(heap);

    if (!virtio_gpu_region_enabled(vr)) {
        error_setg(errp, "hostmem-memdev=%s needs hostmem=, the size of "
                   "the region", name);
        return false;
    }
    if (host_memory_backend_is_mapped(heap)) {
        error_setg(errp, "hostmem-memdev=%s: the backend is in use", name);
        return false;
    }
    if (memory_region_get_fd(mr) < 0 || !qemu_ram_is_shared(mr->ram_block)) {
        error_setg(errp, "hostmem-memdev=%s must be a shared memory backend "
                   "with a file descriptor (memory-backend-memfd)", name);
        return false;
    }
    if (memory_region_size(mr) != vr->size) {
        error_setg(errp, "hostmem=%" PRIu64 " differs from the size of "
                   "hostmem-memdev=%s (%" PRIu64 ")", vr->size, name,
                   (uint64_t)memory_region_size(mr));
        return false;
    }
    /* Device memory is not migrated, and the guest keeps data there. */
    error_setg(&vr->heap_blocker, "hostmem-memdev=%s: the heap's pages "
               "are not migrated", name);
    if (virtio_gpu_add_blocker(&vr->heap_blocker, errp) < 0) {
        return false;
    }
    vr->heap = heap;
    vr->heap_ptr = memory_region_get_ram_ptr(mr);
    vr->heap_fd = memory_region_get_fd(mr);
    vr->heap_fd_offset = virtio_gpu_ram_fd_offset(mr->ram_block);
    vr->heap_align = qemu_ram_pagesize(mr->ram_block);
    host_memory_backend_set_mapped(heap, true);
    /*
     * Device memory, as every mapping is: other devices reach it only
     * through bounced accesses, so none holds a pointer into it.
     */
    memory_region_init_ram_device_ptr(&vr->heap_mr,
                                      memory_region_owner(&vr->bar),
                                      "virtio-gpu-hostmem-heap", vr->size,
                                      vr->heap_ptr);
    memory_region_add_subregion_overlap(&vr->bar, 0, &vr->heap_mr, INT_MIN);
    trace_virtio_gpu_region_heap(vr->size, vr->heap_align);
    return true;
}

#ifdef CONFIG_LINUX
/* udmabuf's size_limit_mb, a parameter of the host kernel. */
static uint64_t region_udmabuf_limit(void)
{
    g_autofree char *text = NULL;
    uint64_t mb = 64;           /* the kernel's default */

    if (g_file_get_contents("/sys/module/udmabuf/parameters/size_limit_mb",
                            &text, NULL, NULL)) {
        qemu_strtou64(g_strstrip(text), NULL, 10, &mb);
    }
    return mb * MiB;
}

static bool region_udmabuf_open(VirtIOGPURegion *vr, Error **errp)
{
    int seals = fcntl(vr->heap_fd, F_GET_SEALS);

    /* udmabuf pins pages: their file must neither shrink nor be sealed. */
    if (seals < 0 || !(seals & F_SEAL_SHRINK) ||
        seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
        error_setg(errp, "hostmem-memdev=%s: udmabuf needs a memfd sealed "
                   "against shrinking, not writes (memory-backend-memfd, "
                   "seal=on)",
                   object_get_canonical_path_component(OBJECT(vr->heap)));
        return false;
    }
    vr->udmabuf_dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (vr->udmabuf_dev < 0) {
        /* under libvirt, the device cgroup denies what it does not list */
        error_setg_errno(errp, errno, "slices of the heap need /dev/udmabuf "
                         "(%s)", errno == ENOENT ?
                         "a host kernel with CONFIG_UDMABUF" :
                         "which QEMU may not open: under libvirt, add it to "
                         "cgroup_device_acl in qemu.conf");
        return false;
    }
    vr->udmabuf_limit = region_udmabuf_limit();
    return true;
}

static int region_udmabuf_create(VirtIOGPURegion *vr, uint64_t offset,
                                 uint64_t size, Error **errp)
{
    struct udmabuf_create create = {
        .memfd = vr->heap_fd,
        .flags = UDMABUF_FLAGS_CLOEXEC,
        .offset = vr->heap_fd_offset + offset,
        .size = size,
    };
    int fd = ioctl(vr->udmabuf_dev, UDMABUF_CREATE, &create);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot make a udmabuf of the heap at "
                         "0x%" PRIx64 "+0x%" PRIx64, offset, size);
    }
    return fd;
}
#else
static bool region_udmabuf_open(VirtIOGPURegion *vr, Error **errp)
{
    error_setg(errp, "slices of the heap need Linux's udmabuf");
    return false;
}

static int region_udmabuf_create(VirtIOGPURegion *vr, uint64_t offset,
                                 uint64_t size, Error **errp)
{
    g_assert_not_reached();     /* never enabled */
}
#endif

bool virtio_gpu_region_enable_slices(VirtIOGPURegion *vr, Error **errp)
{
    if (!vr->heap) {
        error_setg(errp, "slices of the heap need a heap (hostmem-memdev=)");
        return false;
    }
    if (vr->udmabuf_dev < 0 && !region_udmabuf_open(vr, errp)) {
        return false;
    }
    trace_virtio_gpu_region_slices(vr->udmabuf_limit);
    return true;
}

static bool region_check_slice(VirtIOGPURegion *vr, uint64_t offset,
                               uint64_t size, Error **errp)
{
    if (vr->udmabuf_dev < 0) {
        error_setg(errp, "the region makes no slices");
        return false;
    }
    if (offset % vr->heap_align || size % vr->heap_align) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is not aligned "
                   "to the heap's pages (0x%" PRIx64 " bytes)", offset, size,
                   vr->heap_align);
        return false;
    }
    if (size > vr->udmabuf_limit) {
        error_setg(errp, "a slice of 0x%" PRIx64 " bytes is larger than "
                   "udmabuf allows (size_limit_mb=%" PRIu64 ")", size,
                   vr->udmabuf_limit / MiB);
        return false;
    }
    return true;
}

int virtio_gpu_region_map_slice(VirtIOGPURegion *vr, uint32_t resource_id,
                                uint64_t offset, uint64_t size,
                                VirtIOGPURegionRelease *release,
                                void *opaque, Error **errp)
{
    const VirtIOGPURegionBacking backing = {
        .release = release,
        .opaque = opaque,
    };
    VirtIOGPURegionMapping *m;
    int fd;

    if (!region_check(vr, resource_id, offset, size, true, errp) ||
        !region_check_slice(vr, offset, size, errp)) {
        trace_virtio_gpu_region_reject(resource_id, offset, size);
        return -1;
    }
    fd = region_udmabuf_create(vr, offset, size, errp);
    if (fd < 0) {
        trace_virtio_gpu_region_reject(resource_id, offset, size);
        return -1;
    }
    /* A subregion unmapped there would hide the heap until the flush. */
    virtio_gpu_region_flush(vr);
    m = region_new_mapping(resource_id, offset, size, &backing);
    m->dmabuf = fd;
    region_set_state(m, MAPPING_SLICE);
    region_add(vr, m);
    vr->heap_mappings++;
    vr->slices++;
    trace_virtio_gpu_region_slice(resource_id, offset, size, fd);
    return fd;
}

uint64_t virtio_gpu_region_max_slice(VirtIOGPURegion *vr)
{
    if (vr->udmabuf_dev < 0) {
        return 0;
    }
    return QEMU_ALIGN_DOWN(MIN(vr->size, vr->udmabuf_limit), vr->heap_align);
}

int virtio_gpu_region_slice_fd(VirtIOGPURegion *vr, uint32_t resource_id)
{
    VirtIOGPURegionMapping *m = region_find(vr, resource_id);

    return m && m->state == MAPPING_SLICE ? m->dmabuf : -1;
}
