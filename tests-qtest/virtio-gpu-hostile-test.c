/*
 * A hostile guest's commands to virtio-gpu-gl-pci with blobs and a
 * host-visible region: every field of every command the series adds or
 * changes, out-of-range, truncated or in an order no driver uses.  Each
 * case asserts the exact reply, then that the device still works: it
 * answers, maps a new blob and shows its bytes through the BAR.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-gpu.h"
#include "hw/pci/pci_regs.h"
#include "standard-headers/linux/virtio_ring.h"

#define FEATURES ((1ull << VIRTIO_GPU_F_VIRGL) | \
                  (1ull << VIRTIO_GPU_F_RESOURCE_BLOB) | \
                  (1ull << VIRTIO_GPU_F_RESOURCE_UUID) | \
                  (1ull << VIRTIO_GPU_F_CONTEXT_INIT))
#define HOSTMEM_BAR 4
#define HOSTMEM (64 * MiB)
#define GPU_PATH "/machine/peripheral-anon/device[0]/virtio-backend"

#define OK          VIRTIO_GPU_RESP_OK_NODATA
#define OK_MAP      VIRTIO_GPU_RESP_OK_MAP_INFO
#define OK_UUID     VIRTIO_GPU_RESP_OK_RESOURCE_UUID
#define OK_CAPINFO  VIRTIO_GPU_RESP_OK_CAPSET_INFO
#define OK_CAPSET   VIRTIO_GPU_RESP_OK_CAPSET
#define UNSPEC      VIRTIO_GPU_RESP_ERR_UNSPEC
#define OOM         VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
#define BAD_SCANOUT VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
#define BAD_RES     VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define BAD_CTX     VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID
#define BAD_PARAM   VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER

/*
 * The fixture every case starts from, in context CTX:
 *   RES_FREE     mappable HOST3D blob, 4 KiB, not mapped
 *   RES_MAPPED   mappable HOST3D blob, 8 KiB, mapped at MAPPED_AT
 *   RES_GUEST    GUEST blob over one guest page (32x32 pixels)
 *   RES_NOMAP    HOST3D blob without MAPPABLE
 *   RES_PLAIN    a 3D buffer resource with guest backing, no blob
 * and renderer objects OBJ_SPARE (mappable) and OBJ_SHADOW (not), not
 * claimed by any blob yet.
 */
enum {
    CTX = 1,
    RES_FREE = 10, RES_MAPPED, RES_GUEST, RES_NOMAP, RES_PLAIN,
    RES_NEW = 20,
    OBJ_SPARE = 20, OBJ_SHADOW = 22,
    RES_CHECK = 90,
};
#define MAPPED_AT (1 * MiB)
#define PAGE 4096

/* The parts of virglrenderer's protocol the fixture needs. */
#define VIRGL_FORMAT_R8_UNORM       64
#define PIPE_BUFFER                 0
#define VIRGL_BIND_VERTEX_BUFFER    (1 << 4)

typedef struct Env {
    QVirtioGpu *gpu;
    QPCIBar bar;
    uint64_t guest_page;        /* backs RES_GUEST */
    uint64_t spare_page;        /* for blobs the cases make */
    uint64_t plain_page;        /* backs RES_PLAIN */
} Env;

static uint32_t cmd(Env *e, void *buf, size_t len)
{
    uint8_t resp[2048];

    return qvirtio_gpu_cmd(e->gpu, buf, len, resp, sizeof(resp), false);
}

static uint32_t res_cmd(Env *e, uint32_t type, uint32_t id)
{
    return qvirtio_gpu_resource_cmd(e->gpu, type, id);
}

static void expect(uint32_t got, uint32_t want, const char *what)
{
    if (got != want) {
        g_error("%s: reply 0x%x, expected 0x%x", what, got, want);
    }
}

static void host_blob(Env *e, uint32_t id, uint32_t obj, uint32_t size,
                      uint64_t declared, bool mappable)
{
    qvirtio_gpu_virgl_buffer_object(e->gpu, CTX, obj, size, mappable);
    expect(qvirtio_gpu_create_blob(e->gpu, id, CTX,
                                   VIRTIO_GPU_BLOB_MEM_HOST3D,
                                   mappable ?
                                   VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE : 0,
                                   obj, declared, 0, 0, 0),
           OK, "fixture: create HOST3D blob");
}

static uint64_t region_stat(Env *e, const char *name)
{
    QDict *rsp = qtest_qmp(e->gpu->qts, "{'execute': 'qom-get', "
                           "'arguments': {'path': %s, 'property': %s}}",
                           GPU_PATH, name);
    uint64_t v;

    g_assert_true(qdict_haskey(rsp, "return"));
    v = qdict_get_int(rsp, "return");
    qobject_unref(rsp);
    return v;
}

/* The fixture, on a device that negotiated FEATURES and @more. */
static Env setup_with(void *obj, QGuestAllocator *alloc, uint64_t more)
{
    Env e = { .gpu = obj };
    struct virtio_gpu_resource_create_3d c3d = {
        .resource_id = RES_PLAIN, .target = PIPE_BUFFER,
        .format = VIRGL_FORMAT_R8_UNORM, .bind = VIRGL_BIND_VERTEX_BUFFER,
        .width = PAGE, .height = 1, .depth = 1, .array_size = 1,
    };
    uint64_t bar_size;

    g_assert_cmphex(qvirtio_gpu_start(e.gpu, alloc, FEATURES | more) &
                    (FEATURES | more), ==, FEATURES | more);
    e.bar = qpci_iomap(e.gpu->pdev, HOSTMEM_BAR, &bar_size);
    e.guest_page = qvirtio_gpu_alloc_backing(e.gpu, PAGE);
    e.spare_page = qvirtio_gpu_alloc_backing(e.gpu, PAGE);
    e.plain_page = qvirtio_gpu_alloc_backing(e.gpu, PAGE);
    qtest_memset(e.gpu->qts, e.guest_page, 0x5a, PAGE);

    expect(qvirtio_gpu_ctx_create(e.gpu, CTX, 0), OK, "fixture: context");
    host_blob(&e, RES_FREE, RES_FREE, PAGE, PAGE, true);
    host_blob(&e, RES_MAPPED, RES_MAPPED, 2 * PAGE, 2 * PAGE, true);
    expect(qvirtio_gpu_map_blob(e.gpu, RES_MAPPED, MAPPED_AT, NULL), OK_MAP,
           "fixture: map");
    expect(qvirtio_gpu_create_blob(e.gpu, RES_GUEST, CTX,
                                   VIRTIO_GPU_BLOB_MEM_GUEST, 0, 0, PAGE,
                                   e.guest_page, 1, PAGE),
           OK, "fixture: GUEST blob");
    host_blob(&e, RES_NOMAP, RES_NOMAP, PAGE, PAGE, false);
    qvirtio_gpu_hdr_init(&c3d.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, CTX);
    expect(cmd(&e, &c3d, sizeof(c3d)), OK, "fixture: 3D resource");
    expect(qvirtio_gpu_attach_backing(e.gpu, RES_PLAIN, e.plain_page, PAGE,
                                      1), OK, "fixture: backing");
    expect(qvirtio_gpu_ctx_resource(e.gpu, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
                                    CTX, RES_PLAIN), OK, "fixture: attach");
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, OBJ_SPARE, PAGE, true);
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, OBJ_SHADOW, PAGE, false);
    return e;
}

static Env setup(void *obj, QGuestAllocator *alloc)
{
    return setup_with(obj, alloc, 0);
}

/*
 * The device still works: it answers, and a new blob maps and shows
 * the guest's bytes through the BAR at an offset no fixture uses.
 */
static void still_works(Env *e)
{
    struct virtio_gpu_ctrl_hdr hdr;
    struct virtio_gpu_resp_display_info di;
    const uint64_t at = HOSTMEM - PAGE;
    uint8_t got[8];

    qvirtio_gpu_hdr_init(&hdr, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(e->gpu, &hdr, sizeof(hdr), &di,
                                    sizeof(di), false),
                    ==, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    g_assert_cmphex(qvirtio_gpu_ctx_create(e->gpu, 77, 0), ==, OK);
    qvirtio_gpu_virgl_buffer_object(e->gpu, 77, RES_CHECK, PAGE, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(e->gpu, RES_CHECK, 77,
                                            VIRTIO_GPU_BLOB_MEM_HOST3D,
                                            VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE,
                                            RES_CHECK, PAGE, 0, 0, 0),
                    ==, OK);
    g_assert_cmphex(qvirtio_gpu_map_blob(e->gpu, RES_CHECK, at, NULL), ==,
                    OK_MAP);
    qpci_memwrite(e->gpu->pdev, e->bar, at, "alive!!", 8);
    qpci_memread(e->gpu->pdev, e->bar, at, got, sizeof(got));
    g_assert_cmpmem(got, 8, "alive!!", 8);
    g_assert_cmphex(res_cmd(e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_CHECK),
                    ==, OK);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(e->gpu, 77), ==, OK);
}

/* ---- the corpus: a valid command per kind, and fields to spoil ---- */

typedef enum Kind {
    K_CREATE_HOST3D, K_CREATE_GUEST, K_CREATE_HOST3D_GUEST, K_MAP, K_UNMAP,
    K_SCANOUT_BLOB, K_FLUSH, K_UUID, K_CTX_CREATE, K_CTX_DESTROY, K_SUBMIT,
    K_CAPSET_INFO, K_CAPSET, K_ATTACH, K_DETACH, K_UNREF, K_CTX_ATTACH,
    K_TRANSFER_FROM, K_NOP,
} Kind;

typedef struct Field {
    uint16_t off, size;         /* size 0 ends the list */
    uint64_t val;
} Field;

typedef struct Case {
    const char *name;
    Kind kind;
    Field set[3];
    int len;                    /* >0: send only this many bytes */
    uint32_t expect;
    void (*after)(Env *e);      /* more checks once answered */
} Case;

#define FLD(type, field, v) \
    { offsetof(type, field), sizeof_field(type, field), (v) }
