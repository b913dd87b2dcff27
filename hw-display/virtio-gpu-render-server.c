/*
 * virgl-render-server: virglrenderer's render server, started as QEMU
 * starts, before its seccomp sandbox
 *
 *   -object virgl-render-server,id=rs0[,path=EXECUTABLE]
 *   -device virtio-gpu-gl-pci,blob=on,hostmem=...,venus=on,render-server=rs0
 *
 * Left to itself, virglrenderer forks and execs the server on the
 * guest's first command, which -sandbox spawn=deny (libvirt's default)
 * forbids.  This object is created before the sandbox is installed:
 * it starts the server on one end of a socket pair, and the device
 * hands the other end to virglrenderer through its get_server_fd
 * callback.  The server, and the worker it forks per context, then
 * run outside QEMU's filter, as without -sandbox.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/config-file.h"
#include "qemu/option.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "hw/qdev-core.h"
#include "hw/virtio/virtio-gpu-render-server.h"
#include "trace.h"

#include <sys/socket.h>
#include <sys/wait.h>

/* The fd the server is told to talk on. */
#define SERVER_SOCKET_FD 3

struct VirtIOGPURenderServer {
    Object parent_obj;
    char *path;
    int fd;                     /* QEMU's end, until taken */
    pid_t pid;
};

bool virtio_gpu_render_server_spawn_denied(void)
{
    QemuOptsList *list = qemu_find_opts_err("sandbox", NULL);
    QemuOpts *opts = list ? qemu_opts_find(list, NULL) : NULL;
    const char *spawn = opts ? qemu_opt_get(opts, "spawn") : NULL;

    return opts && qemu_opt_get_bool(opts, "enable", false) &&
           spawn && g_str_equal(spawn, "deny");
}

/*
 * In the child, between fork and exec: only async-signal-safe calls.
 * The server gets the socket as fd 3 and no other fd of QEMU's; its own
 * process group keeps a terminal's signals to QEMU.
 */
static void G_NORETURN render_server_exec(const char *path, int fd)
{
    char *const argv[] = {
        (char *)path, (char *)"--socket-fd",
        (char *)stringify(SERVER_SOCKET_FD), NULL
    };

    setpgid(0, 0);
    /* dup2() clears close-on-exec on its copy, fcntl() on fd itself */
    if (fd == SERVER_SOCKET_FD ? fcntl(fd, F_SETFD, 0) < 0 :
        dup2(fd, SERVER_SOCKET_FD) < 0) {
        _exit(127);
    }
    close_range(SERVER_SOCKET_FD + 1, ~0U, 0);
    execv(path, argv);
    _exit(127);
}

static void render_server_complete(UserCreatable *uc, Error **errp)
{
    VirtIOGPURenderServer *rs = VIRTIO_GPU_RENDER_SERVER(uc);
    int sv[2];

    /* After -object's turn the sandbox may be on, and 7.2 kills on fork */
    if (phase_check(PHASE_MACHINE_CREATED) &&
        virtio_gpu_render_server_spawn_denied()) {
        error_setg(errp, "virgl-render-server: -sandbox spawn=deny is on; "
                   "give the object on the command line (-object)");
        return;
    }
    if (access(rs->path, X_OK)) {
        error_setg_errno(errp, errno, "virgl-render-server: cannot run %s "
                         "(Debian package virgl-server)", rs->path);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        error_setg_errno(errp, errno, "virgl-render-server: socketpair");
        return;
    }
    rs->pid = fork();
    if (rs->pid == 0) {
        render_server_exec(rs->path, sv[1]);
    }
    close(sv[1]);
    if (rs->pid < 0) {
        error_setg_errno(errp, errno, "virgl-render-server: fork");
        close(sv[0]);
        return;
    }
    rs->fd = sv[0];
}

int virtio_gpu_render_server_take_fd(VirtIOGPURenderServer *rs)
{
    int fd = rs->fd;

    rs->fd = -1;
    trace_virtio_gpu_render_server_take(rs->path, rs->pid, fd);
    return fd;
}

static char *render_server_get_path(Object *obj, Error **errp)
{
    return g_strdup(VIRTIO_GPU_RENDER_SERVER(obj)->path);
}

static void render_server_set_path(Object *obj, const char *value,
                                   Error **errp)
{
    VirtIOGPURenderServer *rs = VIRTIO_GPU_RENDER_SERVER(obj);

    if (rs->pid > 0) {
        error_setg(errp, "virgl-render-server: the server already runs");
        return;
    }
    g_free(rs->path);
    rs->path = g_strdup(value);
}

/* A device holds a reference while it may still take the fd. */
static bool render_server_can_be_deleted(UserCreatable *uc)
{
    return OBJECT(uc)->ref == 1;
}

static void render_server_init(Object *obj)
{
    VirtIOGPURenderServer *rs = VIRTIO_GPU_RENDER_SERVER(obj);

    rs->path = g_strdup(CONFIG_VIRGL_RENDER_SERVER);
    rs->fd = -1;
    rs->pid = -1;
}

/* Closing QEMU's end ends the server; reap it if it is gone already. */
static void render_server_finalize(Object *obj)
{
    VirtIOGPURenderServer *rs = VIRTIO_GPU_RENDER_SERVER(obj);

    if (rs->fd >= 0) {
        close(rs->fd);
    }
    if (rs->pid > 0) {
        waitpid(rs->pid, NULL, WNOHANG);
    }
    g_free(rs->path);
}

static void render_server_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = render_server_complete;
    ucc->can_be_deleted = render_server_can_be_deleted;
    object_class_property_add_str(oc, "path", render_server_get_path,
                                  render_server_set_path);
    object_class_property_set_description(oc, "path",
        "virglrenderer's render server executable (default "
        CONFIG_VIRGL_RENDER_SERVER ")");
}

static const TypeInfo render_server_info = {
    .name = TYPE_VIRTIO_GPU_RENDER_SERVER,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VirtIOGPURenderServer),
    .instance_init = render_server_init,
    .instance_finalize = render_server_finalize,
    .class_init = render_server_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void render_server_register_types(void)
{
    type_register_static(&render_server_info);
}

type_init(render_server_register_types)
