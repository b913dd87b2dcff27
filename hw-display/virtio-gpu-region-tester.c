/*
 * x-virtio-gpu-region-tester: drives a virtio-gpu device's host-visible
 * region from qtests, without a guest driver or a renderer
 *
 *   object-add qom-type=x-virtio-gpu-region-tester id=T device=PATH
 *   qom-set /objects/T map "RESOURCE:OFFSET:SIZE:FDNAME"  (fd from getfd)
 *   qom-set /objects/T unmap RESOURCE
 *   qom-set /objects/T hold-grace-periods true|false
 *   qom-set /objects/T bench "CYCLES:OFFSET:SIZE:FDNAME"
 *   qom-get /objects/T bench-ns
 *
 * bench maps and unmaps a dup of the fd CYCLES times in a row, inside
 * QEMU, and bench-ns is then the time that took: the region's own cost,
 * without a QMP round trip per step.
 *
 * With slices=on (set at object-add) it makes slices of the heap, and
 * copies a slice's bytes, through the udmabuf's own mapping, to or from
 * a file descriptor:
 *   qom-set /objects/T slice "RESOURCE:OFFSET:SIZE"
 *   qom-set /objects/T slice-read "RESOURCE:FDNAME"   (slice -> fd)
 *   qom-set /objects/T slice-write "RESOURCE:FDNAME"  (fd -> slice)
 *
 * PATH is the QOM path of the virtio-gpu device (the virtio-backend of a
 * PCI one).  It maps through the region's own interface, as a device
 * would.  Holding grace periods is what it says: a thread of its own
 * stays in an RCU read-side section, so that no grace period in QEMU
 * ends, and the region's releases wait, until it leaves.  It can only be
 * made under qtest.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object_interfaces.h"
#include "monitor/monitor.h"
#include "hw/virtio/virtio-gpu-compat.h"
#include "hw/qdev-core.h"
#include "hw/virtio/virtio-gpu.h"
#include "hw/virtio/virtio-gpu-region.h"

#define TYPE_VIRTIO_GPU_REGION_TESTER "x-virtio-gpu-region-tester"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIOGPURegionTester, VIRTIO_GPU_REGION_TESTER)
/* A module of its own, which a distribution may leave out. */
module_obj(TYPE_VIRTIO_GPU_REGION_TESTER);
module_dep("hw-display-virtio-gpu");

struct VirtIOGPURegionTester {
    Object parent_obj;
    char *device;
    Object *dev;                /* referenced while the tester lives */
    VirtIOGPURegion *vr;
    bool slices;
    uint64_t bench_ns;
    /* hold-grace-periods: the thread in its read-side section */
    QemuThread holder;
    QemuEvent held, unhold;
    bool holding;
};

/* The region, while the device is there: unplugged, it has none. */
static VirtIOGPURegion *tester_region(VirtIOGPURegionTester *t,
                                      Error **errp)
{
    if (!t->vr || !DEVICE(t->dev)->realized) {
        error_setg(errp, "the tester's device is gone");
        return NULL;
    }
    return t->vr;
}

static void tester_close_fd(void *opaque)
{
    close(GPOINTER_TO_INT(opaque));
}

/*
 * Parse @v's string as @form: @n numbers (a resource id first), then an
 * fd name if @form ends in FDNAME, whose fd is returned (else 0).
 */
static int tester_args(Visitor *v, const char *name, const char *form,
                       uint64_t *num, int n, Error **errp)
{
    bool want_fd = g_str_has_suffix(form, "FDNAME");
    g_autofree char *value = NULL;
    g_auto(GStrv) f = NULL;
    int i;

    if (!visit_type_str(v, name, &value, errp)) {
        return -1;
    }
    f = g_strsplit(value, ":", n + want_fd);
    if (g_strv_length(f) != n + want_fd) {
        goto bad;
    }
    for (i = 0; i < n; i++) {
        if (qemu_strtou64(f[i], NULL, 0, &num[i])) {
            goto bad;
        }
    }
    if (num[0] > UINT32_MAX) {
        goto bad;
    }
    return want_fd ? monitor_fd_param(monitor_cur(), f[n], errp) : 0;
bad:
    error_setg(errp, "expected %s", form);
    return -1;
}