#define HDR(field, v) FLD(struct virtio_gpu_ctrl_hdr, field, v)
#define CB(field, v) FLD(struct virtio_gpu_resource_create_blob, field, v)
#define ENT(field, v) { sizeof(struct virtio_gpu_resource_create_blob) + \
                        offsetof(struct virtio_gpu_mem_entry, field), \
                        sizeof_field(struct virtio_gpu_mem_entry, field), \
                        (v) }
#define MB(field, v) FLD(struct virtio_gpu_resource_map_blob, field, v)
#define UB(field, v) FLD(struct virtio_gpu_resource_unmap_blob, field, v)
#define SB(field, v) FLD(struct virtio_gpu_set_scanout_blob, field, v)
#define FL(field, v) FLD(struct virtio_gpu_resource_flush, field, v)
#define CC(field, v) FLD(struct virtio_gpu_ctx_create, field, v)
#define CS(field, v) FLD(struct virtio_gpu_cmd_submit, field, v)
#define GI(field, v) FLD(struct virtio_gpu_get_capset_info, field, v)
#define GC(field, v) FLD(struct virtio_gpu_get_capset, field, v)
#define AB(field, v) FLD(struct virtio_gpu_resource_attach_backing, field, v)
#define RID(type, v) FLD(type, resource_id, v)
#define TR(field, v) FLD(struct virtio_gpu_transfer_host_3d, field, v)
#define SHORT(kind) -(int)(kind)

static size_t baseline(Env *e, Kind kind, uint8_t *buf)
{
    struct virtio_gpu_ctrl_hdr *hdr = (void *)buf;
    size_t len;

    memset(buf, 0, 256);
    switch (kind) {
    case K_CREATE_HOST3D: {
        struct virtio_gpu_resource_create_blob *c = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, CTX);
        c->resource_id = RES_NEW;
        c->blob_mem = VIRTIO_GPU_BLOB_MEM_HOST3D;
        c->blob_flags = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE;
        c->blob_id = OBJ_SPARE;
        c->size = PAGE;
        return sizeof(*c);
    }
    case K_CREATE_GUEST:
    case K_CREATE_HOST3D_GUEST: {
        struct virtio_gpu_resource_create_blob *c = (void *)buf;
        struct virtio_gpu_mem_entry *ent = (void *)(c + 1);

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, CTX);
        c->resource_id = RES_NEW;
        c->size = PAGE;
        c->nr_entries = 1;
        if (kind == K_CREATE_GUEST) {
            c->blob_mem = VIRTIO_GPU_BLOB_MEM_GUEST;
        } else {
            c->blob_mem = VIRTIO_GPU_BLOB_MEM_HOST3D_GUEST;
            c->blob_id = OBJ_SHADOW;
        }
        ent->addr = e->spare_page;
        ent->length = PAGE;
        return sizeof(*c) + sizeof(*ent);
    }
    case K_MAP: {
        struct virtio_gpu_resource_map_blob *m = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB, 0);
        m->resource_id = RES_FREE;
        m->offset = 2 * MiB;
        return sizeof(*m);
    }
    case K_UNMAP: {
        struct virtio_gpu_resource_unmap_blob *u = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 0);
        u->resource_id = RES_MAPPED;
        return sizeof(*u);
    }
    case K_SCANOUT_BLOB: {
        struct virtio_gpu_set_scanout_blob *s = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, 0);
        s->resource_id = RES_GUEST;
        s->width = s->height = 32;
        s->format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM;
        s->strides[0] = 32 * 4;
        s->r.width = s->r.height = 32;
        return sizeof(*s);
    }
    case K_FLUSH: {
        struct virtio_gpu_resource_flush *f = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0);
        f->resource_id = RES_GUEST;
        f->r.width = f->r.height = 32;
        return sizeof(*f);
    }
    case K_UUID: {
        struct virtio_gpu_resource_assign_uuid *u = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID, 0);
        u->resource_id = RES_FREE;
        return sizeof(*u);
    }
    case K_CTX_CREATE: {
        struct virtio_gpu_ctx_create *c = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_CTX_CREATE, 5);
        c->nlen = 4;
        memcpy(c->debug_name, "evil", 4);
        return sizeof(*c);
    }
    case K_CTX_DESTROY:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_CTX_DESTROY, CTX);
        return sizeof(*hdr);
    case K_SUBMIT: {
        struct virtio_gpu_cmd_submit *s = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_SUBMIT_3D, CTX);
        s->size = 4;            /* one NOP dword follows */
        return sizeof(*s) + 4;
    }
    case K_CAPSET_INFO:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0);
        return sizeof(struct virtio_gpu_get_capset_info);
    case K_CAPSET: {
        struct virtio_gpu_get_capset *c = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_GET_CAPSET, 0);
        c->capset_id = 1;
        c->capset_version = 1;
        return sizeof(*c);
    }
    case K_ATTACH: {
        struct virtio_gpu_resource_attach_backing *a = (void *)buf;
        struct virtio_gpu_mem_entry *ent = (void *)(a + 1);

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 0);
        a->resource_id = RES_GUEST;
        a->nr_entries = 1;
        ent->addr = e->spare_page;
        ent->length = PAGE;
        return sizeof(*a) + sizeof(*ent);
    }
    case K_DETACH:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 0);
        ((struct virtio_gpu_resource_detach_backing *)buf)->resource_id =
            RES_GUEST;
        return sizeof(struct virtio_gpu_resource_detach_backing);
    case K_UNREF:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_RESOURCE_UNREF, 0);
        ((struct virtio_gpu_resource_unref *)buf)->resource_id = RES_FREE;
        return sizeof(struct virtio_gpu_resource_unref);
    case K_CTX_ATTACH:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, CTX);
        ((struct virtio_gpu_ctx_resource *)buf)->resource_id = RES_FREE;
        return sizeof(struct virtio_gpu_ctx_resource);
    case K_TRANSFER_FROM: {
        struct virtio_gpu_transfer_host_3d *t = (void *)buf;

        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D, CTX);
        t->resource_id = RES_PLAIN;
        t->box.w = PAGE;
        t->box.h = t->box.d = 1;
        return sizeof(*t);
    }
    case K_NOP:
        qvirtio_gpu_hdr_init(hdr, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
        len = sizeof(*hdr);
        return len;
    }
    g_assert_not_reached();
}

/* ---- checks some cases make once answered ---- */

static uint8_t bar_byte(Env *e, uint64_t off)
{
    uint8_t b;

    qpci_memread(e->gpu->pdev, e->bar, off, &b, 1);
    return b;
}

static void mapped_at_2m(Env *e)
{
    qpci_memwrite(e->gpu->pdev, e->bar, 2 * MiB + 5, "x", 1);
    g_assert_cmpuint(bar_byte(e, 2 * MiB + 5), ==, 'x');
    g_assert_cmpuint(region_stat(e, "x-hostmem-mappings"), ==, 2);
}

/* Whether a static heap backs the region (hostmem-memdev=). */
static bool region_has_heap(Env *e)
{
    QDict *rsp = qtest_qmp(e->gpu->qts, "{'execute': 'qom-get', "
                           "'arguments': {'path': %s, "
                           "'property': 'hostmem-memdev'}}", GPU_PATH);
    bool heap = *qdict_get_str(rsp, "return") != 0;

    qobject_unref(rsp);
    return heap;
}

/*
 * No blob there: a write is dropped, or kept by the heap (the guest's
 * own memory), and no mapping was made.
 */
static void nothing_mapped_at_2m(Env *e)
{
    qpci_memwrite(e->gpu->pdev, e->bar, 2 * MiB + 5, "x", 1);
    g_assert_cmpuint(bar_byte(e, 2 * MiB + 5), ==,
                     region_has_heap(e) ? 'x' : 0);
    g_assert_cmpuint(region_stat(e, "x-hostmem-mappings"), ==, 1);
}

static void mapped_gone(Env *e)
{
    g_assert_cmpuint(region_stat(e, "x-hostmem-mappings"), ==, 0);
    g_assert_cmpuint(bar_byte(e, MAPPED_AT), ==, 0);
}

static void mapped_kept(Env *e)
{
    qpci_memwrite(e->gpu->pdev, e->bar, MAPPED_AT + 7, "k", 1);
    g_assert_cmpuint(bar_byte(e, MAPPED_AT + 7), ==, 'k');
    g_assert_cmpuint(region_stat(e, "x-hostmem-mappings"), ==, 1);
}

static void both_mapped(Env *e)
{
    g_assert_cmpuint(region_stat(e, "x-hostmem-mappings"), ==, 2);
    qpci_memwrite(e->gpu->pdev, e->bar, MAPPED_AT + 7, "k", 1);
    g_assert_cmpuint(bar_byte(e, MAPPED_AT + 7), ==, 'k');
}

static void new_res_exists(Env *e)
{
    g_assert_cmphex(res_cmd(e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_NEW), ==,
                    OK);
}

static void new_res_absent(Env *e)
{
    g_assert_cmphex(res_cmd(e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_NEW), ==,
                    BAD_RES);
    mapped_kept(e);
}

static void ctx_gone(Env *e)
{
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(e->gpu, CTX), ==, BAD_CTX);
    mapped_gone(e);
}

static void ctx_kept(Env *e)
{
    g_assert_cmphex(qvirtio_gpu_ctx_create(e->gpu, CTX, 0), ==, BAD_CTX);
}

static void free_res_gone(Env *e)
{
    g_assert_cmphex(qvirtio_gpu_map_blob(e->gpu, RES_FREE, 0, NULL), ==,
                    BAD_RES);
}

#define A0 VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE
#define GUEST_MEM VIRTIO_GPU_BLOB_MEM_GUEST

