/* RAM-saving wrappers of the optimised int8 kernels (`--optimize ram`): an operator written over
 * its own input, or a convolution and the ADD after it run tile by tile so the convolution's
 * output never exists whole. Every value is computed by the optimised kernels themselves, so
 * the results are bit-exact with them (and with the reference kernels). */
#ifndef TINYFORGE_KERNELS_RAM_H
#define TINYFORGE_KERNELS_RAM_H

#include <stdint.h>

#include "tinyforge_kernels.h"

/* DEPTHWISE_CONV_2D (depth multiplier 1) written over its input `buf`, `group` channels at a
 * time (TinyEngine): the group is gathered into `temp`, convolved into `temp` + group * input
 * pixels and scattered back. Output pixel i channel c only replaces input pixel i channel c,
 * already gathered. `temp` holds group * (input pixels + output pixels) bytes; `group` is 1 or
 * 4 (then in_c is a multiple of 4); `filter` is the optimised kernel's grouped layout. */
void tinyforge_depthwise_conv2d_s8_inplace(const tinyforge_conv_s8_t *p, int8_t *buf,
                                           const int8_t *filter, const int32_t *bias_eff, int group,
                                           int8_t *temp, int8_t *scratch);

/* 1x1 stride-1 CONV_2D with out_c <= in_c written over its input `buf`, `block` pixels at a
 * time: the block's input is copied into `temp` (block * in_c bytes) before its outputs are
 * written, which only replace input pixels of this block or earlier ones. */
void tinyforge_conv1x1_s8_inplace(const tinyforge_conv_s8_t *p, int8_t *buf, const int8_t *filter,
                                  const int32_t *bias_eff, int block, int8_t *temp, int8_t *scratch);

/* CONV_2D (one batch) followed by an element-wise ADD of its output and `other`, run on tiles of
 * up to `tile` output pixels of one row: each tile is convolved into `temp` (tile * out_c bytes)
 * and added to the same pixels of `other`, the sum written over them. `conv_first` says whether
 * the convolution's output is the ADD's first input. */
void tinyforge_conv2d_add_s8_tiled(const tinyforge_conv_s8_t *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias_eff,
                                   const tinyforge_binary_s8_t *add, int conv_first, int8_t *other,
                                   int tile, int8_t *temp, int8_t *scratch);

#endif
