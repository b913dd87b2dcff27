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
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "hw/qdev-core.h"
#include "hw/virtio/virtio-gpu-render-server.h"
#include "trace.h"

#include <spawn.h>
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

static int sandbox_denies_spawn(void *opaque, QemuOpts *opts, Error **errp)
{
    const char *spawn = qemu_opt_get(opts, "spawn");

    /* each -sandbox installs a filter of its own */
    return qemu_opt_get_bool(opts, "enable", false) &&
           spawn && g_str_equal(spawn, "deny");
}

bool virtio_gpu_render_server_spawn_denied(void)
{
    QemuOptsList *list = qemu_find_opts_err("sandbox", NULL);

    return list && qemu_opts_foreach(list, sandbox_denies_spawn, NULL, NULL);
}

/*
 * posix_spawn(), not fork(): no atfork handler of QEMU's runs.  The
 * server gets the socket as fd 3, no other fd of QEMU's but its stdio
 * (/dev/null if QEMU daemonizes, which it does after this), and a
 * process group of its own, so that a terminal's signals stay QEMU's.
 */
static int render_server_spawn(VirtIOGPURenderServer *rs, int fd)
{
    char fd_str[] = stringify(SERVER_SOCKET_FD);
    char *argv[] = { rs->path, (char *)"--socket-fd", fd_str, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int i, err;

    posix_spawn_file_actions_init(&fa);
    for (i = 0; is_daemonized() && i < 3; i++) {
        posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
    }
    posix_spawn_file_actions_adddup2(&fa, fd, SERVER_SOCKET_FD);
    posix_spawn_file_actions_addclosefrom_np(&fa, SERVER_SOCKET_FD + 1);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    err = posix_spawn(&rs->pid, rs->path, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

static void render_server_complete(UserCreatable *uc, Error **errp)
{
    VirtIOGPURenderServer *rs = VIRTIO_GPU_RENDER_SERVER(uc);
    int sv[2], fd, err;

    /* After -object's turn the sandbox may be on, and 7.2 kills on fork */
    if (phase_check(PHASE_MACHINE_CREATED) &&
        virtio_gpu_render_server_spawn_denied()) {
        error_setg(errp, "virgl-render-server: -sandbox spawn=deny is on; "
                   "give the object on the command line (-object)");
        return;
    }
    /* The server would keep the user and root QEMU then leaves. */
    if (os_drops_privileges()) {
        error_setg(errp, "virgl-render-server: QEMU changes its user or "
                   "root directory once started (-runas, -run-with, "
                   "-chroot), and the server would not; start QEMU as "
                   "that user instead");
        return;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        error_setg_errno(errp, errno, "virgl-render-server: socketpair");
        return;
    }
    /* above fd 3, so that dup2 onto 3 makes a copy without close-on-exec */
    fd = fcntl(sv[1], F_DUPFD_CLOEXEC, SERVER_SOCKET_FD + 1);
    err = fd < 0 ? errno : render_server_spawn(rs, fd);
    close(sv[1]);
    if (fd >= 0) {
        close(fd);
    }
    if (err) {
        error_setg_errno(errp, err, "virgl-render-server: cannot run %s%s",
                         rs->path,
                         g_str_equal(rs->path, CONFIG_VIRGL_RENDER_SERVER) ?
                         " (Debian package virgl-server)" : "");
        rs->pid = -1;
        close(sv[0]);
        return;
    }
    rs->fd = sv[0];
}

int virtio_gpu_render_server_take_fd(VirtIOGPURenderServer *rs)
{
    int fd = rs->fd;
    int sv[2];

    rs->fd = -1;
    trace_virtio_gpu_render_server_take(rs->path, rs->pid, fd);
    if (fd >= 0) {
        return fd;
    }
    /*
     * Given once already, to an init that failed since (7.2 tries again
     * after a reset): a dead connection fails this one too, where -1
     * would let virglrenderer fork, which the sandbox punishes.
     */
    error_report("virgl-render-server: its server was given out already");
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        return -1;
    }
    close(sv[1]);
    return sv[0];
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
