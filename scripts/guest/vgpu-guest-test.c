/*
 * In-guest test of virtio-gpu blob resources and host-visible memory,
 * through the Linux virtio-gpu DRM driver's uAPI.  Static, no libdrm
 * (Debian 12's header predates blobs): the uAPI is defined here.
 * Prints TAP, then "N passed, N failed".
 *
 *   vgpu-guest-test [/dev/dri/cardN]        the checks
 *   vgpu-guest-test --bench [/dev/dri/...]  map-path timings too
 *   vgpu-guest-test --bench-shm    venus shm blobs' map cycle, many live
 *   vgpu-guest-test --fb-fill      draw a pattern on /dev/fb0 and wait
 *   vgpu-guest-test --demo [/dev/dri/...]   and print the rendered frame
 *   vgpu-guest-test --soak ROUNDS [/dev/...] only the ring-filling workload
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fb.h>

#include "hostvis.h"
#include "tap.h"
#include "virtgpu-uapi.h"

/* ---- the parts of virgl's protocol used here ---- */
#define VIRGL_CMD0(cmd, obj, len) ((cmd) | ((obj) << 8) | ((len) << 16))
#define VIRGL_CCMD_CREATE_OBJECT 1
#define VIRGL_CCMD_SET_FRAMEBUFFER_STATE 5
#define VIRGL_CCMD_CLEAR 7
#define VIRGL_CCMD_RESOURCE_COPY_REGION 17
#define VIRGL_CCMD_CLEAR_TEXTURE 47
#define VIRGL_CCMD_PIPE_RESOURCE_CREATE 48
#define VIRGL_OBJECT_SURFACE 8
#define VIRGL_FORMAT_B8G8R8A8_UNORM 1
#define PIPE_TEXTURE_2D 2
#define PIPE_CLEAR_COLOR0 (1 << 2)
#define VIRGL_BIND_RENDER_TARGET (1 << 1)
#define VIRGL_FORMAT_R8_UNORM 64
#define PIPE_BUFFER 0
#define VIRGL_BIND_VERTEX_BUFFER (1 << 4)
#define VIRGL_RESOURCE_FLAG_MAP_PERSISTENT (1 << 1)
#define VIRGL_RESOURCE_FLAG_MAP_COHERENT   (1 << 2)