static void tester_map(Object *obj, Visitor *v, const char *name,
                       void *opaque, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);
    VirtIOGPURegionBacking backing = { .release = tester_close_fd };
    VirtIOGPURegion *vr = tester_region(t, errp);
    uint64_t num[3];
    int fd;

    fd = vr ? tester_args(v, name, "RESOURCE:OFFSET:SIZE:FDNAME", num, 3,
                          errp) : -1;
    if (fd < 0) {
        return;
    }
    backing.fd = fd;
    backing.opaque = GINT_TO_POINTER(fd);
    if (!virtio_gpu_region_map(vr, num[0], num[1], num[2], &backing,
                               errp)) {
        close(fd);
    }
}

static void tester_slice(Object *obj, Visitor *v, const char *name,
                         void *opaque, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);
    VirtIOGPURegion *vr = tester_region(t, errp);
    uint64_t num[3];

    if (vr && !tester_args(v, name, "RESOURCE:OFFSET:SIZE", num, 3, errp)) {
        virtio_gpu_region_map_slice(vr, num[0], num[1], num[2], NULL, NULL,
                                    errp);
    }
}

static void tester_bench(Object *obj, Visitor *v, const char *name,
                         void *opaque, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);
    VirtIOGPURegion *vr = tester_region(t, errp);
    VirtIOGPURegionBacking backing = { .release = tester_close_fd };
    const uint32_t res = UINT32_MAX;
    uint64_t num[3], i;
    int64_t start;
    int fd;

    fd = vr ? tester_args(v, name, "CYCLES:OFFSET:SIZE:FDNAME", num, 3,
                          errp) : -1;
    if (fd < 0) {
        return;
    }
    start = get_clock();
    for (i = 0; i < num[0]; i++) {
        backing.fd = dup(fd);
        backing.opaque = GINT_TO_POINTER(backing.fd);
        if (!virtio_gpu_region_map(vr, res, num[1], num[2], &backing,
                                   errp)) {
            close(backing.fd);
            break;
        }
        virtio_gpu_region_unmap(vr, res);
    }
    t->bench_ns = get_clock() - start;
    close(fd);
}

static void tester_get_bench_ns(Object *obj, Visitor *v, const char *name,
                                void *opaque, Error **errp)
{
    visit_type_uint64(v, name, &VIRTIO_GPU_REGION_TESTER(obj)->bench_ns,
                      errp);
}

/* Copy a slice, through its udmabuf's own mapping, to or from an fd. */
static void tester_slice_copy(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);
    VirtIOGPURegion *vr = tester_region(t, errp);
    bool to_fd = !strcmp(name, "slice-read");
    uint64_t res;
    off_t size;
    ssize_t done;
    void *p;
    int fd, dmabuf;

    fd = vr ? tester_args(v, name, "RESOURCE:FDNAME", &res, 1, errp) : -1;
    if (fd < 0) {
        return;
    }
    dmabuf = virtio_gpu_region_slice_fd(vr, res);
    size = dmabuf < 0 ? -1 : lseek(dmabuf, 0, SEEK_END);
    p = size <= 0 ? MAP_FAILED :
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
    if (p == MAP_FAILED) {
        error_setg(errp, "resource %" PRIu64 " has no slice to map", res);
    } else {
        done = to_fd ? pwrite(fd, p, size, 0) : pread(fd, p, size, 0);
        if (done != size) {
            error_setg(errp, "copied %zd of %jd bytes", done,
                       (intmax_t)size);
        }
        munmap(p, size);
    }
    close(fd);
}

static void tester_unmap(Object *obj, Visitor *v, const char *name,
                         void *opaque, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);
    VirtIOGPURegion *vr = tester_region(t, errp);
    uint32_t resource_id;

    if (!vr || !visit_type_uint32(v, name, &resource_id, errp)) {
        return;
    }
    if (!virtio_gpu_region_unmap(vr, resource_id)) {
        error_setg(errp, "resource %u is not mapped", resource_id);
    }
}

