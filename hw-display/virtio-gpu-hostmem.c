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
#include "hw/virtio/virtio-gpu-hostmem.h"
#include "trace.h"
#ifdef CONFIG_LINUX
#include <sys/ioctl.h>
#include "standard-headers/linux/udmabuf.h"
#endif

/*
 * Where a mapping is.  A subregion is detached at unmap and goes at the
 * next flush; a backing placed over the heap, or a slice, goes at unmap.
 */
typedef enum HostmemState {
    HOSTMEM_NEW,
    HOSTMEM_SUBREGION,          /* a subregion of the BAR of its own */
    HOSTMEM_FIXED,              /* mmapped over the heap */
    HOSTMEM_SLICE,              /* the heap's own pages, and a udmabuf */
    HOSTMEM_DETACHED,           /* unmapped, in the BAR until the flush */
    HOSTMEM_GONE,
} HostmemState;

static const char *const hostmem_state_names[] = {
    [HOSTMEM_NEW] = "new",
    [HOSTMEM_SUBREGION] = "subregion",
    [HOSTMEM_FIXED] = "fixed",
    [HOSTMEM_SLICE] = "slice",
    [HOSTMEM_DETACHED] = "detached",
    [HOSTMEM_GONE] = "gone",
};

struct VirtIOGPUHostmemMapping {
    HostmemState state;
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
    VirtIOGPUHostmemRelease *release;
    void *opaque;
};

static void hostmem_set_state(VirtIOGPUHostmemMapping *m, HostmemState to)
{
    static const uint8_t allowed[] = {
        [HOSTMEM_NEW] = 1 << HOSTMEM_SUBREGION | 1 << HOSTMEM_FIXED |
                        1 << HOSTMEM_SLICE,
        [HOSTMEM_SUBREGION] = 1 << HOSTMEM_DETACHED,
        [HOSTMEM_FIXED] = 1 << HOSTMEM_GONE,
        [HOSTMEM_SLICE] = 1 << HOSTMEM_GONE,
        [HOSTMEM_DETACHED] = 1 << HOSTMEM_GONE,
    };

    assert(allowed[m->state] & (1 << to));
    trace_virtio_gpu_hostmem_state(m->resource_id, m->offset,
                                   hostmem_state_names[m->state],
                                   hostmem_state_names[to]);
    m->state = to;
}

/* Live mappings of all regions: see VIRTIO_GPU_HOSTMEM_MAPPINGS_MAX. */
static unsigned hostmem_live_mappings;

/* A backing to give back once no access to it can be under way. */
typedef struct HostmemRelease {
    uint32_t resource_id;
    VirtIOGPUHostmemRelease *release;
    void *opaque;
    QSIMPLEQ_ENTRY(HostmemRelease) next;
} HostmemRelease;

static uint64_t hostmem_unmapped_read(void *opaque, hwaddr addr,
                                      unsigned size)
{
    trace_virtio_gpu_hostmem_unmapped_access(addr, size, false);
    return 0;
}

static void hostmem_unmapped_write(void *opaque, hwaddr addr, uint64_t val,
                                   unsigned size)
{
    trace_virtio_gpu_hostmem_unmapped_access(addr, size, true);
}