static int fd;
static int xioctl(unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int64_t getparam(uint64_t param)
{
    int value = 0;
    struct drm_virtgpu_getparam gp = { param, (uintptr_t)&value };

    return xioctl(IOCTL_GETPARAM, &gp) ? -1 : value;
}

static void gem_close(uint32_t handle)
{
    struct drm_gem_close c = { handle, 0 };

    xioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

static void *bo_mmap(uint32_t handle, size_t size)
{
    struct drm_virtgpu_map m = { .handle = handle };
    void *p;

    if (xioctl(IOCTL_MAP, &m)) {
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
    return p == MAP_FAILED ? NULL : p;
}

/* A mappable HOST3D blob, made the way Mesa's virgl driver does. */
static int host3d_blob(uint32_t blob_id, uint32_t size, bool mappable,
                       uint32_t *handle, uint32_t *res)
{
    uint32_t cmd[] = {
        VIRGL_CMD0(VIRGL_CCMD_PIPE_RESOURCE_CREATE, 0, 11),
        PIPE_BUFFER, VIRGL_FORMAT_R8_UNORM, VIRGL_BIND_VERTEX_BUFFER,
        size, 1, 1, 1, 0, 0,
        VIRGL_RESOURCE_FLAG_MAP_PERSISTENT | VIRGL_RESOURCE_FLAG_MAP_COHERENT,
        blob_id,
    };
    struct drm_virtgpu_resource_create_blob cb = {
        .blob_mem = BLOB_MEM_HOST3D,
        .blob_flags = mappable ? BLOB_FLAG_MAPPABLE : 0,
        .size = size, .cmd_size = sizeof(cmd), .cmd = (uintptr_t)cmd,
        .blob_id = blob_id,
    };
    int r = xioctl(IOCTL_CREATE_BLOB, &cb);

    *handle = cb.bo_handle;
    if (res) {
        *res = cb.res_handle;
    }
    return r;
}

/* A buffer resource with guest pages, to see what the renderer sees. */
static int guest_buffer(uint32_t size, uint32_t *handle, uint32_t *res)
{
    struct drm_virtgpu_resource_create rc = {
        .target = PIPE_BUFFER, .format = VIRGL_FORMAT_R8_UNORM,
        .bind = VIRGL_BIND_VERTEX_BUFFER, .width = size, .height = 1,
        .depth = 1, .array_size = 1, .size = size,
    };
    int r = xioctl(IOCTL_RESOURCE_CREATE, &rc);

    *handle = rc.bo_handle;
    *res = rc.res_handle;
    return r;
}

static int submit(const uint32_t *cmd, size_t ndw, uint32_t *bos, int nbos)
{
    struct drm_virtgpu_execbuffer eb = {
        .size = ndw * 4, .command = (uintptr_t)cmd,
        .bo_handles = (uintptr_t)bos, .num_bo_handles = nbos,
        .fence_fd = -1,
    };

    return xioctl(IOCTL_EXECBUFFER, &eb);
}

static int wait_bo(uint32_t handle)
{
    struct drm_virtgpu_3d_wait w = { handle, 0 };

    return xioctl(IOCTL_WAIT, &w);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_params(void)
{
    int64_t caps;

    check(getparam(PARAM_3D_FEATURES) == 1, "param 3D_FEATURES");
    check(getparam(PARAM_RESOURCE_BLOB) == 1, "param RESOURCE_BLOB");
    check(getparam(PARAM_HOST_VISIBLE) == 1, "param HOST_VISIBLE");
    check(getparam(PARAM_CONTEXT_INIT) == 1, "param CONTEXT_INIT");
    caps = getparam(PARAM_SUPPORTED_CAPSET_IDS);
    check(caps > 0 && (caps & (1 << CAPSET_VIRGL)) &&
          (caps & (1 << CAPSET_VIRGL2)),
          "param SUPPORTED_CAPSET_IDs 0x%llx has virgl and virgl2",
          (long long)caps);
}

static void test_context_init(void)
{
    struct drm_virtgpu_context_set_param p = {
        CONTEXT_PARAM_CAPSET_ID, CAPSET_VIRGL2
    };
    struct drm_virtgpu_context_init ci = { 1, 0, (uintptr_t)&p };

    check(xioctl(IOCTL_CONTEXT_INIT, &ci) == 0, "CONTEXT_INIT with virgl2");
}

static void test_guest_blob(void)
{
    struct drm_virtgpu_resource_create_blob cb = {
        .blob_mem = BLOB_MEM_GUEST, .blob_flags = BLOB_FLAG_MAPPABLE,
        .size = 64 * 1024,
    };
    uint8_t *p;
    size_t i;
    bool same = true;

    check(xioctl(IOCTL_CREATE_BLOB, &cb) == 0, "GUEST blob created");
    p = bo_mmap(cb.bo_handle, cb.size);
    check(p != NULL, "GUEST blob mmap");
    if (p) {
        for (i = 0; i < cb.size; i++) {
            p[i] = i * 31 + 7;
        }
        for (i = 0; i < cb.size; i++) {
            same &= p[i] == (uint8_t)(i * 31 + 7);
        }
        check(same, "GUEST blob reads back what was written");
        munmap(p, cb.size);
    }
    gem_close(cb.bo_handle);
}

static void test_host3d_blob(void)
{
    const uint32_t size = 64 * 1024;
    uint32_t blob, blob_res, buf, buf_res, i, bos[2];
    uint8_t *map, *view;
    bool same = true;

    check(host3d_blob(1, size, true, &blob, &blob_res) == 0,
          "HOST3D mappable blob created with an inline PIPE_RESOURCE_CREATE");
    map = bo_mmap(blob, size);
    check(map != NULL, "HOST3D blob: VIRTGPU_MAP and mmap");
    if (!map) {
        return;
    }
    for (i = 0; i < size; i++) {
        map[i] = i * 13 + (i >> 8);
    }
    for (i = 0; i < size; i++) {
        same &= map[i] == (uint8_t)(i * 13 + (i >> 8));
    }
    check(same, "HOST3D blob reads back what was written");

    /* The host's view: the renderer copies it into a guest buffer. */
    check(guest_buffer(size, &buf, &buf_res) == 0, "guest buffer created");
    {
        uint32_t copy[] = {
            VIRGL_CMD0(VIRGL_CCMD_RESOURCE_COPY_REGION, 0, 13),
            buf_res, 0, 0, 0, 0, blob_res, 0, 0, 0, 0, size, 1, 1,
        };
        struct drm_virtgpu_3d_transfer t = {
            .bo_handle = buf, .box = { 0, 0, 0, size, 1, 1 },
        };

        bos[0] = blob;
        bos[1] = buf;
        check(submit(copy, sizeof(copy) / 4, bos, 2) == 0,
              "renderer copies the blob into the guest buffer");
        check(xioctl(IOCTL_TRANSFER_FROM_HOST, &t) == 0 && wait_bo(buf) == 0,
              "TRANSFER_FROM_HOST of the guest buffer");
    }
    view = bo_mmap(buf, size);
    same = view != NULL;
    for (i = 0; view && i < size; i++) {
        same &= view[i] == (uint8_t)(i * 13 + (i >> 8));
    }
    check(same, "the host sees the bytes written through the mapping");
    if (view) {
        munmap(view, size);
    }
    munmap(map, size);
    gem_close(buf);
    gem_close(blob);
}

static void test_many_mappings(int n)
{
    uint32_t *handles = calloc(n, sizeof(*handles));
    uint8_t **maps = calloc(n, sizeof(*maps));
    int i, made = 0, mapped = 0, intact = 0;

    for (i = 0; i < n; i++) {
        if (host3d_blob(100 + i, 4096, true, &handles[i], NULL)) {
            break;
        }
        made++;
        maps[i] = bo_mmap(handles[i], 4096);
        if (maps[i]) {
            mapped++;
            memset(maps[i], i, 4096);
        }
    }
    for (i = 0; i < n; i++) {
        intact += maps[i] && maps[i][4095] == (uint8_t)i &&
                  maps[i][0] == (uint8_t)i;
    }
    check(made == n && mapped == n && intact == n,
          "%d HOST3D blobs mapped at once, each keeps its bytes "
          "(made %d, mapped %d, intact %d)", n, made, mapped, intact);
    for (i = 0; i < made; i++) {
        if (maps[i]) {
            munmap(maps[i], 4096);
        }
        gem_close(handles[i]);
    }
    free(handles);
    free(maps);
}

static void test_not_mappable(void)
{
    uint32_t handle;
    struct drm_virtgpu_map m;
    int r;

    check(host3d_blob(2, 4096, false, &handle, NULL) == 0,
          "HOST3D blob without MAPPABLE created");
    m = (struct drm_virtgpu_map) { .handle = handle };
    r = xioctl(IOCTL_MAP, &m);
    if (!r) {
        void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, m.offset);

        r = p == MAP_FAILED ? -errno : 0;
        if (p != MAP_FAILED) {
            munmap(p, 4096);
        }
    }
    check(r != 0, "mapping it fails (%d)", r);
    gem_close(handle);
    /* and the device keeps working */
    check(host3d_blob(3, 4096, true, &handle, NULL) == 0 &&
          bo_mmap(handle, 4096) != NULL, "a mappable blob still maps");
    gem_close(handle);
}

/*
 * The driver's own failure paths and odd orders (Linux 6.1's
 * drivers/gpu/drm/virtio).  None may draw an error reply from the
 * device but the MAP it is meant to refuse, or leak a range of the
 * host-visible region.  The runner checks the kernel log against the
 * "# expect-kernel-error" lines printed here.
 */
static void test_driver_paths(const char *dev)
{
    const uint32_t persistent_off = 0;
    uint32_t handle, handles[8];
    int before, i, made, other, r;
    uint8_t *p;

    /* Blobs closed earlier give their ranges back asynchronously. */
    before = host_visible_nodes();
    for (i = 0; i < 50; i++) {
        usleep(100 * 1000);
        if (host_visible_nodes() == before) {
            break;
        }
        before = host_visible_nodes();
    }

    /*
     * Create failing in the guest: a blob larger than the region is
     * created on the host (max_hostmem allows it), finds no range, and
     * the driver frees it again with a bare UNREF.
     */
    r = host3d_blob(7000, 272 << 20, true, &handle, NULL);
    check(r == -ENOSPC && host_visible_nodes() == before,
          "a blob larger than the region fails in the guest (%d), and "
          "leaves no range behind", r);

    /*
     * MAP refused by the device: MAPPABLE over a renderer object that
     * cannot be mapped.  The guest's mmap fails; closing it then sends
     * UNMAP (the range is still reserved) and UNREF, which must pass.
     */
    {
        uint32_t cmd[] = {
            VIRGL_CMD0(VIRGL_CCMD_PIPE_RESOURCE_CREATE, 0, 11),
            PIPE_BUFFER, VIRGL_FORMAT_R8_UNORM, VIRGL_BIND_VERTEX_BUFFER,
            4096, 1, 1, 1, 0, 0, persistent_off, 7001,
        };
        struct drm_virtgpu_resource_create_blob cb = {
            .blob_mem = BLOB_MEM_HOST3D, .blob_flags = BLOB_FLAG_MAPPABLE,
            .size = 4096, .cmd_size = sizeof(cmd), .cmd = (uintptr_t)cmd,
            .blob_id = 7001,
        };

        printf("# expect-kernel-error response 0x1200 (command 0x208)\n");
        fflush(stdout);
        r = xioctl(IOCTL_CREATE_BLOB, &cb);
        p = r ? NULL : bo_mmap(cb.bo_handle, 4096);
        check(r == 0 && p == NULL, "a MAP the device refuses makes mmap "
              "fail (create %d)", r);
        if (!r) {
            gem_close(cb.bo_handle);
        }
    }

    /* UNREF while the MAP is in flight: created and closed at once. */
    for (i = 0, made = 0; i < 32; i++) {
        if (host3d_blob(7100 + i, 4096, true, &handle, NULL) == 0) {
            gem_close(handle);
            made++;
        }
    }
    check(made == 32, "32 mappable blobs closed before their MAP "
          "was answered");

    /*
     * A context destroyed with live, mapped blobs: a second DRM file,
     * closed with its handles open.  Linux sends CTX_DESTROY first and
     * UNMAP/UNREF of each blob afterwards.
     */
    other = open(dev, O_RDWR | O_CLOEXEC);
    if (check(other >= 0, "a second DRM file")) {
        int mine = fd;

        fd = other;
        {
            struct drm_virtgpu_context_set_param cp = {
                CONTEXT_PARAM_CAPSET_ID, CAPSET_VIRGL2
            };
            struct drm_virtgpu_context_init ci = { 1, 0, (uintptr_t)&cp };

            r = xioctl(IOCTL_CONTEXT_INIT, &ci);
        }
        for (i = 0, made = 0; r == 0 && i < 8; i++) {
            if (host3d_blob(7200 + i, 4096, true, &handles[i], NULL) == 0 &&
                (p = bo_mmap(handles[i], 4096)) != NULL) {
                p[0] = i;
                munmap(p, 4096);
                made++;
            }
        }
        fd = mine;
        close(other);
        check(made == 8, "8 mapped blobs live when their file and context "
              "went away");
    }

    /* Fences on a context's rings (virgl2, two rings). */
    other = open(dev, O_RDWR | O_CLOEXEC);
    if (other >= 0) {
        struct drm_virtgpu_context_set_param cp[] = {
            { CONTEXT_PARAM_CAPSET_ID, CAPSET_VIRGL2 },
            { CONTEXT_PARAM_NUM_RINGS, 2 },
        };
        struct drm_virtgpu_context_init ci = { 2, 0, (uintptr_t)cp };
        static const uint32_t nop[] = { VIRGL_CMD0(0, 0, 0) };
        struct drm_virtgpu_execbuffer eb = {
            .flags = EXECBUF_FENCE_FD_OUT | EXECBUF_RING_IDX,
            .size = sizeof(nop), .command = (uintptr_t)nop,
            .fence_fd = -1, .ring_idx = 1,
        };
        struct pollfd pfd;
        int mine = fd;

        fd = other;
        r = xioctl(IOCTL_CONTEXT_INIT, &ci);
        if (!r) {
            r = xioctl(IOCTL_EXECBUFFER, &eb);
        }
        fd = mine;
        pfd = (struct pollfd) { .fd = eb.fence_fd, .events = POLLIN };
        check(r == 0 && eb.fence_fd >= 0 && poll(&pfd, 1, 10000) == 1,
              "a fence on ring 1 of a two-ring context signals (%d)", r);
        if (eb.fence_fd >= 0) {
            close(eb.fence_fd);
        }
        close(other);
    }

    /* The frees above are asynchronous: give them a moment. */
    for (i = 0; i < 50 && host_visible_nodes() != before; i++) {
        usleep(100 * 1000);
    }
    check(host_visible_nodes() == before, "every range of the region is "
          "back (%d held, %d before)", host_visible_nodes(), before);
}

/*
 * A frame rendered by virgl (on the host's GPU, or llvmpipe): a clear,
 * then boxes cleared in other colours, read back into guest memory.
 */
#define FRAME_W 96
#define FRAME_H 64

static uint32_t frame_color(int x, int y)
{
    if (x >= 8 && x < 40 && y >= 8 && y < 56) {
        return 0xffd03020;          /* red box (BGRA bytes: 20 30 d0 ff) */
    }
    if (x >= 56 && x < 88 && y >= 8 && y < 32) {
        return 0xff30c050;          /* green box */
    }
    if (x >= 56 && x < 88 && y >= 40 && y < 56) {
        return 0xfff0d020;          /* yellow box */
    }
    return 0xff102060;              /* dark blue */
}

static uint32_t fbits(float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    return u;
}

static uint32_t clear_box(uint32_t *c, uint32_t res, int x, int y, int w,
                          int h, uint32_t argb)
{
    c[0] = VIRGL_CMD0(VIRGL_CCMD_CLEAR_TEXTURE, 0, 12);
    c[1] = res;
    c[2] = 0;
    c[3] = x;
    c[4] = y;
    c[5] = 0;
    c[6] = w;
    c[7] = h;
    c[8] = 1;
    /* the clear value, as packed B8G8R8A8 */
    c[9] = argb;
    c[10] = 0;
    c[11] = 0;
    c[12] = 0;
    return 13;
}

static void test_render(bool print)
{
    const uint32_t size = FRAME_W * FRAME_H * 4;
    struct drm_virtgpu_resource_create rc = {
        .target = PIPE_TEXTURE_2D, .format = VIRGL_FORMAT_B8G8R8A8_UNORM,
        .bind = VIRGL_BIND_RENDER_TARGET, .width = FRAME_W,
        .height = FRAME_H, .depth = 1, .array_size = 1, .size = size,
    };
    uint32_t cmd[128], n = 0, bg = frame_color(0, 0);
    struct drm_virtgpu_3d_transfer t = {
        /* stride 0: the kernel takes it from the resource */
        .bo_handle = 0, .box = { 0, 0, 0, FRAME_W, FRAME_H, 1 },
    };
    uint32_t *pix;
    int x, y, r, bad = 0;

    check(xioctl(IOCTL_RESOURCE_CREATE, &rc) == 0,
          "render target %dx%d created", FRAME_W, FRAME_H);
    cmd[n++] = VIRGL_CMD0(VIRGL_CCMD_CREATE_OBJECT, VIRGL_OBJECT_SURFACE, 5);
    cmd[n++] = 1;
    cmd[n++] = rc.res_handle;
    cmd[n++] = VIRGL_FORMAT_B8G8R8A8_UNORM;
    cmd[n++] = 0;
    cmd[n++] = 0;
    cmd[n++] = VIRGL_CMD0(VIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0, 3);
    cmd[n++] = 1;
    cmd[n++] = 0;
    cmd[n++] = 1;
    cmd[n++] = VIRGL_CMD0(VIRGL_CCMD_CLEAR, 0, 8);
    cmd[n++] = PIPE_CLEAR_COLOR0;
    cmd[n++] = fbits(((bg >> 16) & 0xff) / 255.0f);
    cmd[n++] = fbits(((bg >> 8) & 0xff) / 255.0f);
    cmd[n++] = fbits((bg & 0xff) / 255.0f);
    cmd[n++] = fbits(1.0f);
    cmd[n++] = 0;
    cmd[n++] = 0;
    cmd[n++] = 0;
    n += clear_box(cmd + n, rc.res_handle, 8, 8, 32, 48, frame_color(8, 8));
    n += clear_box(cmd + n, rc.res_handle, 56, 8, 32, 24,
                   frame_color(56, 8));
    n += clear_box(cmd + n, rc.res_handle, 56, 40, 32, 16,
                   frame_color(56, 40));
    check(submit(cmd, n, &rc.bo_handle, 1) == 0,
          "virgl clears the frame and three boxes in it");
    t.bo_handle = rc.bo_handle;
    r = xioctl(IOCTL_TRANSFER_FROM_HOST, &t);
    if (!r) {
        r = wait_bo(rc.bo_handle);
    }
    check(r == 0, "TRANSFER_FROM_HOST of the frame (%d)", r);
    pix = bo_mmap(rc.bo_handle, size);
    for (y = 0; pix && y < FRAME_H; y++) {
        for (x = 0; x < FRAME_W; x++) {
            /* 8 bits a channel: the clear rounds to within one step */
            uint32_t want = frame_color(x, y), got = pix[y * FRAME_W + x];
            int c;

            for (c = 0; c < 32; c += 8) {
                bad += abs((int)((want >> c) & 0xff) -
                           (int)((got >> c) & 0xff)) > 1;
            }
        }
    }
    check(pix && !bad, "the frame read back is the one drawn (%d channels "
          "off)", bad);
    if (pix && print) {
        printf("VGPU-FRAME %d %d\n", FRAME_W, FRAME_H);
        for (y = 0; y < FRAME_H; y++) {
            for (x = 0; x < FRAME_W; x++) {
                printf("%08x", pix[y * FRAME_W + x]);
            }
            printf("\n");
        }
        printf("VGPU-FRAME-END\n");
    }
    if (pix) {
        munmap(pix, size);
    }
    gem_close(rc.bo_handle);
}

/* The median of @n timings (sorts them). */
static double median_us(double *t, int n)
{
    int i, j;

    for (i = 1; i < n; i++) {
        double v = t[i];

        for (j = i; j > 0 && t[j - 1] > v; j--) {
            t[j] = t[j - 1];
        }
        t[j] = v;
    }
    return t[n / 2];
}

/* One map cycle as Mesa does it: create, map, touch, unmap, close. */
static bool map_cycle(uint32_t id)
{
    uint32_t handle;
    uint8_t *p;
    bool ok;

    if (host3d_blob(id, 64 * 1024, true, &handle, NULL)) {
        return false;
    }
    p = bo_mmap(handle, 64 * 1024);
    ok = p != NULL;
    if (p) {
        p[0] = 1;
        p[65535] = 2;
        ok = p[0] == 1 && p[65535] == 2;
        munmap(p, 64 * 1024);
    }
    gem_close(handle);
    return ok;
}

/* The Linux map path, timed: create, map, touch, unmap, close. */
static void bench(void)
{
    enum { N = 100 };
    double each[N], t0, t, min = 1e12;
    int i, ok = 0;

    t0 = now_us();
    for (i = 0; i < N; i++) {
        double s = now_us();

        ok += map_cycle(1000 + i);
        each[i] = now_us() - s;
        min = each[i] < min ? each[i] : min;
    }
    t = now_us() - t0;
    printf("# map-cycle median %.2f ms, fastest %.2f ms, mean %.2f ms "
           "(create 64 KiB HOST3D blob, map, touch, unmap, close; "
           "%d iterations)\n", median_us(each, N) / 1000, min / 1000,
           t / N / 1000, N);
    check(ok == N, "map cycles all saw their bytes (%d/%d)", ok, N);
}

/*
 * --bench-shm: the map cycle of blobs the host backs with a file, as
 * venus makes its shared memory (a venus context, HOST3D, exactly
 * MAPPABLE, blob_id 0): create, map, touch every page, unmap, close;
 * with 1, 1024 and 4096 such blobs live, or as many as the region
 * takes.  One "VGPU-SHM-BENCH live=N cycle_us=T" line each, and
 * "VGPU-SHM-BENCH live=N full" where the region took no more.
 */
enum { SHM_SIZE = 16 * 1024, SHM_CYCLES = 100, SHM_MAX = 4096 };

static bool shm_blob(uint32_t *handle, uint8_t **p)
{
    struct drm_virtgpu_resource_create_blob cb = {
        .blob_mem = BLOB_MEM_HOST3D, .blob_flags = BLOB_FLAG_MAPPABLE,
        .size = SHM_SIZE,
    };
    int i;

    if (xioctl(IOCTL_CREATE_BLOB, &cb)) {
        return false;
    }
    *handle = cb.bo_handle;
    *p = bo_mmap(cb.bo_handle, SHM_SIZE);
    if (!*p) {
        gem_close(cb.bo_handle);
        return false;
    }
    for (i = 0; i < SHM_SIZE; i += 4096) {
        (*p)[i] = i >> 12;
    }
    return true;
}

static void bench_shm(void)
{
    static const int steps[] = { 1, 1024, SHM_MAX };
    struct drm_virtgpu_context_set_param cp = {
        CONTEXT_PARAM_CAPSET_ID, CAPSET_VENUS
    };
    struct drm_virtgpu_context_init ci = { 1, 0, (uintptr_t)&cp };
    uint32_t *live = calloc(SHM_MAX, sizeof(*live)), handle;
    uint8_t **ptr = calloc(SHM_MAX, sizeof(*ptr)), *p;
    double t[SHM_CYCLES];
    int have = 0, i, n;
    bool full = false;

    if (!check(xioctl(IOCTL_CONTEXT_INIT, &ci) == 0,
               "bench-shm: a venus context")) {
        return;
    }
    for (i = 0; i < 3 && !full; i++) {
        while (have < steps[i] &&
               !(full = !shm_blob(&live[have], &ptr[have]))) {
            have++;
        }
        if (full) {
            /* past max_mappings= without a heap: MAP_BLOB refused */
            printf("VGPU-SHM-BENCH live=%d full\n", have);
            break;
        }
        for (n = 0; n < SHM_CYCLES; n++) {
            double s = now_us();

            if (!shm_blob(&handle, &p)) {
                break;
            }
            munmap(p, SHM_SIZE);
            gem_close(handle);
            t[n] = now_us() - s;
        }
        check(n == SHM_CYCLES, "bench-shm: %d cycles with %d live", n,
              have);
        if (n) {
            printf("VGPU-SHM-BENCH live=%d cycle_us=%.1f\n", have,
                   median_us(t, n));
        }
    }
    while (have--) {
        munmap(ptr[have], SHM_SIZE);
        gem_close(live[have]);
    }
    free(live);
    free(ptr);
}

/*
 * --fb-fill: the console's framebuffer (the DRM driver's fbdev, a dumb
 * buffer: a GUEST blob where the device has blobs) filled with
 * fb_pixel(), then "VGPU-FB-READY W H" and a wait for the host to look.
 */
static uint32_t fb_pixel(uint32_t x, uint32_t y)
{
    return ((x * 3) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((x ^ y) & 0xff);
}

static void fb_fill(void)
{
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    int fb = -1, i;
    uint32_t x, y;
    uint8_t *p;

    for (i = 0; i < 100 && fb < 0; i++) {
        fb = open("/dev/fb0", O_RDWR);
        if (fb < 0) {
            usleep(100 * 1000);
        }
    }
    if (!check(fb >= 0 && !ioctl(fb, FBIOGET_VSCREENINFO, &var) &&
               !ioctl(fb, FBIOGET_FSCREENINFO, &fix) &&
               var.bits_per_pixel == 32, "fb-fill: /dev/fb0, 32 bpp")) {
        return;
    }
    p = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
    if (!check(p != MAP_FAILED, "fb-fill: mapped %ux%u, stride %u",
               var.xres, var.yres, fix.line_length)) {
        return;
    }
    for (y = 0; y < var.yres; y++) {
        for (x = 0; x < var.xres; x++) {
            memcpy(p + y * fix.line_length + x * 4,
                   &(uint32_t){ fb_pixel(x, y) }, 4);
        }
    }
    msync(p, fix.smem_len, MS_SYNC);
    /* the fbdev's deferred I/O flushes the damage within a second */
    sleep(2);
    printf("VGPU-FB-READY %u %u\n", var.xres, var.yres);
    fflush(stdout);
    sleep(600);
}

/* The fastest of three fills of @p with 1, 2, 3, in us. */
static double best_fill_us(uint8_t *p, size_t size)
{
    double s, best = 1e12;
    int i;

    for (i = 0; i < 3; i++) {
        s = now_us();
        memset(p, i + 1, size);
        s = now_us() - s;
        best = s < best ? s : best;
    }
    return best;
}

/*
 * Figures for scripts/bench/bench-compare.py, the same workload on any
 * QEMU: one "VGPU-BENCH name value" line each.
 */
static void bench_compare(void)
{
    static const int live_steps[] = { 0, 1, 64, 256, 1024 };
    enum { MAX_LIVE = 1024, CYCLES = 40, BW_SIZE = 16 << 20 };
    uint32_t *live = calloc(MAX_LIVE, sizeof(*live));
    uint8_t **ptr = calloc(MAX_LIVE, sizeof(*ptr));
    double t[CYCLES], s, cycle, tail;
    uint32_t id = 100000, handle;
    int have = 0, i, k, fast, bad = 0;
    uint8_t *p, *ram;

    for (k = 0; k < 5; k++) {
        while (have < live_steps[k]) {
            if (host3d_blob(id++, 64 * 1024, true, &live[have], NULL) ||
                !(ptr[have] = bo_mmap(live[have], 64 * 1024))) {
                check(false, "bench: live mapping %d", have);
                goto out;
            }
            ptr[have][0] = 1;
            have++;
        }
        for (i = 0; i < CYCLES; i++) {
            s = now_us();
            bad += !map_cycle(id++);
            t[i] = now_us() - s;
        }
        printf("VGPU-BENCH map_cycle_live_%d %.1f us\n", have,
               median_us(t, CYCLES));
    }
    /*
     * drain: give 256 live mappings back, until the device is through
     * with them.  The driver may queue the UNMAPs and UNREFs after a
     * later command, so no one reply marks the end: map cycles run until
     * three in a row take no longer than twice the cycle before the
     * drain (none of them is stuck behind the backlog).
     */
    cycle = t[CYCLES / 2];
    s = now_us();
    for (i = have - 256; i < have; i++) {
        munmap(ptr[i], 64 * 1024);
        gem_close(live[i]);
    }
    have -= 256;
    for (k = 0, fast = 0, tail = 0; fast < 3 && k < 100000; k++) {
        double c = now_us();

        bad += !map_cycle(id++);
        c = now_us() - c;
        fast = c <= 2 * cycle ? fast + 1 : 0;
        tail = fast ? tail + c : 0;
    }
    printf("VGPU-BENCH drain_256 %.1f us\n", now_us() - s - tail);

    /* SUBMIT + CREATE_BLOB + UNREF, then one MAP to wait for them all */
    s = now_us();
    for (i = 0; i < 200; i++) {
        if (host3d_blob(id++, 4096, false, &handle, NULL)) {
            bad++;
            continue;
        }
        gem_close(handle);
    }
    bad += !map_cycle(id++);
    printf("VGPU-BENCH create_unref_rate %.0f per_s\n",
           200 / ((now_us() - s) / 1e6));

    /* guest writes into a mapped blob, and into guest RAM */
    if (host3d_blob(id++, BW_SIZE, true, &handle, NULL) ||
        !(p = bo_mmap(handle, BW_SIZE))) {
        check(false, "bench: a %d MiB mapped blob", BW_SIZE >> 20);
        goto out;
    }
    ram = malloc(BW_SIZE);
    memset(ram, 0, BW_SIZE);
    memset(p, 0, BW_SIZE);
    printf("VGPU-BENCH write_blob %.0f MB_per_s\n",
           BW_SIZE / best_fill_us(p, BW_SIZE));
    printf("VGPU-BENCH write_ram %.0f MB_per_s\n",
           BW_SIZE / best_fill_us(ram, BW_SIZE));
    check(p[BW_SIZE - 1] == 3 && ram[BW_SIZE - 1] == 3,
          "bench: the last bytes written are there");
    munmap(p, BW_SIZE);
    gem_close(handle);
    free(ram);
out:
    check(bad == 0, "bench: every map cycle saw its bytes (%d bad)", bad);
    for (i = 0; i < have; i++) {
        munmap(ptr[i], 64 * 1024);
        gem_close(live[i]);
    }
    free(live);
    free(ptr);
}

/*
 * A reader of the device's own MMIO while the BAR's layout changes.
 * Every MAP and UNMAP changes the guest's physical address space; a
 * vCPU's access to any MMIO register must still reach that register.
 * A child process reads num_scanouts from the virtio-gpu device
 * configuration (through sysfs, which needs iomem=relaxed) in a loop,
 * sharing the one vCPU with the caller's MAP/UNMAP traffic.
 */
struct mmio_watch {
    volatile uint32_t *reg;
    uint32_t expect;
    pid_t pid;
    struct { volatile int stop; long reads, wrong; uint32_t seen[4]; } *st;
};

static const char *virtio_gpu_pci_dir(void)
{
    static char path[300];
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    char buf[32];
    FILE *f;

    while (d && (e = readdir(d))) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
                 e->d_name);
        f = fopen(path, "r");
        if (!f) {
            continue;
        }
        buf[0] = 0;
        if (!fgets(buf, sizeof(buf), f)) {
            buf[0] = 0;
        }
        fclose(f);
        if (!strncmp(buf, "0x1050", 6)) {
            snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s",
                     e->d_name);
            closedir(d);
            return path;
        }
    }
    if (d) {
        closedir(d);
    }
    return NULL;
}

/* The device configuration's BAR and offset, from its virtio PCI cap. */
static bool virtio_device_cfg(const char *dir, int *bar, uint32_t *off)
{
    uint8_t cfg[256];
    char path[340];
    int f, pos, n;

    snprintf(path, sizeof(path), "%s/config", dir);
    f = open(path, O_RDONLY);
    n = f < 0 ? -1 : pread(f, cfg, sizeof(cfg), 0);
    if (f >= 0) {
        close(f);
    }
    if (n != sizeof(cfg)) {
        return false;
    }
    for (pos = cfg[0x34] & ~3; pos && pos < 0xfc; pos = cfg[pos + 1] & ~3) {
        if (cfg[pos] == 0x09 && cfg[pos + 3] == 4 /* DEVICE_CFG */) {
            *bar = cfg[pos + 4];
            memcpy(off, &cfg[pos + 8], 4);
            return true;
        }
    }
    return false;
}

static bool mmio_watch_start(struct mmio_watch *w)
{
    const char *dir = virtio_gpu_pci_dir();
    long page = sysconf(_SC_PAGESIZE);
    char path[340];
    uint32_t off = 0;
    uint8_t *base;
    int bar = 0, f;

    memset(w, 0, sizeof(*w));
    if (!check(dir && virtio_device_cfg(dir, &bar, &off),
               "mmio watch: virtio-gpu's device configuration found")) {
        return false;
    }
    snprintf(path, sizeof(path), "%s/resource%d", dir, bar);
    f = open(path, O_RDWR | O_SYNC);
    base = f < 0 ? MAP_FAILED :
           mmap(NULL, page, PROT_READ, MAP_SHARED, f, off & ~(page - 1));
    if (f >= 0) {
        close(f);
    }
    if (base == MAP_FAILED) {
        check(false, "mmio watch: %s mapped (needs the kernel's "
              "iomem=relaxed): %s", path, strerror(errno));
        return false;
    }
    /* virtio_gpu_config.num_scanouts */
    w->reg = (volatile uint32_t *)(base + (off & (page - 1)) + 8);
    w->expect = *w->reg;
    w->st = mmap(NULL, sizeof(*w->st), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!check(w->expect == 1 && w->st != MAP_FAILED,
               "mmio watch: num_scanouts reads %u", w->expect)) {
        return false;
    }
    w->pid = fork();
    if (w->pid == 0) {
        while (!w->st->stop) {
            uint32_t v;

            /*
             * Straight-line work before the read, in the same basic
             * block: the read then comes late in what the vCPU runs
             * between two checks for a pending exit, like a driver's
             * notify after its ring bookkeeping.
             */
            asm volatile(".rept 300\n\tadd $1, %%rax\n\t.endr\n\t"
                         "movl (%1), %0"
                         : "=r"(v) : "r"(w->reg) : "rax", "memory");

            if (v != w->expect && w->st->wrong < 4) {
                w->st->seen[w->st->wrong] = v;
            }
            w->st->wrong += v != w->expect;
            w->st->reads++;
        }
        _exit(0);
    }
    return w->pid > 0;
}

static void mmio_watch_stop(struct mmio_watch *w, const char *what)
{
    if (!w->pid) {
        return;
    }
    w->st->stop = 1;
    waitpid(w->pid, NULL, 0);
    check(w->st->wrong == 0 && w->st->reads > 0,
          "%s: the device's MMIO kept answering correctly (%ld reads, "
          "%ld wrong: %#x %#x %#x %#x)", what, w->st->reads, w->st->wrong,
          w->st->seen[0], w->st->seen[1], w->st->seen[2], w->st->seen[3]);
}

static void test_mmio_during_remap(int cycles)
{
    struct mmio_watch w;
    uint32_t handle;
    uint8_t *map;
    int i, good = 0;

    if (!mmio_watch_start(&w)) {
        return;
    }
    for (i = 0; i < cycles; i++) {
        if (host3d_blob(20000 + i, 4096, true, &handle, NULL)) {
            continue;
        }
        map = bo_mmap(handle, 4096);
        if (map) {
            map[0] = i;
            good += map[0] == (uint8_t)i;
            munmap(map, 4096);
        }
        gem_close(handle);
    }
    mmio_watch_stop(&w, "MMIO during blob map/unmap");
    check(good == cycles, "%d blobs mapped and unmapped while MMIO was "
          "read (%d good)", cycles, good);
}

/*
 * Traffic that fills the control ring, the way a hang was once seen:
 * each round maps BURST blobs and closes them all at once (an UNMAP and
 * an UNREF each, unfenced, queued without waiting), then queues FENCED
 * fenced submits and waits for the last, while LIVE other mappings stay
 * in place and one of them is replaced every round.
 */
static bool soak_round(int round, uint32_t *blob_id, uint32_t *live,
                       uint8_t **live_map, uint32_t fence_bo)
{
    enum { BURST = 96, LIVE = 16, FENCED = 192 };
    static const uint32_t nop[] = { VIRGL_CMD0(0, 0, 0) };
    uint32_t handles[BURST];
    uint8_t *maps[BURST];
    int i, j = round % LIVE, bad = 0;

    for (i = 0; i < BURST; i++) {
        maps[i] = NULL;
        if (host3d_blob((*blob_id)++, 4096, true, &handles[i], NULL)) {
            handles[i] = 0;
            bad++;
            continue;
        }
        maps[i] = bo_mmap(handles[i], 4096);
        if (maps[i]) {
            maps[i][0] = i;
        } else {
            bad++;
        }
    }
    for (i = 0; i < BURST; i++) {
        if (maps[i]) {
            bad += maps[i][0] != (uint8_t)i;
            munmap(maps[i], 4096);
        }
    }
    for (i = 0; i < BURST; i++) {
        if (handles[i]) {
            gem_close(handles[i]);
        }
    }

    for (i = 0; i < FENCED; i++) {
        bad += submit(nop, 1, &fence_bo, 1) != 0;
    }
    bad += wait_bo(fence_bo) != 0;

    /* churn: one live mapping replaced */
    if (live[j]) {
        bad += live_map[j][0] != (uint8_t)j;
        munmap(live_map[j], 4096);
        gem_close(live[j]);
    }
    live_map[j] = NULL;
    if (host3d_blob((*blob_id)++, 4096, true, &live[j], NULL) == 0) {
        live_map[j] = bo_mmap(live[j], 4096);
    }
    if (!live_map[j]) {
        live[j] = 0;
        return false;
    }
    live_map[j][0] = j;
    return bad == 0;
}

static void soak(int rounds)
{
    uint32_t live[16] = { 0 }, fence_bo, fence_res, blob_id = 5000;
    uint8_t *live_map[16] = { NULL };
    struct mmio_watch w;
    int i, good = 0;

    if (!check(guest_buffer(4096, &fence_bo, &fence_res) == 0,
               "soak: a buffer to fence on")) {
        return;
    }
    mmio_watch_start(&w);
    for (i = 0; i < rounds; i++) {
        good += soak_round(i, &blob_id, live, live_map, fence_bo);
        printf("# soak round %d of %d\n", i + 1, rounds);
        fflush(stdout);
    }
    for (i = 0; i < 16; i++) {
        if (live[i]) {
            munmap(live_map[i], 4096);
            gem_close(live[i]);
        }
    }
    gem_close(fence_bo);
    mmio_watch_stop(&w, "soak");
    check(good == rounds, "soak: %d rounds of 96 mapped blobs closed at "
          "once, 192 fenced submits, 16 live mappings churned (%d clean)",
          rounds, good);
}

int main(int argc, char **argv)
{
    const char *dev = "/dev/dri/card0";
    bool do_bench = false, do_demo = false, do_compare = false;
    bool do_shm = false, do_fb = false;
    int i, soak_rounds = 0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bench")) {
            do_bench = true;
        } else if (!strcmp(argv[i], "--bench-compare")) {
            do_compare = true;
        } else if (!strcmp(argv[i], "--bench-shm")) {
            do_shm = true;
        } else if (!strcmp(argv[i], "--fb-fill")) {
            do_fb = true;
        } else if (!strcmp(argv[i], "--demo")) {
            do_bench = do_demo = true;
        } else if (!strcmp(argv[i], "--soak") && i + 1 < argc) {
            soak_rounds = atoi(argv[++i]);
        } else {
            dev = argv[i];
        }
    }
    if (do_fb) {
        fb_fill();
        return tap_finish();
    }
    fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        check(false, "open %s: %s", dev, strerror(errno));
        return tap_finish();
    }
    if (soak_rounds) {
        soak(soak_rounds);
        return tap_finish();
    }
    if (do_compare) {
        bench_compare();
        return tap_finish();
    }
    if (do_shm) {
        bench_shm();
        return tap_finish();
    }
    test_params();
    test_context_init();
    test_guest_blob();
    test_host3d_blob();
    test_many_mappings(64);
    test_not_mappable();
    test_driver_paths(dev);
    test_render(do_demo);
    test_mmio_during_remap(300);
    /* a guard against lost notifications: one ring-filling round */
    soak(1);
    if (do_bench) {
        bench();
    }
    return tap_finish();
}
