/*
 * A Vulkan client for the guest, on Mesa's venus driver: host-visible
 * coherent memory in the host-visible region, written by the CPU,
 * filled and copied by the device, read back byte for byte; and a
 * compute dispatch whose output is checked.  Built on the host against
 * its libvulkan1, run in the guest from the host's root (over 9p).
 * Prints TAP, then "N passed, N failed".
 *
 *   vk-client SHADER.spv|--no-compute [--frame] [--guest-vram] [--bench]
 *
 * --frame prints the computed image; --guest-vram first checks that the
 * venus capset offers guest-based allocation (use_guest_vram); --bench
 * also times host-visible allocations ("# vk-bench" lines).
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "hostvis.h"
#include "tap.h"
#include "virtgpu-uapi.h"

#define SIZE   (256 * 1024)     /* bytes per buffer */
#define FILL   0x5eed1e55u      /* what the device fills with */
#define GROUPS 64               /* compute: 64 groups of 64 invocations */

static uint32_t pixel(uint32_t x, uint32_t y)
{
    return 0xff000000u | (x * 4) << 16 | (y * 4) << 8 | (((x ^ y) * 4) & 0xff);
}

static VkDevice dev;
static VkPhysicalDeviceMemoryProperties mem_props;

static int memory_type(uint32_t bits, VkMemoryPropertyFlags want)
{
    uint32_t i;

    for (i = 0; i < mem_props.memoryTypeCount; i++) {
        if ((bits & (1u << i)) &&
            (mem_props.memoryTypes[i].propertyFlags & want) == want) {
            return i;
        }
    }
    return -1;
}

/* A buffer in its own host-visible, coherent memory, mapped. */
typedef struct Buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    uint8_t *map;
} Buffer;

static bool buffer_new(Buffer *b, VkBufferUsageFlags usage)
{
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = SIZE, .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkMemoryRequirements req;
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    };
    int type;

    if (vkCreateBuffer(dev, &bi, NULL, &b->buf) != VK_SUCCESS) {
        return false;
    }
    vkGetBufferMemoryRequirements(dev, b->buf, &req);
    type = memory_type(req.memoryTypeBits,
                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (type < 0) {
        return false;
    }
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type;
    return vkAllocateMemory(dev, &ai, NULL, &b->mem) == VK_SUCCESS &&
           vkBindBufferMemory(dev, b->buf, b->mem, 0) == VK_SUCCESS &&
           vkMapMemory(dev, b->mem, 0, SIZE, 0,
                       (void **)&b->map) == VK_SUCCESS;
}

static void buffer_free(Buffer *b)
{
    vkUnmapMemory(dev, b->mem);
    vkDestroyBuffer(dev, b->buf, NULL);
    vkFreeMemory(dev, b->mem, NULL);
}

static uint32_t *read_spirv(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint32_t *code;
    long n;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || n % 4) {
        if (f) {
            fclose(f);
        }
        return NULL;
    }
    rewind(f);
    code = malloc(n);
    if (fread(code, 1, n, f) != (size_t)n) {
        free(code);
        code = NULL;
    }
    fclose(f);
    *len = n;
    return code;
}

/*
 * The venus capset's use_guest_vram (a u32 at byte 156, virglrenderer
 * 1.0.1 and later), as the kernel hands it to Mesa; -1 if unreadable.
 */
static int venus_use_guest_vram(void)
{
    uint32_t caps[40] = { 0 };
    struct drm_virtgpu_get_caps gc = {
        .cap_set_id = CAPSET_VENUS,
        .addr = (uintptr_t)caps,
        .size = sizeof(caps),
    };
    int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
    int ret;

    if (fd < 0) {
        return -1;
    }
    ret = ioctl(fd, IOCTL_GET_CAPS, &gc);
    close(fd);
    return ret ? -1 : (int)caps[39];
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * What an application pays for host-visible memory: vkAllocateMemory,
 * vkMapMemory, a write to every page, vkUnmapMemory and vkFreeMemory,
 * on a HOST_VISIBLE|HOST_COHERENT type.  Prints the mean per size.
 */
static void bench_allocations(void)
{
    static const VkDeviceSize sizes[] = { 64 * 1024, 1024 * 1024 };
    const int n = 20;
    int type = memory_type(~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    unsigned k;
    int i;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        VkMemoryAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
            .allocationSize = sizes[k], .memoryTypeIndex = type,
        };
        double start = now_us();
        bool ok = type >= 0;

        for (i = 0; ok && i < n; i++) {
            VkDeviceMemory mem = VK_NULL_HANDLE;
            uint8_t *map;
            VkDeviceSize off;

            ok = vkAllocateMemory(dev, &ai, NULL, &mem) == VK_SUCCESS;
            if (ok && vkMapMemory(dev, mem, 0, VK_WHOLE_SIZE, 0,
                                  (void **)&map) == VK_SUCCESS) {
                for (off = 0; off < sizes[k]; off += 4096) {
                    map[off] = i;
                }
                vkUnmapMemory(dev, mem);
            } else {
                ok = false;
            }
            if (mem) {
                vkFreeMemory(dev, mem, NULL);
            }
        }
        check(ok, "%d allocations of %llu KiB, mapped and written", n,
              (unsigned long long)sizes[k] / 1024);
        printf("# vk-bench alloc+map+write+free %4llu KiB: %.0f us\n",
               (unsigned long long)sizes[k] / 1024,
               (now_us() - start) / n);
    }
}