static const MemoryRegionOps hostmem_unmapped_ops = {
    .read = hostmem_unmapped_read,
    .write = hostmem_unmapped_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

static gint hostmem_offset_cmp(gconstpointer a, gconstpointer b,
                               gpointer unused)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

typedef struct HostmemRange {
    uint64_t offset;
    uint64_t size;
} HostmemRange;

/* g_tree_search() callback: 0 where a live mapping overlaps the range. */
static gint hostmem_overlap_search(gconstpointer key, gconstpointer data)
{
    const VirtIOGPUHostmemMapping *m =
        container_of(key, VirtIOGPUHostmemMapping, offset);
    const HostmemRange *r = data;

    if (m->offset + m->size <= r->offset) {
        return 1;               /* look at higher offsets */
    }
    if (r->offset + r->size <= m->offset) {
        return -1;
    }
    return 0;
}

/* On the main loop: run the release callbacks whose grace period ended. */
static void hostmem_release_bh(void *opaque)
{
    VirtIOGPUHostmem *hm = opaque;
    HostmemRelease *r;

    for (;;) {
        WITH_QEMU_LOCK_GUARD(&hm->lock) {
            r = QSIMPLEQ_FIRST(&hm->released);
            if (r) {
                QSIMPLEQ_REMOVE_HEAD(&hm->released, next);
            }
        }
        if (!r) {
            return;
        }
        trace_virtio_gpu_hostmem_release(r->resource_id);
        if (r->release) {
            r->release(r->opaque);
        }
        hm->pending_releases--;
        g_free(r);
    }
}

/*
 * Waits out an RCU grace period for each batch of unmapped backings:
 * after it, no access that could have seen them is still under way.
 * The vCPUs were kicked at unmap time, so this is quick.
 */
static void *hostmem_grace_thread(void *opaque)
{
    VirtIOGPUHostmem *hm = opaque;
    QSIMPLEQ_HEAD(, HostmemRelease) batch;

    qemu_mutex_lock(&hm->lock);
    for (;;) {
        while (QSIMPLEQ_EMPTY(&hm->waiting) && !hm->stopping) {
            qemu_cond_wait(&hm->cond, &hm->lock);
        }
        if (QSIMPLEQ_EMPTY(&hm->waiting)) {
            break;
        }
        QSIMPLEQ_INIT(&batch);
        QSIMPLEQ_CONCAT(&batch, &hm->waiting);
        qemu_mutex_unlock(&hm->lock);

        synchronize_rcu();

        qemu_mutex_lock(&hm->lock);
        QSIMPLEQ_CONCAT(&hm->released, &batch);
        qemu_bh_schedule(hm->release_bh);
    }
    qemu_mutex_unlock(&hm->lock);
    return NULL;
}

/*
 * The region's last reference is gone, possibly on the RCU thread: its
 * backing was released already; drop our own mmap of an fd, if any.
 */
static void hostmem_mapping_free(void *obj)
{
    VirtIOGPUHostmemMapping *m = container_of(obj, VirtIOGPUHostmemMapping,
                                              mr);

    hostmem_set_state(m, HOSTMEM_GONE);
    if (m->fd_map) {
        munmap(m->fd_map, m->size);
    }
    g_free(m);
}

/*
 * Put the heap's own pages back at [@offset, @offset + @size): the same
 * file at the same place, so the guest finds what it left there.
 */
static bool hostmem_restore_heap(VirtIOGPUHostmem *hm, uint64_t offset,
                                 uint64_t size)
{
    if (mmap(hm->heap_ptr + offset, size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, hm->heap_fd,
             hm->heap_fd_offset + offset) == MAP_FAILED) {
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
static void hostmem_unplace(VirtIOGPUHostmem *hm, VirtIOGPUHostmemMapping *m)
{
    HostmemRelease *r;

    hm->heap_mappings--;
    if (m->state == HOSTMEM_SLICE) {
        close(m->dmabuf);
        hm->slices--;
    } else if (hostmem_restore_heap(hm, m->offset, m->size)) {
        r = g_new0(HostmemRelease, 1);
        r->resource_id = m->resource_id;
        r->release = m->release;
        r->opaque = m->opaque;
        hm->pending_releases++;
        WITH_QEMU_LOCK_GUARD(&hm->lock) {
            QSIMPLEQ_INSERT_TAIL(&hm->released, r, next);
        }
        qemu_bh_schedule(hm->release_bh);
    }
    hostmem_set_state(m, HOSTMEM_GONE);
    g_free(m);
}

/*
 * Out of the bookkeeping: the guest may map the range again at once.
 * A subregion stays in the BAR, reachable, until the next flush.
 */
static void hostmem_detach(VirtIOGPUHostmem *hm, VirtIOGPUHostmemMapping *m)
{
    trace_virtio_gpu_hostmem_unmap(m->resource_id, m->offset, m->size);
    g_hash_table_remove(hm->by_resource, GUINT_TO_POINTER(m->resource_id));
    g_tree_remove(hm->by_offset, &m->offset);
    hm->mapped_bytes -= m->size;
    if (m->state != HOSTMEM_SUBREGION) {
        hostmem_unplace(hm, m);
        return;
    }
    hostmem_set_state(m, HOSTMEM_DETACHED);
    g_ptr_array_add(hm->detached, m);
}

/* Take the detached mappings out of the BAR, within a transaction. */
static void hostmem_remove_detached(VirtIOGPUHostmem *hm)
{
    VirtIOGPUHostmemMapping *m;
    HostmemRelease *r;
    guint i;

    trace_virtio_gpu_hostmem_flush(hm->detached->len);
    for (i = 0; i < hm->detached->len; i++) {
        m = g_ptr_array_index(hm->detached, i);
        r = g_new0(HostmemRelease, 1);
        r->resource_id = m->resource_id;
        r->release = m->release;
        r->opaque = m->opaque;
        QSIMPLEQ_INSERT_TAIL(&hm->removed, r, next);
        hm->pending_releases++;
        hostmem_live_mappings--;

        /*
         * The mapping owns itself, so keep a reference across unparenting
         * it: with no flat view holding it (the BAR not enabled), the
         * last one goes now, @m with it, not halfway through dropping its
         * own child property.
         */
        memory_region_del_subregion(&hm->bar, &m->mr);
        object_ref(OBJECT(&m->mr));
        object_unparent(OBJECT(&m->mr));
        object_unref(OBJECT(&m->mr));
    }
    g_ptr_array_set_size(hm->detached, 0);
}

/*
 * The transaction that removed them is committed: no new access reaches
 * the removed mappings.  Accesses already under way may still use the
 * old flat view: give the backings back after a grace period, which the
 * vCPUs, kicked out of the code they run, end quickly.  Then tell the
 * device, which may answer the UNMAPs it held.
 */
static void hostmem_removed(VirtIOGPUHostmem *hm)
{
    CPUState *cpu;

    if (QSIMPLEQ_EMPTY(&hm->removed)) {
        return;
    }
    WITH_QEMU_LOCK_GUARD(&hm->lock) {
        QSIMPLEQ_CONCAT(&hm->waiting, &hm->removed);
        qemu_cond_signal(&hm->cond);
    }
    CPU_FOREACH(cpu) {
        cpu_exit(cpu);
    }
    timer_del(hm->flush_timer);
    if (hm->flushed) {
        hm->flushed(hm->flushed_opaque);
    }
}

void virtio_gpu_hostmem_flush(VirtIOGPUHostmem *hm)
{
    if (!virtio_gpu_hostmem_enabled(hm) || !hm->detached->len) {
        return;
    }
    memory_region_transaction_begin();
    hostmem_remove_detached(hm);
    memory_region_transaction_commit();
    hostmem_removed(hm);
}

static void hostmem_flush_timer(void *opaque)
{
    virtio_gpu_hostmem_flush(opaque);
}

static VirtIOGPUHostmemMapping *hostmem_find(VirtIOGPUHostmem *hm,
                                             uint32_t resource_id)
{
    if (!virtio_gpu_hostmem_enabled(hm)) {
        return NULL;
    }
    return g_hash_table_lookup(hm->by_resource,
                               GUINT_TO_POINTER(resource_id));
}

bool virtio_gpu_hostmem_unmap(VirtIOGPUHostmem *hm, uint32_t resource_id)
{
    VirtIOGPUHostmemMapping *m = hostmem_find(hm, resource_id);

    if (!m) {
        return false;
    }
    hostmem_detach(hm, m);
    virtio_gpu_hostmem_flush(hm);
    return true;
}

/* Whether a mapping of @resource_id waits for the next flush to leave. */
static bool hostmem_detached(VirtIOGPUHostmem *hm, uint32_t resource_id)
{
    guint i;

    for (i = 0; i < hm->detached->len; i++) {
        VirtIOGPUHostmemMapping *m = g_ptr_array_index(hm->detached, i);

        if (m->resource_id == resource_id) {
            return true;
        }
    }
    return false;
}

bool virtio_gpu_hostmem_unmap_later(VirtIOGPUHostmem *hm,
                                    uint32_t resource_id)
{
    VirtIOGPUHostmemMapping *m = hostmem_find(hm, resource_id);
    bool at_once;

    if (!m) {
        /* Unmapped before, still reachable: that, too, waits. */
        return virtio_gpu_hostmem_enabled(hm) &&
               hostmem_detached(hm, resource_id);
    }
    /* Over the heap, it is gone when hostmem_detach() returns. */
    at_once = m->state != HOSTMEM_SUBREGION;
    hostmem_detach(hm, m);
    if (at_once) {
        return false;
    }
    if (!timer_pending(hm->flush_timer)) {
        timer_mod(hm->flush_timer,
                  qemu_clock_get_us(QEMU_CLOCK_VIRTUAL) +
                  VIRTIO_GPU_HOSTMEM_FLUSH_DELAY_US);
    }
    return true;
}

bool virtio_gpu_hostmem_init(VirtIOGPUHostmem *hm, Object *owner,
                             uint64_t size, uint32_t max_mappings,
                             Error **errp)
{
    size_t page = qemu_real_host_page_size();
    uint64_t bar_size;

    memset(hm, 0, sizeof(*hm));
    hm->udmabuf_dev = -1;
    if (!max_mappings || max_mappings > VIRTIO_GPU_HOSTMEM_MAPPINGS_MAX) {
        error_setg(errp, "max_mappings=%" PRIu32 " is not between 1 and %d",
                   max_mappings, VIRTIO_GPU_HOSTMEM_MAPPINGS_MAX);
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
    if (size > VIRTIO_GPU_HOSTMEM_MAX) {
        error_setg(errp, "hostmem=%" PRIu64 " is larger than the maximum "
                   "of %llu GiB", size, VIRTIO_GPU_HOSTMEM_MAX / GiB);
        return false;
    }

    /* A BAR is a power of two; the guest is told to use only @size. */
    bar_size = pow2ceil(size);
    hm->size = size;
    hm->max_mappings = max_mappings;
    /*
     * The BAR answers itself where no mapping covers it, under the
     * mappings, its subregions: with nothing below them, each new one is
     * added at the tail of the list at once.
     */
    memory_region_init_io(&hm->bar, owner, &hostmem_unmapped_ops, hm,
                          "virtio-gpu-hostmem", bar_size);

    hm->by_resource = g_hash_table_new(NULL, NULL);
    hm->by_offset = g_tree_new_full(hostmem_offset_cmp, NULL, NULL, NULL);
    qemu_mutex_init(&hm->lock);
    qemu_cond_init(&hm->cond);
    hm->detached = g_ptr_array_new();
    QSIMPLEQ_INIT(&hm->removed);
    hm->flush_timer = timer_new_us(QEMU_CLOCK_VIRTUAL, hostmem_flush_timer,
                                   hm);
    QSIMPLEQ_INIT(&hm->waiting);
    QSIMPLEQ_INIT(&hm->released);
    hm->release_bh = qemu_bh_new(hostmem_release_bh, hm);
    qemu_thread_create(&hm->grace_thread, "virtio-gpu-hostmem",
                       hostmem_grace_thread, hm, QEMU_THREAD_JOINABLE);
    trace_virtio_gpu_hostmem_init(size, bar_size);
    return true;
}

void virtio_gpu_hostmem_fini(VirtIOGPUHostmem *hm)
{
    if (!virtio_gpu_hostmem_enabled(hm)) {
        return;
    }
    hm->flushed = NULL;         /* the device is going */
    virtio_gpu_hostmem_unmap_all(hm);
    timer_free(hm->flush_timer);
    g_ptr_array_free(hm->detached, true);
    /* The thread finishes the grace periods under way, then exits. */
    WITH_QEMU_LOCK_GUARD(&hm->lock) {
        hm->stopping = true;
        qemu_cond_signal(&hm->cond);
    }
    qemu_thread_join(&hm->grace_thread);
    hostmem_release_bh(hm);
    assert(hm->pending_releases == 0);

    if (hm->heap) {
        memory_region_del_subregion(&hm->bar, &hm->heap_mr);
        object_unparent(OBJECT(&hm->heap_mr));
        host_memory_backend_set_mapped(hm->heap, false);
        virtio_gpu_del_blocker(&hm->heap_blocker);
        hm->heap = NULL;
    }
    if (hm->udmabuf_dev >= 0) {
        close(hm->udmabuf_dev);
        hm->udmabuf_dev = -1;
    }
    qemu_bh_delete(hm->release_bh);
    qemu_cond_destroy(&hm->cond);
    qemu_mutex_destroy(&hm->lock);
    g_tree_destroy(hm->by_offset);
    g_hash_table_destroy(hm->by_resource);
    object_unparent(OBJECT(&hm->bar));
    hm->size = 0;
}

uint64_t virtio_gpu_hostmem_blob_alignment(VirtIOGPUHostmem *hm)
{
    return hm->heap ? hm->heap_align : qemu_real_host_page_size();
}

bool virtio_gpu_hostmem_blob_aligned(VirtIOGPUHostmem *hm, bool negotiated,
                                     uint64_t value)
{
    return !negotiated || value % virtio_gpu_hostmem_blob_alignment(hm) == 0;
}

bool virtio_gpu_hostmem_full(VirtIOGPUHostmem *hm, bool fd)
{
    /* Detached mappings leave in the update that adds the next one. */
    unsigned detached = hm->detached ? hm->detached->len : 0;

    /* Over the heap a mapping is no section and no slot. */
    if (fd && hm->heap) {
        return hm->heap_mappings >= VIRTIO_GPU_HOSTMEM_HEAP_MAPPINGS_MAX;
    }
    /* With KVM each mapping is also a memory slot; it aborts past them. */
    return virtio_gpu_hostmem_nr_mappings(hm) - hm->heap_mappings >=
           hm->max_mappings ||
           hostmem_live_mappings - detached >=
           VIRTIO_GPU_HOSTMEM_MAPPINGS_MAX ||
           (kvm_enabled() && !detached &&
            !virtio_gpu_kvm_has_free_slot());
}

static bool hostmem_check(VirtIOGPUHostmem *hm, uint32_t resource_id,
                          uint64_t offset, uint64_t size, bool fd,
                          Error **errp)
{
    size_t page = qemu_real_host_page_size();
    HostmemRange range = { offset, size };
    VirtIOGPUHostmemMapping *other;

    if (!virtio_gpu_hostmem_enabled(hm)) {
        error_setg(errp, "the device has no host-visible region");
        return false;
    }
    if (g_hash_table_contains(hm->by_resource,
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
    if (size > hm->size || offset > hm->size - size) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is outside "
                   "the region (0x%" PRIx64 " bytes)", offset, size, hm->size);
        return false;
    }
    if (virtio_gpu_hostmem_full(hm, fd)) {
        error_setg(errp, "the region holds %u mappings, %u in all regions: "
                   "no more", virtio_gpu_hostmem_nr_mappings(hm),
                   hostmem_live_mappings);
        return false;
    }
    other = g_tree_search(hm->by_offset, hostmem_overlap_search, &range);
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
static int hostmem_render_priority(uint64_t offset)
{
    QEMU_BUILD_BUG_ON(VIRTIO_GPU_HOSTMEM_MAX / 4096 >= INT_MAX);
    return INT_MAX - offset / qemu_real_host_page_size();
}

static VirtIOGPUHostmemMapping *
hostmem_new_mapping(uint32_t resource_id, uint64_t offset, uint64_t size,
                    const VirtIOGPUHostmemBacking *backing)
{
    VirtIOGPUHostmemMapping *m = g_new0(VirtIOGPUHostmemMapping, 1);

    m->resource_id = resource_id;
    m->offset = offset;
    m->size = size;
    m->release = backing->release;
    m->opaque = backing->opaque;
    return m;
}

static void hostmem_add(VirtIOGPUHostmem *hm, VirtIOGPUHostmemMapping *m)
{
    g_hash_table_insert(hm->by_resource, GUINT_TO_POINTER(m->resource_id),
                        m);
    g_tree_insert(hm->by_offset, &m->offset, m);
    hm->mapped_bytes += m->size;
}

/*
 * mmap() @backing's fd over the heap: the region's memory changes under
 * the guest, its physical map does not.  The blob is in reach when
 * mmap() returns, before the guest is answered.
 */
static bool hostmem_map_fixed(VirtIOGPUHostmem *hm, uint32_t resource_id,
                              uint64_t offset, uint64_t size,
                              const VirtIOGPUHostmemBacking *backing,
                              Error **errp)
{
    VirtIOGPUHostmemMapping *m;

    if (offset % hm->heap_align || size % hm->heap_align) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is not aligned "
                   "to the heap's pages (0x%" PRIx64 " bytes)", offset, size,
                   hm->heap_align);
        return false;
    }
    /* A subregion unmapped there would hide the blob until the flush. */
    virtio_gpu_hostmem_flush(hm);
    if (mmap(hm->heap_ptr + offset, size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, backing->fd,
             backing->fd_offset) == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot place the backing of "
                         "resource %u over the heap", resource_id);
        /* A failed MAP_FIXED may have taken the heap's pages away. */
        hostmem_restore_heap(hm, offset, size);
        return false;
    }
    m = hostmem_new_mapping(resource_id, offset, size, backing);
    hostmem_set_state(m, HOSTMEM_FIXED);
    hostmem_add(hm, m);
    hm->heap_mappings++;
    trace_virtio_gpu_hostmem_map(resource_id, offset, size, false);
    return true;
}

bool virtio_gpu_hostmem_map(VirtIOGPUHostmem *hm, uint32_t resource_id,
                            uint64_t offset, uint64_t size,
                            const VirtIOGPUHostmemBacking *backing,
                            Error **errp)
{
    bool fixed = hm->heap && !backing->ptr;
    VirtIOGPUHostmemMapping *m;
    g_autofree char *name = NULL;
    void *ptr = backing->ptr;
    void *fd_map = NULL;

    if (!hostmem_check(hm, resource_id, offset, size, !backing->ptr, errp) ||
        (fixed && !hostmem_map_fixed(hm, resource_id, offset, size, backing,
                                     errp))) {
        trace_virtio_gpu_hostmem_reject(resource_id, offset, size);
        return false;
    }
    if (fixed) {
        return true;
    }
    /* KVM takes only page-aligned memory for a slot. */
    if ((uintptr_t)ptr % qemu_real_host_page_size()) {
        error_setg(errp, "the backing of resource %u is not page-aligned",
                   resource_id);
        trace_virtio_gpu_hostmem_reject(resource_id, offset, size);
        return false;
    }
    if (!ptr) {
        fd_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
                      backing->fd, backing->fd_offset);
        if (fd_map == MAP_FAILED) {
            error_setg_errno(errp, errno, "cannot map the backing of "
                             "resource %u", resource_id);
            trace_virtio_gpu_hostmem_reject(resource_id, offset, size);
            return false;
        }
        ptr = fd_map;
    }

    m = hostmem_new_mapping(resource_id, offset, size, backing);
    m->fd_map = fd_map;
    hostmem_set_state(m, HOSTMEM_SUBREGION);

    name = g_strdup_printf("virtio-gpu-hostmem-res%u", resource_id);
    /*
     * Device memory, not RAM: other devices reach it only through
     * bounced accesses, never keep a pointer into it, so the backing can
     * go once a grace period has passed.
     */
    memory_region_init_ram_device_ptr(&m->mr, OBJECT(&m->mr), name, size,
                                      ptr);
    OBJECT(&m->mr)->free = hostmem_mapping_free;
    /* Unmapped ones leave in the same flat view update. */
    memory_region_transaction_begin();
    hostmem_remove_detached(hm);
    memory_region_add_subregion_overlap(&hm->bar, offset, &m->mr,
                                        hostmem_render_priority(offset));
    memory_region_transaction_commit();

    hostmem_add(hm, m);
    hostmem_live_mappings++;
    trace_virtio_gpu_hostmem_map(resource_id, offset, size, !fd_map);
    hostmem_removed(hm);
    return true;
}

bool virtio_gpu_hostmem_is_mapped(VirtIOGPUHostmem *hm, uint32_t resource_id)
{
    return virtio_gpu_hostmem_enabled(hm) &&
           g_hash_table_contains(hm->by_resource,
                                 GUINT_TO_POINTER(resource_id));
}

static gboolean hostmem_collect(gpointer key, gpointer value, gpointer data)
{
    g_ptr_array_add(data, value);
    return FALSE;
}

void virtio_gpu_hostmem_unmap_all(VirtIOGPUHostmem *hm)
{
    g_autoptr(GPtrArray) all = NULL;
    guint i;

    if (!virtio_gpu_hostmem_enabled(hm)) {
        return;
    }
    all = g_ptr_array_new();
    g_tree_foreach(hm->by_offset, hostmem_collect, all);
    for (i = 0; i < all->len; i++) {
        hostmem_detach(hm, g_ptr_array_index(all, i));
    }
    /* One flat view update for all of them. */
    virtio_gpu_hostmem_flush(hm);
}

static void hostmem_get_stat(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    VirtIOGPUHostmem *hm = opaque;
    uint64_t value;

    if (!strcmp(name, "x-hostmem-mapped-bytes")) {
        value = hm->mapped_bytes;
    } else if (!strcmp(name, "x-hostmem-mappings")) {
        value = virtio_gpu_hostmem_nr_mappings(hm);
    } else if (!strcmp(name, "x-hostmem-heap-mappings")) {
        value = hm->heap_mappings;
    } else if (!strcmp(name, "x-hostmem-slices")) {
        value = hm->slices;
    } else {
        value = hm->pending_releases;
    }
    visit_type_uint64(v, name, &value, errp);
}

void virtio_gpu_hostmem_set_flushed(VirtIOGPUHostmem *hm,
                                    VirtIOGPUHostmemFlushed *flushed,
                                    void *opaque)
{
    hm->flushed = flushed;
    hm->flushed_opaque = opaque;
}

void virtio_gpu_hostmem_add_properties(VirtIOGPUHostmem *hm, Object *obj)
{
    object_property_add(obj, "x-hostmem-mapped-bytes", "uint64",
                        hostmem_get_stat, NULL, NULL, hm);
    object_property_add(obj, "x-hostmem-mappings", "uint64",
                        hostmem_get_stat, NULL, NULL, hm);
    object_property_add(obj, "x-hostmem-pending-releases", "uint64",
                        hostmem_get_stat, NULL, NULL, hm);
    object_property_add(obj, "x-hostmem-heap-mappings", "uint64",
                        hostmem_get_stat, NULL, NULL, hm);
    object_property_add(obj, "x-hostmem-slices", "uint64",
                        hostmem_get_stat, NULL, NULL, hm);
}

bool virtio_gpu_hostmem_use_heap(VirtIOGPUHostmem *hm, HostMemoryBackend *heap,
                                 Error **errp)
{
    const char *name = object_get_canonical_path_component(OBJECT(heap));
    MemoryRegion *mr = host_memory_backend_get_memory(heap);

    if (!virtio_gpu_hostmem_enabled(hm)) {
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
    if (memory_region_size(mr) != hm->size) {
        error_setg(errp, "hostmem=%" PRIu64 " differs from the size of "
                   "hostmem-memdev=%s (%" PRIu64 ")", hm->size, name,
                   (uint64_t)memory_region_size(mr));
        return false;
    }
    /* Device memory is not migrated, and the guest keeps data there. */
    error_setg(&hm->heap_blocker, "hostmem-memdev=%s: the heap's pages "
               "are not migrated", name);
    if (virtio_gpu_add_blocker(&hm->heap_blocker, errp) < 0) {
        return false;
    }
    hm->heap = heap;
    hm->heap_ptr = memory_region_get_ram_ptr(mr);
    hm->heap_fd = memory_region_get_fd(mr);
    hm->heap_fd_offset = virtio_gpu_ram_fd_offset(mr->ram_block);
    hm->heap_align = qemu_ram_pagesize(mr->ram_block);
    host_memory_backend_set_mapped(heap, true);
    /*
     * Device memory, as every mapping is: other devices reach it only
     * through bounced accesses, so none holds a pointer into it.
     */
    memory_region_init_ram_device_ptr(&hm->heap_mr,
                                      memory_region_owner(&hm->bar),
                                      "virtio-gpu-hostmem-heap", hm->size,
                                      hm->heap_ptr);
    memory_region_add_subregion_overlap(&hm->bar, 0, &hm->heap_mr, INT_MIN);
    trace_virtio_gpu_hostmem_heap(hm->size, hm->heap_align);
    return true;
}

#ifdef CONFIG_LINUX
/* udmabuf's size_limit_mb, a parameter of the host kernel. */
static uint64_t hostmem_udmabuf_limit(void)
{
    g_autofree char *text = NULL;
    uint64_t mb = 64;           /* the kernel's default */

    if (g_file_get_contents("/sys/module/udmabuf/parameters/size_limit_mb",
                            &text, NULL, NULL)) {
        qemu_strtou64(g_strstrip(text), NULL, 10, &mb);
    }
    return mb * MiB;
}

static bool hostmem_udmabuf_open(VirtIOGPUHostmem *hm, Error **errp)
{
    int seals = fcntl(hm->heap_fd, F_GET_SEALS);

    /* udmabuf pins pages: their file must neither shrink nor be sealed. */
    if (seals < 0 || !(seals & F_SEAL_SHRINK) ||
        seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
        error_setg(errp, "hostmem-memdev=%s: udmabuf needs a memfd sealed "
                   "against shrinking, not writes (memory-backend-memfd, "
                   "seal=on)",
                   object_get_canonical_path_component(OBJECT(hm->heap)));
        return false;
    }
    hm->udmabuf_dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (hm->udmabuf_dev < 0) {
        error_setg_errno(errp, errno, "slices of the heap need /dev/udmabuf "
                         "(a host kernel with CONFIG_UDMABUF)");
        return false;
    }
    hm->udmabuf_limit = hostmem_udmabuf_limit();
    return true;
}

static int hostmem_udmabuf_create(VirtIOGPUHostmem *hm, uint64_t offset,
                                  uint64_t size, Error **errp)
{
    struct udmabuf_create create = {
        .memfd = hm->heap_fd,
        .flags = UDMABUF_FLAGS_CLOEXEC,
        .offset = hm->heap_fd_offset + offset,
        .size = size,
    };
    int fd = ioctl(hm->udmabuf_dev, UDMABUF_CREATE, &create);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot make a udmabuf of the heap at "
                         "0x%" PRIx64 "+0x%" PRIx64, offset, size);
    }
    return fd;
}
#else
static bool hostmem_udmabuf_open(VirtIOGPUHostmem *hm, Error **errp)
{
    error_setg(errp, "slices of the heap need Linux's udmabuf");
    return false;
}

