/*
 * A small real GL client for the guest: Mesa's virgl driver, through EGL
 * on the render node, with a persistent coherent buffer
 * (GL_ARB_buffer_storage), which Mesa backs with a mappable HOST3D blob
 * in the host-visible region.  The vertices of what it draws are written
 * through that mapping only; the frame is read back and checked.
 * Prints TAP, then "N passed, N failed".
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */

#include <epoxy/egl.h>
#include <epoxy/gl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostvis.h"
#include "tap.h"

#define W 64
#define H 64

static GLuint shader(GLenum type, const char *src)
{
    GLuint s = glCreateShader(type);
    GLint ok = 0;

    glShaderSource(s, 1, &src, NULL);
    glCompileShader(s);
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    return ok ? s : 0;
}

int main(void)
{
    static const EGLint ctx_attrs[] = {
        EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
        EGL_CONTEXT_OPENGL_PROFILE_MASK,
        EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE
    };
    const GLbitfield flags = GL_MAP_WRITE_BIT | GL_MAP_READ_BIT |
                             GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT;
    const char *vs_src =
        "#version 330 core\n"
        "layout(location = 0) in vec2 pos;\n"
        "void main() { gl_Position = vec4(pos, 0.0, 1.0); }\n";
    const char *fs_src =
        "#version 330 core\n"
        "out vec4 color;\n"
        "void main() { color = vec4(1.0, 0.5, 0.0, 1.0); }\n";
    EGLDisplay dpy;
    EGLContext ctx;
    EGLint major, minor;
    GLuint vao, buf, fbo, tex, prog, vs, fs;
    const char *renderer;
    float *verts;
    uint8_t *pix;
    int nodes_before, nodes, x, y, inside_ok = 0, outside_ok = 0;

    dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
                                   EGL_DEFAULT_DISPLAY, NULL);
    if (!check(dpy != EGL_NO_DISPLAY && eglInitialize(dpy, &major, &minor),
               "EGL on the surfaceless platform")) {
        return tap_finish();
    }
    eglBindAPI(EGL_OPENGL_API);
    ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT,
                           ctx_attrs);
    if (!check(ctx != EGL_NO_CONTEXT &&
               eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx),
               "GL 3.3 core context")) {
        return tap_finish();
    }
    renderer = (const char *)glGetString(GL_RENDERER);
    check(renderer && strstr(renderer, "virgl"),
          "the renderer is Mesa's virgl driver (%s)", renderer);
    if (!check(epoxy_has_gl_extension("GL_ARB_buffer_storage"),
               "GL_ARB_buffer_storage is offered")) {
        return tap_finish();
    }

    /* A persistent, coherent vertex buffer: a blob in the host region. */
    nodes_before = host_visible_nodes();
    glGenVertexArrays(1, &vao);
    glBindVertexArray(vao);
    glGenBuffers(1, &buf);
    glBindBuffer(GL_ARRAY_BUFFER, buf);
    glBufferStorage(GL_ARRAY_BUFFER, 4096, NULL, flags);
    verts = glMapBufferRange(GL_ARRAY_BUFFER, 0, 4096, flags);
    check(verts != NULL && glGetError() == GL_NO_ERROR,
          "glBufferStorage + glMapBufferRange(PERSISTENT | COHERENT)");
    if (!verts) {
        return tap_finish();
    }
    nodes = host_visible_nodes();
    /* Under make soak other programs map and unmap meanwhile. */
    check(getenv("VGPU_SOAK") ? nodes > 0 :
          nodes > nodes_before && nodes_before >= 0,
          "the mapping lives in the host-visible region "
          "(%d allocations there, %d before)", nodes, nodes_before);

    /* The left half of the frame, written through the mapping only. */
    {
        static const float quad[] = {
            -1, -1, 0, -1, -1, 1,  0, -1, 0, 1, -1, 1,
        };
        memcpy(verts, quad, sizeof(quad));
    }
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, 0);
    glEnableVertexAttribArray(0);

    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexStorage2D(GL_TEXTURE_2D, 1, GL_RGBA8, W, H);
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
                           GL_TEXTURE_2D, tex, 0);
    vs = shader(GL_VERTEX_SHADER, vs_src);
    fs = shader(GL_FRAGMENT_SHADER, fs_src);
    prog = glCreateProgram();
    glAttachShader(prog, vs);
    glAttachShader(prog, fs);
    glLinkProgram(prog);
    glUseProgram(prog);
    check(vs && fs && glCheckFramebufferStatus(GL_FRAMEBUFFER) ==
          GL_FRAMEBUFFER_COMPLETE, "shaders and framebuffer ready");

    glViewport(0, 0, W, H);
    glClearColor(0.0, 0.0, 1.0, 1.0);
    glClear(GL_COLOR_BUFFER_BIT);
    glDrawArrays(GL_TRIANGLES, 0, 6);
    pix = malloc(W * H * 4);
    glReadPixels(0, 0, W, H, GL_RGBA, GL_UNSIGNED_BYTE, pix);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            uint8_t *p = pix + (y * W + x) * 4;

            if (x < W / 2) {
                inside_ok += p[0] == 255 && abs(p[1] - 128) <= 1 &&
                             p[2] == 0;
            } else {
                outside_ok += p[0] == 0 && p[1] == 0 && p[2] == 255;
            }
        }
    }
    check(inside_ok == W * H / 2 && outside_ok == W * H / 2,
          "the frame drawn from the mapped vertices is right "
          "(%d/%d orange, %d/%d blue)", inside_ok, W * H / 2, outside_ok,
          W * H / 2);

    /* Move the quad to the right half, through the mapping again. */
    for (x = 0; x < 12; x += 2) {
        verts[x] += 1.0f;
    }
    glClear(GL_COLOR_BUFFER_BIT);
    glDrawArrays(GL_TRIANGLES, 0, 6);
    glReadPixels(0, 0, W, H, GL_RGBA, GL_UNSIGNED_BYTE, pix);
    check(pix[(H / 2 * W + W - 4) * 4] == 255 &&
          pix[(H / 2 * W + 4) * 4 + 2] == 255,
          "a coherent write without a flush moves what is drawn");

    glUnmapBuffer(GL_ARRAY_BUFFER);
    glDeleteBuffers(1, &buf);
    free(pix);
    eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(dpy, ctx);
    eglTerminate(dpy);
    return tap_finish();
}