int main(int argc, char **argv)
{
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vgpu-vk-client", .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueCount = 1, .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
    };
    VkInstance inst;
    VkPhysicalDevice phys[4];
    VkPhysicalDeviceProperties props;
    uint32_t nphys = 4, i, bad;
    VkQueue queue;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    Buffer src, dst, out;
    int nodes_before, nodes_mapped;
    size_t spv_len = 0;
    uint32_t *spv = NULL;
    bool compute = true, frame = false, bench = false;
    int a;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--frame")) {
            frame = true;
        } else if (!strcmp(argv[a], "--bench")) {
            bench = true;
        } else if (!strcmp(argv[a], "--no-compute")) {
            compute = false;
        } else if (!strcmp(argv[a], "--guest-vram")) {
            int v = venus_use_guest_vram();

            check(v == 1, "the venus capset offers use_guest_vram (%d)", v);
        } else {
            spv = read_spirv(argv[a], &spv_len);
        }
    }
    if (!check(vkCreateInstance(&ici, NULL, &inst) == VK_SUCCESS,
               "a Vulkan 1.1 instance") ||
        !check(vkEnumeratePhysicalDevices(inst, &nphys, phys) >= 0 &&
               nphys >= 1, "a physical device")) {
        return tap_finish();
    }
    vkGetPhysicalDeviceProperties(phys[0], &props);
    check(strstr(props.deviceName, "Venus") != NULL,
          "the device is venus: %s", props.deviceName);
    vkGetPhysicalDeviceMemoryProperties(phys[0], &mem_props);
    if (!check(vkCreateDevice(phys[0], &dci, NULL, &dev) == VK_SUCCESS,
               "a logical device")) {
        return tap_finish();
    }
    vkGetDeviceQueue(dev, 0, 0, &queue);
    if (bench) {
        bench_allocations();
    }

    /* Host-visible, coherent memory: in the region while mapped. */
    nodes_before = host_visible_nodes();
    if (!check(buffer_new(&src, VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                          VK_BUFFER_USAGE_TRANSFER_DST_BIT) &&
               buffer_new(&dst, VK_BUFFER_USAGE_TRANSFER_DST_BIT) &&
               buffer_new(&out, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT),
               "three HOST_VISIBLE|HOST_COHERENT buffers allocated and "
               "mapped (vkMapMemory)")) {
        return tap_finish();
    }
    nodes_mapped = host_visible_nodes();
    check(nodes_mapped >= nodes_before + 3, "the mappings live in the "
          "host-visible region (%d allocations there, %d before)",
          nodes_mapped, nodes_before);

    /* CPU writes; the device fills half of it, then copies all of it. */
    for (i = 0; i < SIZE; i++) {
        src.map[i] = i * 7 + (i >> 9);
    }
    memset(dst.map, 0xcc, SIZE);
    {
        VkCommandPoolCreateInfo pci = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        };
        VkCommandBufferAllocateInfo cai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        VkCommandBufferBeginInfo begin = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        };
        VkFenceCreateInfo fci = {
            .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
        };
        VkMemoryBarrier barrier = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
        };
        VkBufferCopy copy = { 0, 0, SIZE };
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1, .pCommandBuffers = &cb,
        };
        bool ok;

        vkCreateCommandPool(dev, &pci, NULL, &pool);
        cai.commandPool = pool;
        vkAllocateCommandBuffers(dev, &cai, &cb);
        vkCreateFence(dev, &fci, NULL, &fence);
        vkBeginCommandBuffer(cb, &begin);
        vkCmdFillBuffer(cb, src.buf, SIZE / 2, SIZE / 2, FILL);
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier,
                             0, NULL, 0, NULL);
        vkCmdCopyBuffer(cb, src.buf, dst.buf, 1, &copy);
        vkEndCommandBuffer(cb);
        ok = vkQueueSubmit(queue, 1, &si, fence) == VK_SUCCESS &&
             vkWaitForFences(dev, 1, &fence, VK_TRUE,
                             10ull * 1000 * 1000 * 1000) == VK_SUCCESS;
        check(ok, "fill and copy submitted and fenced");
        for (i = 0, bad = 0; i < SIZE; i++) {
            uint8_t want = i < SIZE / 2 ? (uint8_t)(i * 7 + (i >> 9)) :
                           (uint8_t)(FILL >> (8 * (i % 4)));
            bad += dst.map[i] != want || src.map[i] != want;
        }
        check(ok && !bad, "the device's fill and copy read back byte for "
              "byte through both mappings (%u of %u bytes wrong)", bad,
              SIZE);
    }

    /* Compute: a 64x64 image, one invocation a pixel (vk-compute.comp). */
    if (compute &&
        check(spv != NULL, "compute shader SPIR-V (%zu bytes)", spv_len)) {
        VkShaderModuleCreateInfo smi = {
            .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
            .codeSize = spv_len, .pCode = spv,
        };
        VkDescriptorSetLayoutBinding bind = {
            .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
        VkDescriptorSetLayoutCreateInfo dli = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = 1, .pBindings = &bind,
        };
        VkDescriptorPoolSize ps = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1 };
        VkDescriptorPoolCreateInfo dpi = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
            .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps,
        };
        VkShaderModule sm;
        VkDescriptorSetLayout dl;
        VkPipelineLayout pl;
        VkPipeline pipe;
        VkDescriptorPool dp;
        VkDescriptorSet ds;
        VkPipelineLayoutCreateInfo pli = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1, .pSetLayouts = &dl,
        };
        VkComputePipelineCreateInfo cpi = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT, .pName = "main",
            },
        };
        VkDescriptorSetAllocateInfo dsai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorSetCount = 1, .pSetLayouts = &dl,
        };
        VkDescriptorBufferInfo dbi = { out.buf, 0, SIZE };
        VkWriteDescriptorSet w = {
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &dbi,
        };
        VkCommandBufferBeginInfo begin = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        };
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1, .pCommandBuffers = &cb,
        };
        uint32_t *o = (uint32_t *)out.map;
        bool ok;

        memset(out.map, 0, SIZE);
        ok = vkCreateShaderModule(dev, &smi, NULL, &sm) == VK_SUCCESS &&
             vkCreateDescriptorSetLayout(dev, &dli, NULL, &dl) == VK_SUCCESS &&
             vkCreatePipelineLayout(dev, &pli, NULL, &pl) == VK_SUCCESS;
        cpi.stage.module = sm;
        cpi.layout = pl;
        ok = ok && vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpi,
                                            NULL, &pipe) == VK_SUCCESS &&
             vkCreateDescriptorPool(dev, &dpi, NULL, &dp) == VK_SUCCESS;
        dsai.descriptorPool = dp;
        ok = ok && vkAllocateDescriptorSets(dev, &dsai, &ds) == VK_SUCCESS;
        if (ok) {
            w.dstSet = ds;
            vkUpdateDescriptorSets(dev, 1, &w, 0, NULL);
            vkResetFences(dev, 1, &fence);
            vkResetCommandBuffer(cb, 0);
            vkBeginCommandBuffer(cb, &begin);
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl,
                                    0, 1, &ds, 0, NULL);
            vkCmdDispatch(cb, GROUPS, 1, 1);
            vkEndCommandBuffer(cb);
            ok = vkQueueSubmit(queue, 1, &si, fence) == VK_SUCCESS &&
                 vkWaitForFences(dev, 1, &fence, VK_TRUE,
                                 10ull * 1000 * 1000 * 1000) == VK_SUCCESS;
        }
        check(ok, "compute pipeline built, dispatched and fenced");
        for (i = 0, bad = 0; i < GROUPS * 64; i++) {
            bad += o[i] != pixel(i % 64, i / 64);
        }
        check(ok && !bad, "the compute dispatch drew its 64x64 image "
              "(%u of %u pixels wrong)", bad, GROUPS * 64);
        if (ok && frame) {
            printf("VK-FRAME 64 64\n");
            for (i = 0; i < GROUPS * 64; i++) {
                printf("%08x%c", o[i], i % 64 == 63 ? '\n' : ' ');
            }
            printf("VK-FRAME-END\n");
        }
        if (ok) {
            vkDestroyPipeline(dev, pipe, NULL);
            vkDestroyDescriptorPool(dev, dp, NULL);
            vkDestroyPipelineLayout(dev, pl, NULL);
            vkDestroyDescriptorSetLayout(dev, dl, NULL);
            vkDestroyShaderModule(dev, sm, NULL);
        }
    }

    /* Freed, the memory leaves the region. */
    buffer_free(&src);
    buffer_free(&dst);
    buffer_free(&out);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
    for (i = 0; i < 50 && host_visible_nodes() > nodes_before; i++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    }
    /* Mesa 25's venus also frees the ring memory it made with the device. */
    check(host_visible_nodes() >= 0 &&
          host_visible_nodes() <= nodes_before, "freed, the memory left "
          "the region (%d allocations there, %d before)",
          host_visible_nodes(), nodes_before);
    free(spv);
    return tap_finish();
}