static int hostmem_udmabuf_create(VirtIOGPUHostmem *hm, uint64_t offset,
                                  uint64_t size, Error **errp)
{
    g_assert_not_reached();     /* never enabled */
}
#endif

bool virtio_gpu_hostmem_enable_slices(VirtIOGPUHostmem *hm, Error **errp)
{
    if (!hm->heap) {
        error_setg(errp, "slices of the heap need a heap (hostmem-memdev=)");
        return false;
    }
    if (hm->udmabuf_dev < 0 && !hostmem_udmabuf_open(hm, errp)) {
        return false;
    }
    trace_virtio_gpu_hostmem_slices(hm->udmabuf_limit);
    return true;
}

static bool hostmem_check_slice(VirtIOGPUHostmem *hm, uint64_t offset,
                                uint64_t size, Error **errp)
{
    if (hm->udmabuf_dev < 0) {
        error_setg(errp, "the region makes no slices");
        return false;
    }
    if (offset % hm->heap_align || size % hm->heap_align) {
        error_setg(errp, "range 0x%" PRIx64 "+0x%" PRIx64 " is not aligned "
                   "to the heap's pages (0x%" PRIx64 " bytes)", offset, size,
                   hm->heap_align);
        return false;
    }
    if (size > hm->udmabuf_limit) {
        error_setg(errp, "a slice of 0x%" PRIx64 " bytes is larger than "
                   "udmabuf allows (size_limit_mb=%" PRIu64 ")", size,
                   hm->udmabuf_limit / MiB);
        return false;
    }
    return true;
}