static const Case cases[] = {
    /* RESOURCE_CREATE_BLOB, HOST3D */
    { "create/host3d/ok", K_CREATE_HOST3D, {}, 0, OK, new_res_exists },
    { "create/host3d/id-0", K_CREATE_HOST3D, { CB(resource_id, 0) }, 0,
      BAD_RES },
    { "create/host3d/id-in-use", K_CREATE_HOST3D,
      { CB(resource_id, RES_FREE) }, 0, BAD_RES },
    { "create/host3d/id-max", K_CREATE_HOST3D,
      { CB(resource_id, UINT32_MAX) }, 0, OK },
    { "create/host3d/mem-0", K_CREATE_HOST3D, { CB(blob_mem, 0) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/host3d/mem-4", K_CREATE_HOST3D, { CB(blob_mem, 4) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/host3d/mem-max", K_CREATE_HOST3D, { CB(blob_mem, UINT32_MAX) },
      0, BAD_PARAM, new_res_absent },
    { "create/host3d/flags-8", K_CREATE_HOST3D, { CB(blob_flags, 8) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/host3d/flags-max", K_CREATE_HOST3D,
      { CB(blob_flags, UINT32_MAX) }, 0, BAD_PARAM, new_res_absent },
    { "create/host3d/not-mappable", K_CREATE_HOST3D, { CB(blob_flags, 0) },
      0, OK, new_res_exists },
    { "create/host3d/size-0", K_CREATE_HOST3D, { CB(size, 0) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/host3d/size-1", K_CREATE_HOST3D, { CB(size, 1) }, 0, OK,
      new_res_exists },
    { "create/host3d/size-2^63", K_CREATE_HOST3D, { CB(size, 1ull << 63) },
      0, OOM, new_res_absent },
    { "create/host3d/size-max", K_CREATE_HOST3D, { CB(size, UINT64_MAX) },
      0, OOM, new_res_absent },
    { "create/host3d/size-over-quota", K_CREATE_HOST3D,
      { CB(size, 256 * MiB + 1) }, 0, OOM, new_res_absent },
    { "create/host3d/blob-id-0", K_CREATE_HOST3D, { CB(blob_id, 0) }, 0,
      UNSPEC, new_res_absent },
    { "create/host3d/blob-id-unknown", K_CREATE_HOST3D,
      { CB(blob_id, 999) }, 0, UNSPEC, new_res_absent },
    { "create/host3d/blob-id-claimed", K_CREATE_HOST3D,
      { CB(blob_id, RES_FREE) }, 0, UNSPEC, new_res_absent },
    { "create/host3d/blob-id-2^40", K_CREATE_HOST3D,
      { CB(blob_id, 1ull << 40) }, 0, UNSPEC, new_res_absent },
    { "create/host3d/entries-1", K_CREATE_HOST3D, { CB(nr_entries, 1) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/host3d/entries-max", K_CREATE_HOST3D,
      { CB(nr_entries, UINT32_MAX) }, 0, BAD_PARAM, new_res_absent },
    { "create/host3d/ctx-0", K_CREATE_HOST3D, { HDR(ctx_id, 0) }, 0,
      BAD_CTX, new_res_absent },
    { "create/host3d/ctx-unknown", K_CREATE_HOST3D, { HDR(ctx_id, 55) }, 0,
      BAD_CTX, new_res_absent },
    { "create/host3d/ctx-max", K_CREATE_HOST3D,
      { HDR(ctx_id, UINT32_MAX) }, 0, BAD_CTX, new_res_absent },
    { "create/host3d/short-body", K_CREATE_HOST3D, {},
      sizeof(struct virtio_gpu_resource_create_blob) - 1, BAD_PARAM,
      new_res_absent },
    { "create/host3d/header-only", K_CREATE_HOST3D, {},
      sizeof(struct virtio_gpu_ctrl_hdr), BAD_PARAM, new_res_absent },
    { "create/host3d/short-header", K_CREATE_HOST3D, {},
      sizeof(struct virtio_gpu_ctrl_hdr) - 1, BAD_PARAM, new_res_absent },
    { "create/host3d/one-byte", K_CREATE_HOST3D, {}, 1, BAD_PARAM,
      new_res_absent },
    { "create/host3d/ring-64", K_CREATE_HOST3D,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX),
        HDR(ring_idx, 64) }, 0, BAD_PARAM, new_res_absent },

    /* RESOURCE_CREATE_BLOB, GUEST */
    { "create/guest/ok", K_CREATE_GUEST, {}, 0, OK, new_res_exists },
    { "create/guest/ctx-0", K_CREATE_GUEST, { HDR(ctx_id, 0) }, 0, OK,
      new_res_exists },
    { "create/guest/ctx-unknown", K_CREATE_GUEST, { HDR(ctx_id, 55) }, 0,
      BAD_CTX, new_res_absent },
    { "create/guest/blob-id", K_CREATE_GUEST, { CB(blob_id, 5) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/guest/mappable", K_CREATE_GUEST, { CB(blob_flags, A0) }, 0,
      OK, new_res_exists },
    { "create/guest/entries-0", K_CREATE_GUEST, { CB(nr_entries, 0) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/guest/entries-missing", K_CREATE_GUEST, { CB(nr_entries, 2) },
      0, BAD_PARAM, new_res_absent },
    { "create/guest/entries-16385", K_CREATE_GUEST,
      { CB(nr_entries, 16385) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/entries-max", K_CREATE_GUEST,
      { CB(nr_entries, UINT32_MAX) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/entry-addr-unmapped", K_CREATE_GUEST,
      { ENT(addr, 0xfffffffffffff000ull) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/entry-addr-wraps", K_CREATE_GUEST,
      { ENT(addr, UINT64_MAX - 16) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/entry-in-rom", K_CREATE_GUEST,
      { ENT(addr, 0xfffff000ull) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/entry-len-0", K_CREATE_GUEST, { ENT(length, 0) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/guest/entry-len-max", K_CREATE_GUEST,
      { ENT(length, UINT32_MAX) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/size-over-entries", K_CREATE_GUEST,
      { CB(size, 2 * PAGE) }, 0, BAD_PARAM, new_res_absent },
    { "create/guest/size-max", K_CREATE_GUEST, { CB(size, UINT64_MAX) }, 0,
      BAD_PARAM, new_res_absent },
    { "create/guest/size-0", K_CREATE_GUEST, { CB(size, 0) }, 0, BAD_PARAM,
      new_res_absent },
    { "create/guest/entries-short", K_CREATE_GUEST, {},
      sizeof(struct virtio_gpu_resource_create_blob) + 8, BAD_PARAM,
      new_res_absent },

    /* RESOURCE_CREATE_BLOB, HOST3D_GUEST */
    { "create/host3d-guest/ok", K_CREATE_HOST3D_GUEST, {}, 0, OK,
      new_res_exists },
    { "create/host3d-guest/entries-0", K_CREATE_HOST3D_GUEST,
      { CB(nr_entries, 0) }, 0, BAD_PARAM, new_res_absent },
    { "create/host3d-guest/size-over-entries", K_CREATE_HOST3D_GUEST,
      { CB(size, 2 * PAGE) }, 0, BAD_PARAM, new_res_absent },
    { "create/host3d-guest/ctx-0", K_CREATE_HOST3D_GUEST,
      { HDR(ctx_id, 0) }, 0, BAD_CTX, new_res_absent },
    { "create/host3d-guest/blob-id-unknown", K_CREATE_HOST3D_GUEST,
      { CB(blob_id, 999) }, 0, UNSPEC, new_res_absent },
    { "create/host3d-guest/size-over-quota", K_CREATE_HOST3D_GUEST,
      { CB(size, 512 * MiB) }, 0, OOM, new_res_absent },

    /* RESOURCE_MAP_BLOB */
    { "map/ok", K_MAP, {}, 0, OK_MAP, mapped_at_2m },
    { "map/res-0", K_MAP, { MB(resource_id, 0) }, 0, BAD_RES,
      nothing_mapped_at_2m },
    { "map/res-unknown", K_MAP, { MB(resource_id, 999) }, 0, BAD_RES,
      nothing_mapped_at_2m },
    { "map/res-guest", K_MAP, { MB(resource_id, RES_GUEST) }, 0, BAD_PARAM,
      nothing_mapped_at_2m },
    { "map/res-not-mappable", K_MAP, { MB(resource_id, RES_NOMAP) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/res-not-blob", K_MAP, { MB(resource_id, RES_PLAIN) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/mapped-twice", K_MAP, { MB(resource_id, RES_MAPPED) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/overlap-start", K_MAP, { MB(offset, MAPPED_AT) }, 0, BAD_PARAM,
      mapped_kept },
    { "map/overlap-end", K_MAP, { MB(offset, MAPPED_AT + PAGE) }, 0,
      BAD_PARAM, mapped_kept },
    { "map/adjacent-before", K_MAP, { MB(offset, MAPPED_AT - PAGE) }, 0,
      OK_MAP, both_mapped },
    { "map/adjacent-after", K_MAP, { MB(offset, MAPPED_AT + 2 * PAGE) }, 0,
      OK_MAP, both_mapped },
    { "map/offset-unaligned", K_MAP, { MB(offset, 2 * MiB + 100) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/offset-4095", K_MAP, { MB(offset, 4095) }, 0, BAD_PARAM,
      nothing_mapped_at_2m },
    { "map/offset-last-page", K_MAP, { MB(offset, HOSTMEM - 2 * PAGE) }, 0,
      OK_MAP },
    { "map/offset-end", K_MAP, { MB(offset, HOSTMEM) }, 0, BAD_PARAM,
      nothing_mapped_at_2m },
    { "map/offset-straddles-end", K_MAP,
      { MB(offset, HOSTMEM - PAGE / 2) }, 0, BAD_PARAM,
      nothing_mapped_at_2m },
    { "map/offset-wraps", K_MAP, { MB(offset, UINT64_MAX & ~0xfffull) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/offset-2^63", K_MAP, { MB(offset, 1ull << 63) }, 0, BAD_PARAM,
      nothing_mapped_at_2m },
    { "map/offset-past-end", K_MAP, { MB(offset, HOSTMEM + PAGE) }, 0,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/ctx-unknown", K_MAP, { HDR(ctx_id, 55) }, 0, OK_MAP,
      mapped_at_2m },
    { "map/padding", K_MAP, { MB(padding, UINT32_MAX) }, 0, OK_MAP,
      mapped_at_2m },
    { "map/short", K_MAP, {}, sizeof(struct virtio_gpu_resource_map_blob) - 1,
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/header-only", K_MAP, {}, sizeof(struct virtio_gpu_ctrl_hdr),
      BAD_PARAM, nothing_mapped_at_2m },
    { "map/fenced-far", K_MAP,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE), HDR(fence_id, 1ull << 40) }, 0,
      OK_MAP, mapped_at_2m },

    /* RESOURCE_UNMAP_BLOB */
    { "unmap/ok", K_UNMAP, {}, 0, OK, mapped_gone },
    { "unmap/not-mapped", K_UNMAP, { UB(resource_id, RES_FREE) }, 0, OK,
      mapped_kept },
    { "unmap/guest-blob", K_UNMAP, { UB(resource_id, RES_GUEST) }, 0, OK,
      mapped_kept },
    { "unmap/not-blob", K_UNMAP, { UB(resource_id, RES_PLAIN) }, 0, OK,
      mapped_kept },
    { "unmap/res-0", K_UNMAP, { UB(resource_id, 0) }, 0, BAD_RES,
      mapped_kept },
    { "unmap/res-unknown", K_UNMAP, { UB(resource_id, 999) }, 0, BAD_RES,
      mapped_kept },
    { "unmap/short", K_UNMAP, {}, sizeof(struct virtio_gpu_ctrl_hdr) + 2,
      BAD_PARAM, mapped_kept },

    /* SET_SCANOUT_BLOB */
    { "scanout-blob/ok", K_SCANOUT_BLOB, {}, 0, OK },
    { "scanout-blob/host3d", K_SCANOUT_BLOB,
      { SB(resource_id, RES_MAPPED), SB(height, 16), SB(r.height, 16) }, 0,
      OK },
    { "scanout-blob/scanout-1", K_SCANOUT_BLOB, { SB(scanout_id, 1) }, 0,
      BAD_SCANOUT },
    { "scanout-blob/scanout-max", K_SCANOUT_BLOB,
      { SB(scanout_id, UINT32_MAX) }, 0, BAD_SCANOUT },
    { "scanout-blob/res-unknown", K_SCANOUT_BLOB, { SB(resource_id, 999) },
      0, BAD_RES },
    { "scanout-blob/res-0-disables", K_SCANOUT_BLOB, { SB(resource_id, 0) },
      0, OK },
    { "scanout-blob/res-not-blob", K_SCANOUT_BLOB,
      { SB(resource_id, RES_PLAIN) }, 0, BAD_PARAM },
    { "scanout-blob/format-0", K_SCANOUT_BLOB, { SB(format, 0) }, 0,
      BAD_PARAM },
    { "scanout-blob/format-max", K_SCANOUT_BLOB, { SB(format, UINT32_MAX) },
      0, BAD_PARAM },
    { "scanout-blob/width-0", K_SCANOUT_BLOB, { SB(width, 0) }, 0,
      BAD_PARAM },
    { "scanout-blob/height-0", K_SCANOUT_BLOB, { SB(height, 0) }, 0,
      BAD_PARAM },
    { "scanout-blob/width-max", K_SCANOUT_BLOB, { SB(width, UINT32_MAX) }, 0,
      BAD_PARAM },
    { "scanout-blob/height-max", K_SCANOUT_BLOB, { SB(height, UINT32_MAX) },
      0, BAD_PARAM },
    { "scanout-blob/height-past-blob", K_SCANOUT_BLOB, { SB(height, 33) }, 0,
      BAD_PARAM },
    { "scanout-blob/stride-0", K_SCANOUT_BLOB, { SB(strides[0], 0) }, 0,
      BAD_PARAM },
    { "scanout-blob/stride-short", K_SCANOUT_BLOB, { SB(strides[0], 127) },
      0, BAD_PARAM },
    { "scanout-blob/stride-max", K_SCANOUT_BLOB,
      { SB(strides[0], UINT32_MAX) }, 0, BAD_PARAM },
    { "scanout-blob/offset-1", K_SCANOUT_BLOB, { SB(offsets[0], 1) }, 0,
      BAD_PARAM },
    { "scanout-blob/offset-max", K_SCANOUT_BLOB,
      { SB(offsets[0], UINT32_MAX) }, 0, BAD_PARAM },
    { "scanout-blob/rect-x-past", K_SCANOUT_BLOB, { SB(r.x, 1) }, 0,
      BAD_PARAM },
    { "scanout-blob/rect-x-max", K_SCANOUT_BLOB, { SB(r.x, UINT32_MAX) }, 0,
      BAD_PARAM },
    { "scanout-blob/rect-y-max", K_SCANOUT_BLOB, { SB(r.y, UINT32_MAX) }, 0,
      BAD_PARAM },
    { "scanout-blob/rect-w-0", K_SCANOUT_BLOB, { SB(r.width, 0) }, 0,
      BAD_PARAM },
    { "scanout-blob/rect-w-max", K_SCANOUT_BLOB, { SB(r.width, UINT32_MAX) },
      0, BAD_PARAM },
    { "scanout-blob/rect-y-past", K_SCANOUT_BLOB,
      { SB(r.x, 8), SB(r.y, 8), SB(r.width, 4) }, 0, BAD_PARAM },
    { "scanout-blob/small", K_SCANOUT_BLOB,
      { SB(width, 16), SB(r.width, 16), SB(r.height, 16) }, 0, OK },
    { "scanout-blob/short", K_SCANOUT_BLOB, {},
      sizeof(struct virtio_gpu_set_scanout_blob) - 4, BAD_PARAM },

    /* RESOURCE_FLUSH */
    { "flush/ok", K_FLUSH, {}, 0, OK },
    { "flush/res-unknown", K_FLUSH, { FL(resource_id, 999) }, 0, BAD_RES },
    { "flush/rect-max", K_FLUSH,
      { FL(r.x, UINT32_MAX), FL(r.width, UINT32_MAX) }, 0, OK },
    { "flush/short", K_FLUSH, {}, sizeof(struct virtio_gpu_ctrl_hdr) + 4,
      BAD_PARAM },

    /* RESOURCE_ASSIGN_UUID */
    { "uuid/ok", K_UUID, {}, 0, OK_UUID },
    { "uuid/res-0", K_UUID, { RID(struct virtio_gpu_resource_assign_uuid,
                                  0) }, 0, BAD_RES },
    { "uuid/res-unknown", K_UUID,
      { RID(struct virtio_gpu_resource_assign_uuid, 999) }, 0, BAD_RES },
    { "uuid/short", K_UUID, {}, sizeof(struct virtio_gpu_ctrl_hdr), BAD_PARAM },

    /* CTX_CREATE and CTX_DESTROY */
    { "ctx-create/ok", K_CTX_CREATE, {}, 0, OK },
    { "ctx-create/id-0", K_CTX_CREATE, { HDR(ctx_id, 0) }, 0, BAD_CTX },
    { "ctx-create/id-in-use", K_CTX_CREATE, { HDR(ctx_id, CTX) }, 0, BAD_CTX,
      mapped_kept },
    { "ctx-create/nlen-max", K_CTX_CREATE, { CC(nlen, UINT32_MAX) }, 0, OK },
    { "ctx-create/init-virgl", K_CTX_CREATE, { CC(context_init, 1) }, 0,
      OK },
    { "ctx-create/init-virgl2", K_CTX_CREATE, { CC(context_init, 2) }, 0,
      OK },
    { "ctx-create/init-gfxstream", K_CTX_CREATE, { CC(context_init, 3) }, 0,
      BAD_PARAM },
    { "ctx-create/init-venus-off", K_CTX_CREATE, { CC(context_init, 4) }, 0,
      BAD_PARAM },
    { "ctx-create/init-255", K_CTX_CREATE, { CC(context_init, 0xff) }, 0,
      BAD_PARAM },
    { "ctx-create/init-high-bits", K_CTX_CREATE,
      { CC(context_init, 0x100) }, 0, BAD_PARAM },
    { "ctx-create/short", K_CTX_CREATE, {},
      sizeof(struct virtio_gpu_ctrl_hdr) + 4, BAD_PARAM },
    { "ctx-destroy/ok-with-mapped", K_CTX_DESTROY, {}, 0, OK, ctx_gone },
    { "ctx-destroy/id-0", K_CTX_DESTROY, { HDR(ctx_id, 0) }, 0, BAD_CTX,
      ctx_kept },
    { "ctx-destroy/id-unknown", K_CTX_DESTROY, { HDR(ctx_id, 999) }, 0,
      BAD_CTX, ctx_kept },

    /* SUBMIT_3D, fences and rings */
    { "submit/ok", K_SUBMIT, {}, 0, OK },
    { "submit/ctx-0", K_SUBMIT, { HDR(ctx_id, 0) }, 0, BAD_CTX },
    { "submit/ctx-unknown", K_SUBMIT, { HDR(ctx_id, 999) }, 0, BAD_CTX },
    { "submit/size-max", K_SUBMIT, { CS(size, UINT32_MAX) }, 0, BAD_PARAM },
    { "submit/size-past-request", K_SUBMIT, { CS(size, 8) }, 0, BAD_PARAM },
    { "submit/size-unaligned", K_SUBMIT, { CS(size, 3) }, 0, BAD_PARAM },
    { "submit/garbage", K_SUBMIT,
      { FLD(struct virtio_gpu_cmd_submit, padding, 0),
        { sizeof(struct virtio_gpu_cmd_submit), 4, 0xffff00ff } }, 0,
      UNSPEC },
    { "submit/fence-2^32", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE), HDR(fence_id, 1ull << 32) }, 0,
      OK },
    { "submit/fence-max", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE), HDR(fence_id, UINT64_MAX) }, 0,
      OK },
    { "submit/fence-0", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE), HDR(fence_id, 0) }, 0, OK },
    { "submit/ring-63", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX),
        HDR(ring_idx, 63) }, 0, OK },
    { "submit/ring-64", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX),
        HDR(ring_idx, 64) }, 0, BAD_PARAM },
    { "submit/ring-255", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX),
        HDR(ring_idx, 255) }, 0, BAD_PARAM },
    { "submit/ring-no-fence", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_INFO_RING_IDX), HDR(ring_idx, 1) }, 0,
      OK },
    { "submit/ring-ctx-unknown", K_SUBMIT,
      { HDR(flags, VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX),
        HDR(ctx_id, 999) }, 0, BAD_CTX },
    { "submit/flags-unknown", K_SUBMIT, { HDR(flags, 0xfffffffcu) }, 0, OK },
    { "submit/short", K_SUBMIT, {}, sizeof(struct virtio_gpu_ctrl_hdr) + 2,
      BAD_PARAM },

    /* GET_CAPSET_INFO, GET_CAPSET */
    { "capset-info/ok", K_CAPSET_INFO, {}, 0, OK_CAPINFO },
    { "capset-info/index-2", K_CAPSET_INFO, { GI(capset_index, 2) }, 0,
      BAD_PARAM },
    { "capset-info/index-max", K_CAPSET_INFO,
      { GI(capset_index, UINT32_MAX) }, 0, BAD_PARAM },
    { "capset/ok", K_CAPSET, {}, 0, OK_CAPSET },
    { "capset/virgl2", K_CAPSET, { GC(capset_id, 2), GC(capset_version, 2) },
      0, OK_CAPSET },
    { "capset/version-past", K_CAPSET,
      { GC(capset_id, 2), GC(capset_version, 3) }, 0, BAD_PARAM },
    { "capset/venus-off", K_CAPSET, { GC(capset_id, 4) }, 0, BAD_PARAM },
    { "capset/id-0", K_CAPSET, { GC(capset_id, 0) }, 0, BAD_PARAM },
    { "capset/id-max", K_CAPSET, { GC(capset_id, UINT32_MAX) }, 0,
      BAD_PARAM },
    { "capset/short", K_CAPSET, {}, sizeof(struct virtio_gpu_ctrl_hdr) + 4,
      BAD_PARAM },

    /* ATTACH_BACKING, DETACH_BACKING on blobs */
    { "attach/res-unknown", K_ATTACH, { AB(resource_id, 999) }, 0,
      BAD_RES },
    { "attach/entries-max", K_ATTACH, { AB(nr_entries, UINT32_MAX) }, 0,
      BAD_PARAM },
    { "attach/entries-missing", K_ATTACH, { AB(nr_entries, 3) }, 0,
      BAD_PARAM },
    { "detach/guest-blob", K_DETACH, {}, 0, OK },
    { "detach/res-unknown", K_DETACH,
      { RID(struct virtio_gpu_resource_detach_backing, 999) }, 0, BAD_RES },
    { "detach/host3d-blob", K_DETACH,
      { RID(struct virtio_gpu_resource_detach_backing, RES_MAPPED) }, 0, OK,
      mapped_kept },

    /* RESOURCE_UNREF, CTX_ATTACH_RESOURCE, TRANSFER on blobs */
    { "unref/free", K_UNREF, {}, 0, OK, free_res_gone },
    { "unref/mapped", K_UNREF,
      { RID(struct virtio_gpu_resource_unref, RES_MAPPED) }, 0, OK,
      mapped_gone },
    { "unref/res-0", K_UNREF, { RID(struct virtio_gpu_resource_unref, 0) },
      0, BAD_RES },
    { "unref/res-unknown", K_UNREF,
      { RID(struct virtio_gpu_resource_unref, 999) }, 0, BAD_RES },
    { "ctx-attach/blob", K_CTX_ATTACH, {}, 0, OK },
    { "ctx-attach/ctx-unknown", K_CTX_ATTACH, { HDR(ctx_id, 999) }, 0,
      BAD_CTX },
    { "transfer/plain", K_TRANSFER_FROM, {}, 0, OK },
    { "transfer/res-unknown", K_TRANSFER_FROM, { TR(resource_id, 999) }, 0,
      BAD_RES },

    /* Headers */
    { "header/type-0", K_NOP, { HDR(type, 0) }, 0, UNSPEC },
    { "header/type-max", K_NOP, { HDR(type, UINT32_MAX) }, 0, UNSPEC },
    { "header/type-cursor", K_NOP,
      { HDR(type, VIRTIO_GPU_CMD_UPDATE_CURSOR) }, 0, UNSPEC },
    { "header/type-response", K_NOP, { HDR(type, OK) }, 0, UNSPEC },
    { "header/short-8", K_NOP, {}, 8, BAD_PARAM },
    { "header/short-23", K_NOP, {}, 23, BAD_PARAM },
    { "header/fence-short", K_NOP, { HDR(flags, VIRTIO_GPU_FLAG_FENCE) }, 12,
      BAD_PARAM },
};

