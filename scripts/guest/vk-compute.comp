// The guest's compute check (scripts/guest/vk-client.c): a 64x64 image,
// one invocation a pixel, 0xAARRGGBB = opaque, red x, green y, blue x^y.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Out { uint v[]; } out_buf;
void main()
{
    uint i = gl_GlobalInvocationID.x;
    uint x = i % 64u, y = i / 64u;
    out_buf.v[i] = 0xff000000u | ((x * 4u) << 16) | ((y * 4u) << 8) |
                   (((x ^ y) * 4u) & 0xffu);
}
