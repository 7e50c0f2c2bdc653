/* RAM-saving wrappers of the optimised int8 kernels: see tinyforge_kernels_ram.h. */
#include <string.h>

#include "tinyforge_kernels_ram.h"

/* `group` bytes of each of `n` pixels `stride` bytes apart into `dst`, back to back (the
 * constant sizes let the compiler copy a word or a byte at a time). */
static void gather(int8_t *dst, const int8_t *src, int n, int stride, int group)
{
    int i;
    if (group == 4) {
        for (i = 0; i < n; ++i, src += stride, dst += 4) memcpy(dst, src, 4);
    } else if (group == 1) {
        for (i = 0; i < n; ++i, src += stride) dst[i] = *src;
    } else {
        for (i = 0; i < n; ++i, src += stride, dst += group) memcpy(dst, src, (size_t)group);
    }
}

/* The inverse of gather: `n` runs of `group` bytes from `src` to pixels `stride` apart. */
static void scatter(int8_t *dst, const int8_t *src, int n, int stride, int group)
{
    int i;
    if (group == 4) {
        for (i = 0; i < n; ++i, dst += stride, src += 4) memcpy(dst, src, 4);
    } else if (group == 1) {
        for (i = 0; i < n; ++i, dst += stride) *dst = src[i];
    } else {
        for (i = 0; i < n; ++i, dst += stride, src += group) memcpy(dst, src, (size_t)group);
    }
}

void tinyforge_depthwise_conv2d_s8_inplace(const tinyforge_conv_s8_t *params, int8_t *buf,
                                           const int8_t *filter, const int32_t *bias_eff, int group,
                                           int8_t *temp, int8_t *scratch)
{
    tinyforge_conv_s8_t p = *params;
    const int C = params->in_c;
    const int taps = params->f_h * params->f_w;
    const int in_pixels = p.batches * p.in_h * p.in_w, out_pixels = p.batches * p.out_h * p.out_w;
    int8_t *const in_group = temp, *const out_group = temp + (size_t)in_pixels * group;
    int c0;
    p.in_c = p.out_c = group;
    for (c0 = 0; c0 < C; c0 += group) {
        gather(in_group, buf + c0, in_pixels, C, group);
        p.multiplier = params->multiplier + c0;
        p.shift = params->shift + c0;
        /* channel c's taps: group c & ~3 of the grouped layout, lane c & 3, 4 bytes apart */
        tinyforge_depthwise_conv2d_s8_opt(&p, in_group, filter + (c0 & ~3) * taps + (c0 & 3),
                                          bias_eff + c0, out_group, scratch);
        scatter(buf + c0, out_group, out_pixels, C, group);
    }
}

void tinyforge_conv1x1_s8_inplace(const tinyforge_conv_s8_t *params, int8_t *buf, const int8_t *filter,
                                  const int32_t *bias_eff, int block, int8_t *temp, int8_t *scratch)
{
    tinyforge_conv_s8_t p = *params;
    const int pixels = params->batches * params->out_h * params->out_w;
    int pix, n;
    p.batches = p.in_h = p.out_h = 1;
    for (pix = 0; pix < pixels; pix += n) {
        n = pixels - pix < block ? pixels - pix : block;
        p.in_w = p.out_w = n;
        memcpy(temp, buf + (size_t)pix * p.in_c, (size_t)n * p.in_c);
        tinyforge_conv2d_s8_opt(&p, temp, filter, bias_eff, buf + (size_t)pix * p.out_c, scratch);
    }
}

void tinyforge_conv2d_add_s8_tiled(const tinyforge_conv_s8_t *params, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias_eff,
                                   const tinyforge_binary_s8_t *add, int conv_first, int8_t *other,
                                   int tile, int8_t *temp, int8_t *scratch)
{
    tinyforge_conv_s8_t p = *params;
    int oy, ox, n;
    p.out_h = 1;
    for (oy = 0; oy < params->out_h; ++oy) {
        /* the tile's first output row reads input rows from oy * stride - pad: moving the
         * padding keeps every index (and the image borders) where the whole convolution has them */
        p.pad_h = params->pad_h - oy * params->stride_h;
        for (ox = 0; ox < params->out_w; ox += n) {
            int8_t *const sum = other + ((size_t)oy * params->out_w + ox) * params->out_c;
            n = params->out_w - ox < tile ? params->out_w - ox : tile;
            p.out_w = n;
            p.pad_w = params->pad_w - ox * params->stride_w;
            tinyforge_conv2d_s8_opt(&p, input, filter, bias_eff, temp, scratch);
            tinyforge_add_s8_opt(add, n * params->out_c, conv_first ? temp : sum,
                                 conv_first ? sum : temp, sum);
        }
    }
}