static void test_case(void *obj, void *data, QGuestAllocator *alloc)
{
    const Case *c = data;
    Env e = setup(obj, alloc);
    uint8_t buf[256], resp[2048];
    struct virtio_gpu_ctrl_hdr *r = (void *)resp;
    size_t len = baseline(&e, c->kind, buf);
    const Field *f;

    for (f = c->set; f < c->set + ARRAY_SIZE(c->set) && f->size; f++) {
        uint64_t v = cpu_to_le64(f->val);

        memcpy(buf + f->off, &v, f->size);
    }
    if (c->len > 0) {
        len = c->len;
    }
    g_assert_cmphex(qvirtio_gpu_cmd(e.gpu, buf, len, resp, sizeof(resp),
                                    false), ==, c->expect);
    /* A fenced command's reply is fenced, with the guest's own id. */
    if (len >= sizeof(*r) &&
        ((struct virtio_gpu_ctrl_hdr *)buf)->flags & VIRTIO_GPU_FLAG_FENCE) {
        g_assert_cmphex(r->flags & VIRTIO_GPU_FLAG_FENCE, ==,
                        VIRTIO_GPU_FLAG_FENCE);
        g_assert_cmphex(r->fence_id, ==,
                        ((struct virtio_gpu_ctrl_hdr *)buf)->fence_id);
    }
    if (c->after) {
        c->after(&e);
    }
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/* ---- sequences across commands, and the defects they once showed ---- */

/*
 * A 4 KiB buffer under a blob that declares 64 MiB: a scanout near the
 * declared end must be refused, not copied from past the buffer.
 */
static void test_scanout_past_backing(void *obj, void *data,
                                      QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    struct virtio_gpu_set_scanout_blob s = {
        .resource_id = RES_NEW, .width = 64, .height = 64,
        .format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, .strides = { 256 },
        .offsets = { 48 * MiB }, .r = { .width = 64, .height = 64 },
    };

    host_blob(&e, RES_NEW, OBJ_SPARE + 100, PAGE, 64 * MiB, true);
    qvirtio_gpu_hdr_init(&s.hdr, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, 0);
    g_assert_cmphex(cmd(&e, &s, sizeof(s)), ==, BAD_PARAM);
    /* and the same blob with the scanout inside its first page works */
    s.offsets[0] = 0;
    s.height = s.r.height = 16;
    g_assert_cmphex(cmd(&e, &s, sizeof(s)), ==, OK);
    /* mapping it: the renderer holds less than the guest reserved */
    g_assert_cmphex(qvirtio_gpu_map_blob(e.gpu, RES_NEW, 8 * MiB, NULL), ==,
                    UNSPEC);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_NEW), ==,
                    OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

static uint32_t flush(Env *e, uint32_t id)
{
    struct virtio_gpu_resource_flush f = {
        .resource_id = id, .r = { .width = 32, .height = 32 },
    };

    qvirtio_gpu_hdr_init(&f.hdr, VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0);
    return cmd(e, &f, sizeof(f));
}

/* The pixel at (x, y) of the screen, as RGB. */
static uint32_t pixel(Env *e, int x, int y)
{
    int w, h;
    g_autofree uint8_t *pix = qvirtio_gpu_screendump(e->gpu, &w, &h);
    uint8_t *p = pix + (y * w + x) * 3;

    return p[0] << 16 | p[1] << 8 | p[2];
}

/*
 * DETACH_BACKING of a GUEST blob on a scanout: a flush afterwards shows
 * black, never the freed page list; pages attached again show.
 */
static void test_scanout_detached(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    uint8_t buf[256];
    size_t len = baseline(&e, K_SCANOUT_BLOB, buf);

    g_assert_cmphex(cmd(&e, buf, len), ==, OK);
    g_assert_cmphex(pixel(&e, 3, 3), ==, 0x5a5a5a);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
                            RES_GUEST), ==, OK);
    g_assert_cmphex(flush(&e, RES_GUEST), ==, OK);
    g_assert_cmphex(pixel(&e, 3, 3), ==, 0);
    /* again: nothing attached, nothing to detach */
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
                            RES_GUEST), ==, OK);
    qtest_memset(e.gpu->qts, e.spare_page, 0x33, PAGE);
    len = baseline(&e, K_ATTACH, buf);
    g_assert_cmphex(cmd(&e, buf, len), ==, OK);
    g_assert_cmphex(flush(&e, RES_GUEST), ==, OK);
    g_assert_cmphex(pixel(&e, 3, 3), ==, 0x333333);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_GUEST),
                    ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/*
 * A GUEST blob whose 8192 entries all name the same 64 KiB: 512 MiB as
 * far as the device can tell, and a 16384x8192 scanout of it would make
 * QEMU allocate a 512 MiB surface.  max_hostmem (256 MiB) refuses it.
 */