int virtio_gpu_hostmem_map_slice(VirtIOGPUHostmem *hm, uint32_t resource_id,
                                 uint64_t offset, uint64_t size,
                                 Error **errp)
{
    static const VirtIOGPUHostmemBacking none;
    VirtIOGPUHostmemMapping *m;
    int fd;

    if (!hostmem_check(hm, resource_id, offset, size, true, errp) ||
        !hostmem_check_slice(hm, offset, size, errp)) {
        trace_virtio_gpu_hostmem_reject(resource_id, offset, size);
        return -1;
    }
    fd = hostmem_udmabuf_create(hm, offset, size, errp);
    if (fd < 0) {
        trace_virtio_gpu_hostmem_reject(resource_id, offset, size);
        return -1;
    }
    /* A subregion unmapped there would hide the heap until the flush. */
    virtio_gpu_hostmem_flush(hm);
    m = hostmem_new_mapping(resource_id, offset, size, &none);
    m->dmabuf = fd;
    hostmem_set_state(m, HOSTMEM_SLICE);
    hostmem_add(hm, m);
    hm->heap_mappings++;
    hm->slices++;
    trace_virtio_gpu_hostmem_slice(resource_id, offset, size, fd);
    return fd;
}

int virtio_gpu_hostmem_slice_fd(VirtIOGPUHostmem *hm, uint32_t resource_id)
{
    VirtIOGPUHostmemMapping *m = hostmem_find(hm, resource_id);

    return m && m->state == HOSTMEM_SLICE ? m->dmabuf : -1;
}
