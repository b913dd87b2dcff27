/*
 * virgl-render-server: virglrenderer's render server, started before
 * QEMU's seccomp sandbox (hw/display/virtio-gpu-render-server.c)
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_GPU_RENDER_SERVER_H
#define HW_VIRTIO_GPU_RENDER_SERVER_H

#include "qom/object.h"

#define TYPE_VIRTIO_GPU_RENDER_SERVER "virgl-render-server"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIOGPURenderServer, VIRTIO_GPU_RENDER_SERVER)

/*
 * QEMU's end of the connection to the server, which the caller then
 * owns; once only, -1 after.
 */
int virtio_gpu_render_server_take_fd(VirtIOGPURenderServer *rs);

/* Whether -sandbox forbids this process to fork and exec. */
bool virtio_gpu_render_server_spawn_denied(void);

#endif