static void test_scanout_surface_quota(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    const uint32_t n = 8192, each = 64 * KiB;
    Env e = setup(obj, alloc);
    uint64_t chunk = qvirtio_gpu_alloc_backing(e.gpu, each);
    size_t len = sizeof(struct virtio_gpu_resource_create_blob) +
                 n * sizeof(struct virtio_gpu_mem_entry);
    g_autofree uint8_t *buf = g_malloc0(len);
    struct virtio_gpu_resource_create_blob *c = (void *)buf;
    struct virtio_gpu_mem_entry *ent = (void *)(c + 1);
    struct virtio_gpu_set_scanout_blob s = {
        .resource_id = RES_NEW, .width = 16384, .height = 8192,
        .format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, .strides = { 65536 },
        .r = { .width = 16, .height = 16 },
    };
    uint32_t i;

    qvirtio_gpu_hdr_init(&c->hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, 0);
    c->resource_id = RES_NEW;
    c->blob_mem = VIRTIO_GPU_BLOB_MEM_GUEST;
    c->nr_entries = n;
    c->size = (uint64_t)n * each;
    for (i = 0; i < n; i++) {
        ent[i].addr = chunk;
        ent[i].length = each;
    }
    g_assert_cmphex(cmd(&e, buf, len), ==, OK);
    qvirtio_gpu_hdr_init(&s.hdr, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, 0);
    g_assert_cmphex(cmd(&e, &s, sizeof(s)), ==, OOM);
    /* A quarter of it fits. */
    s.height = 2048;
    g_assert_cmphex(cmd(&e, &s, sizeof(s)), ==, OK);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_NEW), ==,
                    OK);
    /* The surface went with the blob: three more in turn fit. */
    for (i = 0; i < 3; i++) {
        g_assert_cmphex(cmd(&e, buf, len), ==, OK);
        g_assert_cmphex(cmd(&e, &s, sizeof(s)), ==, OK);
        g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_NEW),
                        ==, OK);
    }
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/*
 * Blobs declared as 4 KiB over 64 MiB renderer buffers count as 64 MiB:
 * with max_hostmem at 256 MiB the fifth does not fit (the fixture holds
 * a few KiB).
 */