static void *tester_holder(void *opaque)
{
    VirtIOGPURegionTester *t = opaque;

    rcu_register_thread();
    rcu_read_lock();
    qemu_event_set(&t->held);
    qemu_event_wait(&t->unhold);
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

static void tester_set_hold(VirtIOGPURegionTester *t, bool hold)
{
    if (hold && !t->holding) {
        qemu_event_reset(&t->held);
        qemu_event_reset(&t->unhold);
        qemu_thread_create(&t->holder, "region-tester", tester_holder, t,
                           QEMU_THREAD_JOINABLE);
        /* the section has begun: every grace period from now on waits */
        qemu_event_wait(&t->held);
    } else if (!hold && t->holding) {
        qemu_event_set(&t->unhold);
        qemu_thread_join(&t->holder);
    }
    t->holding = hold;
}

static void tester_hold(Object *obj, Visitor *v, const char *name,
                        void *opaque, Error **errp)
{
    bool hold;

    if (visit_type_bool(v, name, &hold, errp)) {
        tester_set_hold(VIRTIO_GPU_REGION_TESTER(obj), hold);
    }
}

static char *tester_get_device(Object *obj, Error **errp)
{
    return g_strdup(VIRTIO_GPU_REGION_TESTER(obj)->device);
}

static void tester_set_device(Object *obj, const char *value, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);

    g_free(t->device);
    t->device = g_strdup(value);
}

static void tester_complete(UserCreatable *uc, Error **errp)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(uc);
    Object *dev;

    if (!qtest_enabled()) {
        error_setg(errp, TYPE_VIRTIO_GPU_REGION_TESTER " is for qtests");
        return;
    }
    dev = t->device ? object_resolve_path_type(t->device,
                                               TYPE_VIRTIO_GPU_BASE, NULL)
                    : NULL;
    if (!dev) {
        error_setg(errp, "device: '%s' is not a virtio-gpu device",
                   t->device ?: "");
        return;
    }
    if (!virtio_gpu_region_enabled(&VIRTIO_GPU_BASE(dev)->region)) {
        error_setg(errp, "device: '%s' has no host-visible region",
                   t->device);
        return;
    }
    if (t->slices &&
        !virtio_gpu_region_enable_slices(&VIRTIO_GPU_BASE(dev)->region,
                                         errp)) {
        return;
    }
    t->dev = object_ref(dev);
    t->vr = &VIRTIO_GPU_BASE(dev)->region;
}

static bool tester_get_slices(Object *obj, Error **errp)
{
    return VIRTIO_GPU_REGION_TESTER(obj)->slices;
}

static void tester_set_slices(Object *obj, bool value, Error **errp)
{
    VIRTIO_GPU_REGION_TESTER(obj)->slices = value;
}

static void tester_init(Object *obj)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);

    qemu_event_init(&t->held, false);
    qemu_event_init(&t->unhold, false);
}

static void tester_finalize(Object *obj)
{
    VirtIOGPURegionTester *t = VIRTIO_GPU_REGION_TESTER(obj);

    tester_set_hold(t, false);
    qemu_event_destroy(&t->held);
    qemu_event_destroy(&t->unhold);
    if (t->dev) {
        object_unref(t->dev);
    }
    g_free(t->device);
}

static void tester_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = tester_complete;
    object_class_property_add_str(oc, "device", tester_get_device,
                                  tester_set_device);
    object_class_property_add(oc, "map", "str", NULL, tester_map,
                              NULL, NULL);
    object_class_property_add(oc, "unmap", "uint32", NULL, tester_unmap,
                              NULL, NULL);
    object_class_property_add(oc, "hold-grace-periods", "bool", NULL,
                              tester_hold, NULL, NULL);
    object_class_property_add(oc, "bench", "str", NULL, tester_bench,
                              NULL, NULL);
    object_class_property_add(oc, "bench-ns", "uint64", tester_get_bench_ns,
                              NULL, NULL, NULL);
    object_class_property_add_bool(oc, "slices", tester_get_slices,
                                   tester_set_slices);
    object_class_property_add(oc, "slice", "str", NULL, tester_slice,
                              NULL, NULL);
    object_class_property_add(oc, "slice-read", "str", NULL,
                              tester_slice_copy, NULL, NULL);
    object_class_property_add(oc, "slice-write", "str", NULL,
                              tester_slice_copy, NULL, NULL);
}

static const TypeInfo tester_info = {
    .name = TYPE_VIRTIO_GPU_REGION_TESTER,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VirtIOGPURegionTester),
    .instance_init = tester_init,
    .instance_finalize = tester_finalize,
    .class_init = tester_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void tester_register_types(void)
{
    type_register_static(&tester_info);
}

type_init(tester_register_types)
