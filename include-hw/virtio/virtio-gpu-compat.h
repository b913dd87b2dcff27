/*
 * virtio-gpu series: what differs between the QEMU versions its new
 * files build against (Debian 12's 7.2, Debian 13's 10.0), in one place
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_GPU_COMPAT_H
#define HW_VIRTIO_GPU_COMPAT_H

/* QEMU 10.0 renamed include/sysemu/ to include/system/. */
#if QEMU_VERSION_MAJOR >= 10
#include "system/hostmem.h"
#include "system/kvm.h"
#include "system/qtest.h"
#else
#include "sysemu/hostmem.h"
#include "sysemu/kvm.h"
#include "sysemu/qtest.h"
#endif

/* Where a RAM block's memory starts in its file (8.2 added offset=). */
#if QEMU_VERSION_MAJOR >= 10
#include "exec/ramblock.h"

static inline uint64_t virtio_gpu_ram_fd_offset(RAMBlock *rb)
{
    return rb->fd_offset;
}
#else
static inline uint64_t virtio_gpu_ram_fd_offset(RAMBlock *rb)
{
    return 0;
}
#endif

/* Whether KVM can take one more memory slot. */
#if QEMU_VERSION_MAJOR >= 10
static inline bool virtio_gpu_kvm_has_free_slot(void)
{
    return kvm_get_free_memslots() > 0;
}
#else
#include "hw/boards.h"

static inline bool virtio_gpu_kvm_has_free_slot(void)
{
    return kvm_has_free_slot(current_machine);
}
#endif

/*
 * Migration blockers: 8.2 made migrate_add_blocker() take the reason by
 * reference, freeing it on failure, and migrate_del_blocker() free it.
 */
#include "migration/blocker.h"

#if QEMU_VERSION_MAJOR >= 10
static inline int virtio_gpu_add_blocker(Error **reasonp, Error **errp)
{
    return migrate_add_blocker(reasonp, errp);
}

static inline void virtio_gpu_del_blocker(Error **reasonp)
{
    migrate_del_blocker(reasonp);
}
#else
static inline int virtio_gpu_add_blocker(Error **reasonp, Error **errp)
{
    int ret = migrate_add_blocker(*reasonp, errp);

    if (ret < 0) {
        error_free(*reasonp);
        *reasonp = NULL;
    }
    return ret;
}

static inline void virtio_gpu_del_blocker(Error **reasonp)
{
    if (*reasonp) {
        migrate_del_blocker(*reasonp);
        error_free(*reasonp);
        *reasonp = NULL;
    }
}
#endif

/* Whether the virgl device's renderer waits to be reset. */
#if QEMU_VERSION_MAJOR >= 10
#define VIRTIO_GPU_GL_RESET_PENDING(gl) ((gl)->renderer_state == RS_RESET)
#else
#define VIRTIO_GPU_GL_RESET_PENDING(gl) ((gl)->renderer_reset)
#endif

#endif