static void test_quota_real_size(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    int i;

    for (i = 0; i < 5; i++) {
        qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 200 + i, 64 * MiB, true);
        g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 200 + i, CTX,
                            VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 200 + i, PAGE,
                            0, 0, 0),
                        ==, i < 3 ? OK : OOM);
    }
    /* Given back, the memory counts no more. */
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, 200), ==, OK);
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 205, 64 * MiB, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 205, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 205, PAGE, 0, 0, 0),
                    ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

static void hold_releases(Env *e, bool hold)
{
    qvirtio_gpu_hold_grace_periods(e->gpu->qts, GPU_PATH, hold);
}

/*
 * At max_hostmem, a CREATE that fits once a blob the guest dropped is
 * released waits for that release, unanswered, instead of failing: the
 * guest gave the memory back already.
 */
static void test_quota_waits_release(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    struct virtio_gpu_resource_create_blob cb = {
        .resource_id = 213, .blob_mem = VIRTIO_GPU_BLOB_MEM_HOST3D,
        .blob_flags = A0, .blob_id = 213, .size = 32 * MiB,
    };
    struct virtio_gpu_ctrl_hdr resp;
    QVirtioGpuReq r;
    int i;

    /* 32 + 3 x 64 MiB and the fixture's few KiB: 32 MiB more do not fit */
    host_blob(&e, 200, 200, 32 * MiB, 32 * MiB, true);
    for (i = 1; i < 4; i++) {
        host_blob(&e, 200 + i, 200 + i, 64 * MiB, 64 * MiB, true);
    }
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 212, 32 * MiB, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 212, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 212, 32 * MiB,
                        0, 0, 0),
                    ==, OOM);
    g_assert_cmphex(qvirtio_gpu_map_blob(e.gpu, 200, 16 * MiB, NULL), ==,
                    OK_MAP);
    hold_releases(&e, true);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, 200), ==, OK);

    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 213, 32 * MiB, true);
    qvirtio_gpu_hdr_init(&cb.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, CTX);
    qvirtio_gpu_cmd_send(e.gpu, &cb, sizeof(cb), sizeof(resp), false, &r);
    for (i = 0; i < 20; i++) {
        g_assert_false(qvirtio_gpu_cmd_poll(e.gpu, &r, &resp));
    }
    hold_releases(&e, false);
    for (i = 0; i < 10000 && !qvirtio_gpu_cmd_poll(e.gpu, &r, &resp); i++) {
        /* the release, then the CREATE */
    }
    g_assert_cmphex(resp.type, ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/*
 * A mapped blob's memory counts until the renderer really frees it,
 * after its grace period, not from its UNREF on: with releases held
 * back, a blob dropped while mapped still fills its share.
 */
static void test_quota_until_freed(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    int i;

    for (i = 0; i < 3; i++) {
        host_blob(&e, 200 + i, 200 + i, 64 * MiB, PAGE, true);
    }
    g_assert_cmphex(qvirtio_gpu_map_blob(e.gpu, 200, 8 * MiB, NULL), ==,
                    OK_MAP);
    hold_releases(&e, true);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, 200), ==, OK);
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 210, 64 * MiB, true);
    g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 210, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 210, PAGE, 0, 0, 0),
                    ==, OOM);
    hold_releases(&e, false);
    qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 211, 64 * MiB, true);
    for (i = 0; i < 1000 &&
         region_stat(&e, "x-hostmem-pending-releases"); i++) {
        qtest_clock_step(e.gpu->qts, 1000 * 1000);
    }
    g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 211, CTX,
                        VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 211, PAGE, 0, 0, 0),
                    ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/*
 * More live mappings than the region allows (max_mappings=16 on this
 * node) are refused with OUT_OF_MEMORY, and the device carries on.
 */
static void test_mapping_limit(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;
    int i;

    qvirtio_gpu_start(gpu, alloc, FEATURES);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, CTX, 0), ==, OK);
    for (i = 0; i < 17; i++) {
        qvirtio_gpu_virgl_buffer_object(gpu, CTX, 100 + i, PAGE, true);
        g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 100 + i, CTX,
                            VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 100 + i, PAGE,
                            0, 0, 0), ==, OK);
        /* every other page: each mapping leaves a gap */
        g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 100 + i, 2 * i * PAGE,
                                             NULL),
                        ==, i < 16 ? OK_MAP : OOM);
    }
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 100), ==, OK);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 116, 2 * 16 * PAGE, NULL), ==,
                    OK_MAP);
    qvirtio_gpu_stop(gpu);
}

/*
 * The default limit holds long before QEMU's own ceiling (about 2040
 * mappings with gaps aborted QEMU): the 1537th mapping is refused.
 */
static void test_mapping_default_limit(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    int i, ok = 0, oom = 0;

    for (i = 0; i < 1600; i++) {
        uint32_t r;

        qvirtio_gpu_virgl_buffer_object(e.gpu, CTX, 1000 + i, PAGE, true);
        g_assert_cmphex(qvirtio_gpu_create_blob(e.gpu, 1000 + i, CTX,
                            VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 1000 + i, PAGE,
                            0, 0, 0), ==, OK);
        r = qvirtio_gpu_map_blob(e.gpu, 1000 + i, 4 * MiB + 2 * i * PAGE,
                                 NULL);
        ok += r == OK_MAP;
        oom += r == OOM;
    }
    /* The fixture holds one mapping. */
    g_assert_cmpint(ok, ==, 1535);
    g_assert_cmpint(oom, ==, 1600 - 1535);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 1000),
                    ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/* Fences retire whatever their ids: past 2^32, and out of order. */
static void test_fence_ids(void *obj, void *data, QGuestAllocator *alloc)
{
    static const uint64_t ids[] = {
        1ull << 32, 5, UINT64_MAX, 1ull << 33, 7, 0,
    };
    Env e = setup(obj, alloc);
    struct {
        struct virtio_gpu_cmd_submit s;
        uint32_t nop;
    } c = { .s.size = 4 };
    struct virtio_gpu_ctrl_hdr resp;
    int i;

    for (i = 0; i < ARRAY_SIZE(ids); i++) {
        qvirtio_gpu_hdr_init(&c.s.hdr, VIRTIO_GPU_CMD_SUBMIT_3D, CTX);
        c.s.hdr.flags = VIRTIO_GPU_FLAG_FENCE;
        c.s.hdr.fence_id = ids[i];
        g_assert_cmphex(qvirtio_gpu_cmd(e.gpu, &c, sizeof(c), &resp,
                                        sizeof(resp), false), ==, OK);
        g_assert_cmphex(resp.fence_id, ==, ids[i]);
    }
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/* Commands on a context destroyed with its blobs mapped. */
static void test_after_ctx_destroy(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    uint8_t buf[256];
    size_t len;

    g_assert_cmphex(qvirtio_gpu_ctx_destroy(e.gpu, CTX), ==, OK);
    mapped_gone(&e);
    /* Linux frees the blobs afterwards: UNMAP then UNREF, silently */
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB,
                            RES_MAPPED), ==, OK);
    g_assert_cmphex(res_cmd(&e, VIRTIO_GPU_CMD_RESOURCE_UNREF, RES_MAPPED),
                    ==, OK);
    len = baseline(&e, K_CREATE_HOST3D, buf);
    g_assert_cmphex(cmd(&e, buf, len), ==, BAD_CTX);
    len = baseline(&e, K_SUBMIT, buf);
    g_assert_cmphex(cmd(&e, buf, len), ==, BAD_CTX);
    /* the context id is free again */
    g_assert_cmphex(qvirtio_gpu_ctx_create(e.gpu, CTX, 0), ==, OK);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/* A reset with everything live, then the same ids again. */
static void test_reset_live(void *obj, void *data, QGuestAllocator *alloc)
{
    Env e = setup(obj, alloc);
    uint8_t buf[256];
    size_t len = baseline(&e, K_SCANOUT_BLOB, buf);
    QDict *rsp;

    g_assert_cmphex(cmd(&e, buf, len), ==, OK);
    rsp = qtest_qmp(e.gpu->qts, "{'execute': 'system_reset'}");
    qobject_unref(rsp);
    qtest_qmp_eventwait(e.gpu->qts, "RESET");
    g_assert_cmpuint(region_stat(&e, "x-hostmem-mappings"), ==, 0);
    qvirtio_gpu_stop(e.gpu);
    e = setup(obj, alloc);
    still_works(&e);
    qvirtio_gpu_stop(e.gpu);
}

/*
 * A guest that resets the device again and again: each reset restarts
 * the renderer, which must leave nothing behind (a leak shows in make
 * check-asan) and work each time.
 */
static void test_reset_loop(void *obj, void *data, QGuestAllocator *alloc)
{
    int i;

    for (i = 0; i < 3; i++) {
        Env e = setup(obj, alloc);

        still_works(&e);
        qvirtio_gpu_stop(e.gpu);
    }
}

/*
 * A descriptor table in the host-visible region: descriptors read from
 * a mapped blob (device memory, read 8 bytes at a time) must come from
 * there, not from guest RAM at the same offset.
 */
static void test_desc_in_bar(void *obj, void *data, QGuestAllocator *alloc)
{
    Env e = setup_with(obj, alloc, 1ull << VIRTIO_RING_F_INDIRECT_DESC);
    QVirtioGpu *gpu = e.gpu;
    struct virtio_gpu_ctrl_hdr hdr;
    struct virtio_gpu_resp_display_info di;
    uint64_t req = guest_alloc(alloc, sizeof(hdr));
    uint64_t rsp = guest_alloc(alloc, sizeof(di));
    uint64_t table = e.bar.addr + MAPPED_AT;
    struct vring_desc d[2] = {
        { cpu_to_le64(req), cpu_to_le32(sizeof(hdr)),
          cpu_to_le16(VRING_DESC_F_NEXT), cpu_to_le16(1) },
        { cpu_to_le64(rsp), cpu_to_le32(sizeof(di)),
          cpu_to_le16(VRING_DESC_F_WRITE), 0 },
    };
    QVRingIndirectDesc indirect = { .desc = table, .index = 2, .elem = 2 };
    uint32_t head, got;
    gint64 start = g_get_monotonic_time();

    qvirtio_gpu_hdr_init(&hdr, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    qtest_memwrite(gpu->qts, req, &hdr, sizeof(hdr));
    qtest_memset(gpu->qts, rsp, 0, sizeof(di));
    qpci_memwrite(gpu->pdev, e.bar, MAPPED_AT, d, sizeof(d));
    head = qvirtqueue_add_indirect(gpu->qts, gpu->ctrlq, &indirect);
    qvirtqueue_kick(gpu->qts, gpu->vdev, gpu->ctrlq, head);
    while (!qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, NULL)) {
        g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * 1000000);
        qtest_clock_step(gpu->qts, 1000 * 1000);
    }
    qtest_memread(gpu->qts, rsp, &di, sizeof(di));
    g_assert_cmphex(le32_to_cpu(di.hdr.type), ==,
                    VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    guest_free(alloc, req);
    guest_free(alloc, rsp);
    qvirtio_gpu_stop(gpu);
}

/*
 * venus shared-memory blobs (blob_id 0, exactly MAPPABLE) are reached
 * through the fd the renderer exports: mapped, unmapped, and a reset
 * with some of them live leaks none of those fds.
 */
static void test_venus_blob_reset(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    const uint64_t feats = FEATURES;
    QVirtioGpu *gpu = obj;
    QPCIBar bar;
    uint64_t bar_size;
    uint8_t got[8];
    int i, fds;
    QDict *rsp;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, feats) & feats, ==, feats);
    bar = qpci_iomap(gpu->pdev, HOSTMEM_BAR, &bar_size);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==, OK);
    fds = qvirtio_gpu_qemu_fd_count(gpu);
    for (i = 0; i < 4; i++) {
        g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 30 + i, 5,
                            VIRTIO_GPU_BLOB_MEM_HOST3D, A0, 0, PAGE,
                            0, 0, 0), ==, OK);
        g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 30 + i, i * PAGE, NULL),
                        ==, OK_MAP);
    }
    qpci_memwrite(gpu->pdev, bar, 2 * PAGE, "venus!!", 8);
    qpci_memread(gpu->pdev, bar, 2 * PAGE, got, sizeof(got));
    g_assert_cmpmem(got, 8, "venus!!", 8);
    /* two go the normal way, two stay for the reset (one unmapped) */
    g_assert_cmphex(res_cmd(&(Env){ .gpu = gpu },
                            VIRTIO_GPU_CMD_RESOURCE_UNREF, 30), ==, OK);
    g_assert_cmphex(res_cmd(&(Env){ .gpu = gpu },
                            VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 31), ==, OK);
    g_assert_cmphex(res_cmd(&(Env){ .gpu = gpu },
                            VIRTIO_GPU_CMD_RESOURCE_UNREF, 31), ==, OK);
    g_assert_cmphex(res_cmd(&(Env){ .gpu = gpu },
                            VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 32), ==, OK);
    rsp = qtest_qmp(gpu->qts, "{'execute': 'system_reset'}");
    qobject_unref(rsp);
    qtest_qmp_eventwait(gpu->qts, "RESET");
    qvirtio_gpu_stop(gpu);
    /* the device starts over; the renderer is reset on its first command */
    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, feats) & feats, ==, feats);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==, OK);
    g_assert_cmpint(qvirtio_gpu_qemu_fd_count(gpu), <=, fds);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 5), ==, OK);
    qvirtio_gpu_stop(gpu);
}

/*
 * venus in QEMU's process (venus_in_process=on, or venus=on alone on
 * virglrenderer 0.10): its capset, a venus context, fences on its ring 0
 * with zero and past-2^32 ids, a ring the guest never set up (the
 * renderer refuses the fence: answered at once, not never), a ring out
 * of range, and the context made again.  No render server ever starts.
 */
static void test_venus_in_process(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    static const uint32_t rings[] = { 0, 0, 1, 0, 63 };
    QVirtioGpu *gpu = obj;
    struct {
        struct virtio_gpu_cmd_submit cs;
    } c = { .cs.size = 0 };
    struct virtio_gpu_resp_capset_info info;
    struct virtio_gpu_get_capset_info gi = { .capset_index = 2 };
    struct virtio_gpu_ctrl_hdr resp;
    int i;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, FEATURES) & FEATURES, ==,
                    FEATURES);
    qvirtio_gpu_hdr_init(&gi.hdr, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0);
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &gi, sizeof(gi), &info,
                                    sizeof(info), false), ==, OK_CAPINFO);
    g_assert_cmpuint(info.capset_id, ==, 4);
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==, OK);
    for (i = 0; i < ARRAY_SIZE(rings); i++) {
        qvirtio_gpu_hdr_init(&c.cs.hdr, VIRTIO_GPU_CMD_SUBMIT_3D, 5);
        c.cs.hdr.flags = VIRTIO_GPU_FLAG_FENCE |
                         VIRTIO_GPU_FLAG_INFO_RING_IDX;
        c.cs.hdr.ring_idx = rings[i];
        c.cs.hdr.fence_id = i == 3 ? 1ull << 33 : i;
        g_assert_cmphex(qvirtio_gpu_cmd(gpu, &c, sizeof(c), &resp,
                                        sizeof(resp), false), ==,
                        rings[i] ? UNSPEC : OK);
        g_assert_cmpuint(resp.ring_idx, ==, rings[i]);
        g_assert_cmphex(resp.fence_id, ==, c.cs.hdr.fence_id);
    }
    c.cs.hdr.ring_idx = 64;
    g_assert_cmphex(qvirtio_gpu_cmd(gpu, &c, sizeof(c), &resp, sizeof(resp),
                                    false), ==, BAD_PARAM);

    /*
     * A ring fence still pending when its context goes: queued together,
     * the destroy answers it, which the renderer never would.
     */
    {
        struct virtio_gpu_ctx_destroy cd;
        QVirtioGpuReq r1, r2;
        struct virtio_gpu_ctrl_hdr resp2;
        uint32_t got;
        int seen = 0, steps;

        c.cs.hdr.ring_idx = 0;
        c.cs.hdr.fence_id = 77;
        qvirtio_gpu_hdr_init(&cd.hdr, VIRTIO_GPU_CMD_CTX_DESTROY, 5);
        qvirtio_gpu_cmd_send(gpu, &c, sizeof(c), sizeof(resp), false, &r1);
        qvirtio_gpu_cmd_send(gpu, &cd, sizeof(cd), sizeof(resp2), false, &r2);
        for (steps = 0; seen < 2 && steps < 10000; steps++) {
            qtest_clock_step(gpu->qts, 1000 * 1000);
            while (qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, NULL)) {
                seen++;
            }
        }
        g_assert_cmpint(seen, ==, 2);
        qtest_memread(gpu->qts, r1.rsp, &resp, sizeof(resp));
        qtest_memread(gpu->qts, r2.rsp, &resp2, sizeof(resp2));
        g_assert_cmphex(resp.type, ==, OK);
        g_assert_cmphex(resp.fence_id, ==, 77);
        g_assert_cmphex(resp2.type, ==, OK);
        guest_free(alloc, r1.req);
        guest_free(alloc, r1.rsp);
        guest_free(alloc, r2.req);
        guest_free(alloc, r2.rsp);
    }
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==, OK);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 5), ==, OK);
    g_assert_cmpint(qvirtio_gpu_children(), ==, 0);
    qvirtio_gpu_stop(gpu);
}

/*
 * A barrier with venus context @ctx's worker in the render server: its
 * shm blob's CREATE waits for the worker's reply, and the worker takes
 * messages in order, so the imports and detaches sent before it are done.
 */
static void server_sync(QVirtioGpu *gpu, uint32_t ctx)
{
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 99, ctx,
                        VIRTIO_GPU_BLOB_MEM_HOST3D,
                        VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE, 0, PAGE,
                        0, 0, 0), ==, OK);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 99), ==, OK);
}

/*
 * The udmabufs QEMU holds (exactly: it closes them before it answers)
 * and the render server holds, beyond @q and @s.  After a synced @ctx
 * the server's count is exact too; a destroyed context's worker is
 * killed, and closes its fds a little later: that is waited for.
 */
static void assert_dmabufs(QVirtioGpu *gpu, uint32_t ctx, int q, int s,
                           int more_q, int more_s)
{
    int i, got;

    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, q + more_q);
    if (ctx) {
        server_sync(gpu, ctx);
    }
    for (i = 0; (got = qvirtio_gpu_child_dmabufs()) != s + more_s &&
                i < 500 && !ctx; i++) {
        g_usleep(10 * 1000);
    }
    g_assert_cmpint(got, ==, s + more_s);
}

static uint32_t guest_vram_blob(QVirtioGpu *gpu, uint32_t id, uint32_t ctx,
                                uint32_t flags, uint64_t size)
{
    /* Mesa's: the memory object's id as blob_id, no entries */
    return qvirtio_gpu_create_blob(gpu, id, ctx, VIRTIO_GPU_BLOB_MEM_HOST3D,
                                   flags, 0x1000 + id, size, 0, 0, 0);
}

/*
 * guest_vram=on, as Mesa's venus drives it and as a hostile guest may:
 * a venus HOST3D blob with a blob_id has no host memory until MAP_BLOB,
 * which imports the heap's pages there as a udmabuf (one fd in QEMU's
 * region, one import in the renderer, one copy in the render server
 * once attached).  Each undo step (UNMAP, UNREF mid-import, context
 * destroy, reset) lets go of all three, and every misuse is refused.
 */
static void test_guest_vram(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint32_t M = VIRTIO_GPU_BLOB_FLAG_USE_MAPPABLE;
    const uint64_t feats = FEATURES;
    QVirtioGpu *gpu = obj;
    Env e = { .gpu = gpu };
    struct virtio_gpu_set_scanout_blob sb = {
        .resource_id = 1, .width = 64, .height = 64,
        .format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, .strides = { 256 },
        .r = { .width = 64, .height = 64 },
    };
    uint32_t caps[40], map_info;
    uint64_t page;
    int q, s;
    QPCIBar bar;
    uint64_t bar_size;
    uint8_t got[8];
    QDict *rsp;

    g_assert_cmphex(qvirtio_gpu_start(gpu, alloc, feats) & feats, ==, feats);
    bar = qpci_iomap(gpu->pdev, HOSTMEM_BAR, &bar_size);
    page = qvirtio_gpu_alloc_backing(gpu, PAGE);
    q = qvirtio_gpu_qemu_dmabufs();

    /* the venus capset tells the guest: use_guest_vram at byte 156 */
    {
        struct virtio_gpu_get_capset gc = { .capset_id = 4 };
        g_autofree struct virtio_gpu_resp_capset *resp =
            g_malloc0(sizeof(*resp) + sizeof(caps));

        qvirtio_gpu_hdr_init(&gc.hdr, VIRTIO_GPU_CMD_GET_CAPSET, 0);
        g_assert_cmphex(qvirtio_gpu_cmd(gpu, &gc, sizeof(gc), resp,
                                        sizeof(*resp) + sizeof(caps), false),
                        ==, OK_CAPSET);
        memcpy(caps, resp->capset_data, sizeof(caps));
        g_assert_cmpuint(le32_to_cpu(caps[39]), ==, 1);
    }
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 5, 4), ==, OK);
    s = qvirtio_gpu_child_dmabufs();

    /* created: tracked only, nothing made; the guest's attach is fine */
    g_assert_cmphex(guest_vram_blob(gpu, 1, 5, M, 64 * KiB), ==, OK);
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                        VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 5, 1), ==, OK);
    assert_dmabufs(gpu, 5, q, s, 0, 0);

    /* mapped: the heap's pages, imported and attached to the context */
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 1, MiB, &map_info), ==,
                    OK_MAP);
    g_assert_cmphex(map_info, ==, VIRTIO_GPU_MAP_CACHE_CACHED);
    g_assert_cmpuint(region_stat(&e, "x-hostmem-slices"), ==, 1);
    assert_dmabufs(gpu, 5, q, s, 2, 1);
    qpci_memwrite(gpu->pdev, bar, MiB + 8, "heap!!!", 8);
    qpci_memread(gpu->pdev, bar, MiB + 8, got, sizeof(got));
    g_assert_cmpmem(got, 8, "heap!!!", 8);
    /* the guest's own attach after it makes no second copy */
    g_assert_cmphex(qvirtio_gpu_ctx_resource(gpu,
                        VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 5, 1), ==, OK);
    assert_dmabufs(gpu, 5, q, s, 2, 1);
    /* QEMU does not read these pages: no scanout of them */
    qvirtio_gpu_hdr_init(&sb.hdr, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, 0);
    g_assert_cmphex(cmd(&e, &sb, sizeof(sb)), ==, BAD_PARAM);

    /* mapped twice, over a live slice, outside, misaligned: refused */
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 1, 2 * MiB, NULL), ==,
                    BAD_PARAM);
    g_assert_cmphex(guest_vram_blob(gpu, 2, 5, M, 64 * KiB), ==, OK);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 2, MiB + 32 * KiB, NULL), ==,
                    BAD_PARAM);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 2, HOSTMEM - 32 * KiB, NULL),
                    ==, BAD_PARAM);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 2, 2 * MiB + 1, NULL), ==,
                    BAD_PARAM);
    /* not mappable, or larger than a slice: no memory could come */
    g_assert_cmphex(guest_vram_blob(gpu, 3, 5,
                                    VIRTIO_GPU_BLOB_FLAG_USE_SHAREABLE,
                                    PAGE), ==, BAD_PARAM);
    g_assert_cmphex(guest_vram_blob(gpu, 3, 5, M, HOSTMEM + PAGE), ==, OOM);
    assert_dmabufs(gpu, 5, q, s, 2, 1);

    /* freed mid-import, while mapped and with pages attached: all goes */
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 2, 2 * MiB, NULL), ==, OK_MAP);
    assert_dmabufs(gpu, 5, q, s, 4, 2);
    g_assert_cmphex(qvirtio_gpu_attach_backing(gpu, 2, page, PAGE, 1), ==,
                    OK);
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNREF, 2), ==, OK);
    assert_dmabufs(gpu, 5, q, s, 2, 1);

    /* unmapped: the import goes with the slice, the bytes stay the guest's */
    g_assert_cmphex(qvirtio_gpu_resource_cmd(gpu,
                        VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB, 1), ==, OK);
    g_assert_cmpuint(region_stat(&e, "x-hostmem-slices"), ==, 0);
    assert_dmabufs(gpu, 5, q, s, 0, 0);
    qpci_memread(gpu->pdev, bar, MiB + 8, got, sizeof(got));
    g_assert_cmpmem(got, 8, "heap!!!", 8);
    /* ...and mapped again elsewhere, imported again */
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 1, 4 * MiB, NULL), ==, OK_MAP);
    assert_dmabufs(gpu, 5, q, s, 2, 1);

    /* venus' own shared memory (blob_id 0) stays host-allocated */
    g_assert_cmphex(qvirtio_gpu_create_blob(gpu, 4, 5,
                        VIRTIO_GPU_BLOB_MEM_HOST3D, M, 0, PAGE, 0, 0, 0),
                    ==, OK);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 4, 8 * MiB, NULL), ==, OK_MAP);
    g_assert_cmpuint(region_stat(&e, "x-hostmem-slices"), ==, 1);

    /* the context destroyed with a slice live: it lets go of all */
    g_assert_cmphex(guest_vram_blob(gpu, 6, 5, M, PAGE), ==, OK);
    g_assert_cmphex(qvirtio_gpu_ctx_destroy(gpu, 5), ==, OK);
    g_assert_cmpuint(region_stat(&e, "x-hostmem-slices"), ==, 0);
    assert_dmabufs(gpu, 0, q, s, 0, 0);
    /* a blob whose context is gone gets no memory */
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 6, 12 * MiB, NULL), ==,
                    BAD_CTX);

    /* the device still works; a reset with a slice live lets go too */
    g_assert_cmphex(qvirtio_gpu_ctx_create(gpu, 6, 4), ==, OK);
    g_assert_cmphex(guest_vram_blob(gpu, 5, 6, M, PAGE), ==, OK);
    g_assert_cmphex(qvirtio_gpu_map_blob(gpu, 5, MiB, NULL), ==, OK_MAP);
    assert_dmabufs(gpu, 6, q, s, 2, 1);
    rsp = qtest_qmp(gpu->qts, "{'execute': 'system_reset'}");
    qobject_unref(rsp);
    qtest_qmp_eventwait(gpu->qts, "RESET");
    qvirtio_gpu_stop(gpu);
    g_assert_cmpuint(region_stat(&e, "x-hostmem-slices"), ==, 0);
    g_assert_cmpint(qvirtio_gpu_qemu_dmabufs(), ==, q);
}

static void register_virtio_gpu_hostile_test(void)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *name = g_strdup_printf("hostile/%s", cases[i].name);

        qos_add_test(name, "virtio-gpu-blob", test_case,
                     &(QOSGraphTestOptions){ .arg = (void *)&cases[i] });
    }
    qos_add_test("hostile/seq/scanout-past-backing", "virtio-gpu-blob",
                 test_scanout_past_backing, NULL);
    qos_add_test("hostile/seq/scanout-detached", "virtio-gpu-blob",
                 test_scanout_detached, NULL);
    qos_add_test("hostile/seq/scanout-surface-quota", "virtio-gpu-blob",
                 test_scanout_surface_quota, NULL);
    qos_add_test("hostile/seq/quota-real-size", "virtio-gpu-blob",
                 test_quota_real_size, NULL);
    qos_add_test("hostile/seq/quota-until-freed", "virtio-gpu-blob",
                 test_quota_until_freed, NULL);
    qos_add_test("hostile/seq/quota-waits-release", "virtio-gpu-blob",
                 test_quota_waits_release, NULL);
    qos_add_test("hostile/seq/mapping-limit", "virtio-gpu-blob-maplimit",
                 test_mapping_limit, NULL);
    qos_add_test("hostile/seq/mapping-default-limit", "virtio-gpu-blob",
                 test_mapping_default_limit, NULL);
    qos_add_test("hostile/seq/fence-ids", "virtio-gpu-blob", test_fence_ids,
                 NULL);
    qos_add_test("hostile/seq/after-ctx-destroy", "virtio-gpu-blob",
                 test_after_ctx_destroy, NULL);
    qos_add_test("hostile/seq/reset-live", "virtio-gpu-blob",
                 test_reset_live, NULL);
    qos_add_test("hostile/seq/reset-loop", "virtio-gpu-blob",
                 test_reset_loop, NULL);
    qos_add_test("hostile/seq/desc-in-bar", "virtio-gpu-blob",
                 test_desc_in_bar, NULL);
    qos_add_test("hostile/seq/venus-blob-reset", "virtio-gpu-venus",
                 test_venus_blob_reset, NULL);
    if (QVIRTIO_GPU_HAS_GUEST_VRAM) {
        qos_add_test("hostile/seq/guest-vram", "virtio-gpu-guest-vram",
                     test_guest_vram, NULL);
    }
    if (QVIRTIO_GPU_HAS_VENUS_IN_PROCESS) {
        qos_add_test("hostile/seq/venus-in-process",
                     "virtio-gpu-venus-inproc", test_venus_in_process, NULL);
    }
}

libqos_init(register_virtio_gpu_hostile_test);
