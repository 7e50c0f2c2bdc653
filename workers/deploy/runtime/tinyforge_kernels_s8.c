/* int8 kernels with exactly TensorFlow Lite Micro's reference arithmetic.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library. */
#include "tinyforge_kernels.h"
#include "tinyforge_fixedpoint.h"

void tinyforge_conv2d_s8(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output)
{
    int b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int in_x0 = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = 0;
                    for (fy = 0; fy < p->f_h; ++fy) {
                        const int in_y = in_y0 + p->dil_h * fy;
                        if (in_y < 0 || in_y >= p->in_h) continue;
                        for (fx = 0; fx < p->f_w; ++fx) {
                            const int in_x = in_x0 + p->dil_w * fx;
                            const int8_t *in_px, *f_px;
                            if (in_x < 0 || in_x >= p->in_w) continue;
                            in_px = input + (((b * p->in_h) + in_y) * p->in_w + in_x) * p->in_c;
                            f_px = filter + ((oc * p->f_h + fy) * p->f_w + fx) * p->in_c;
                            for (ic = 0; ic < p->in_c; ++ic) {
                                acc += (int32_t)f_px[ic] * ((int32_t)in_px[ic] + p->input_offset);
                            }
                        }
                    }
                    if (bias) acc += bias[oc];
                    acc = tinyforge_mbqm(acc, p->multiplier[oc], p->shift[oc]);
                    acc += p->output_offset;
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        (int8_t)tinyforge_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tinyforge_depthwise_conv2d_s8(const tinyforge_conv_s8_t *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int b, oy, ox, ic, m, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int in_y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int in_x0 = ox * p->stride_w - p->pad_w;
                for (ic = 0; ic < p->in_c; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int oc = m + ic * p->depth_multiplier;
                        int32_t acc = 0;
                        for (fy = 0; fy < p->f_h; ++fy) {
                            const int in_y = in_y0 + p->dil_h * fy;
                            if (in_y < 0 || in_y >= p->in_h) continue;
                            for (fx = 0; fx < p->f_w; ++fx) {
                                const int in_x = in_x0 + p->dil_w * fx;
                                int32_t in_val;
                                if (in_x < 0 || in_x >= p->in_w) continue;
                                in_val = input[(((b * p->in_h) + in_y) * p->in_w + in_x) * p->in_c + ic];
                                acc += (int32_t)filter[(fy * p->f_w + fx) * p->out_c + oc] *
                                       (in_val + p->input_offset);
                            }
                        }
                        if (bias) acc += bias[oc];
                        acc = tinyforge_mbqm(acc, p->multiplier[oc], p->shift[oc]);
                        acc += p->output_offset;
                        output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                            (int8_t)tinyforge_clamp_i32(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void tinyforge_fully_connected_s8(const tinyforge_fc_s8_t *p, const int8_t *input,
                                  const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int b, oc, d;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_row = input + b * p->accum_depth;
        for (oc = 0; oc < p->out_depth; ++oc) {
            const int8_t *f_row = filter + oc * p->accum_depth;
            const int q = p->per_channel ? oc : 0;
            int32_t acc = 0;
            for (d = 0; d < p->accum_depth; ++d) {
                acc += ((int32_t)f_row[d] + p->filter_offset) * ((int32_t)in_row[d] + p->input_offset);
            }
            if (bias) acc += bias[oc];
            acc = tinyforge_mbqm(acc, p->multiplier[q], p->shift[q]);
            acc += p->output_offset;
            output[b * p->out_depth + oc] = (int8_t)tinyforge_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}

static void pool_s8(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output, int is_max)
{
    int b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int in_y0 = oy * p->stride_h - p->pad_h;
            const int fy_start = in_y0 < 0 ? -in_y0 : 0;
            const int fy_end = (p->f_h < p->in_h - in_y0) ? p->f_h : p->in_h - in_y0;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int in_x0 = ox * p->stride_w - p->pad_w;
                const int fx_start = in_x0 < 0 ? -in_x0 : 0;
                const int fx_end = (p->f_w < p->in_w - in_x0) ? p->f_w : p->in_w - in_x0;
                for (c = 0; c < p->channels; ++c) {
                    int32_t acc = is_max ? -128 : 0;
                    int count = 0;
                    for (fy = fy_start; fy < fy_end; ++fy) {
                        for (fx = fx_start; fx < fx_end; ++fx) {
                            const int32_t v = input[(((b * p->in_h) + in_y0 + fy) * p->in_w + in_x0 + fx) * p->channels + c];
                            if (is_max) {
                                if (v > acc) acc = v;
                            } else {
                                acc += v;
                            }
                            ++count;
                        }
                    }
                    if (!is_max && count > 0) {
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
                        (int8_t)tinyforge_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tinyforge_avg_pool_s8(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, 0);
}

void tinyforge_max_pool_s8(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, 1);
}

static int32_t add_one_s8(const tinyforge_binary_s8_t *p, int32_t x, int32_t y)
{
    const int32_t in1 = (int32_t)((uint32_t)(p->input1_offset + x) << p->left_shift);
    const int32_t in2 = (int32_t)((uint32_t)(p->input2_offset + y) << p->left_shift);
    const int32_t s1 = tinyforge_mbqm(in1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = tinyforge_mbqm(in2, p->input2_multiplier, p->input2_shift);
    const int32_t raw = tinyforge_mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
    return tinyforge_clamp_i32(raw, p->act_min, p->act_max);
}

static int32_t mul_one_s8(const tinyforge_binary_s8_t *p, int32_t x, int32_t y)
{
    const int32_t prod = (p->input1_offset + x) * (p->input2_offset + y);
    const int32_t raw = p->output_offset + tinyforge_mbqm(prod, p->output_multiplier, p->output_shift);
    return tinyforge_clamp_i32(raw, p->act_min, p->act_max);
}

static void binary_s8(const tinyforge_binary_s8_t *p, const int8_t *in1, const int8_t *in2,
                      int8_t *output, int32_t (*fn)(const tinyforge_binary_s8_t *, int32_t, int32_t))
{
    int i0, i1, i2, i3, o = 0;
    for (i0 = 0; i0 < p->out_dims[0]; ++i0)
        for (i1 = 0; i1 < p->out_dims[1]; ++i1)
            for (i2 = 0; i2 < p->out_dims[2]; ++i2)
                for (i3 = 0; i3 < p->out_dims[3]; ++i3) {
                    const int a = i0 * p->in1_strides[0] + i1 * p->in1_strides[1] +
                                  i2 * p->in1_strides[2] + i3 * p->in1_strides[3];
                    const int c = i0 * p->in2_strides[0] + i1 * p->in2_strides[1] +
                                  i2 * p->in2_strides[2] + i3 * p->in2_strides[3];
                    output[o++] = (int8_t)fn(p, in1[a], in2[c]);
                }
}

void tinyforge_add_s8(const tinyforge_binary_s8_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    binary_s8(p, in1, in2, output, add_one_s8);
}

void tinyforge_mul_s8(const tinyforge_binary_s8_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    binary_s8(p, in1, in2, output, mul_one_s8);
}

void tinyforge_softmax_s8(const tinyforge_softmax_s8_t *p, const int8_t *input, int8_t *output)
{
    enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };
    int i, c;
    for (i = 0; i < p->outer; ++i) {
        const int8_t *in = input + i * p->depth;
        int8_t *out = output + i * p->depth;
        int32_t max_in_row = -128, sum_of_exps = 0, shifted_scale, shifted_sum_minus_one;
        int headroom_plus_one, num_bits_over_unit;
        for (c = 0; c < p->depth; ++c) {
            if (in[c] > max_in_row) max_in_row = in[c];
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = tinyforge_srdhm(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps = tinyforge_fp_add(sum_of_exps,
                    tinyforge_srmbpot(tinyforge_exp_on_negative_values(rescaled, kScaledDiffIntegerBits),
                                      -kAccumulationIntegerBits));
            }
        }
        headroom_plus_one = tinyforge_clz32((uint32_t)sum_of_exps);
        num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
        shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        shifted_scale = tinyforge_one_over_one_plus_x(shifted_sum_minus_one);
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = tinyforge_srdhm(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t exp_in_0 = tinyforge_exp_on_negative_values(rescaled, kScaledDiffIntegerBits);
                const int32_t unsat = tinyforge_rdbypot(tinyforge_srdhm(shifted_scale, exp_in_0),
                                                        num_bits_over_unit + 31 - 8);
                out[c] = (int8_t)tinyforge_clamp_i32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}

void tinyforge_logistic_s8(const tinyforge_sigmoid_s8_t *p, const int8_t *input, int8_t *output)
{
    int i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t in_q4 = tinyforge_mbqm(x, p->input_multiplier, p->input_left_shift);
            const int32_t out_q0 = tinyforge_logistic_q(in_q4, 4);
            const int32_t out_q23 = tinyforge_rdbypot(out_q0, 31 - 8);
            output[i] = (int8_t)tinyforge_clamp_i32(out_q23 - 128, -128, 127);
        }
    }
}

void tinyforge_tanh_s8(const tinyforge_sigmoid_s8_t *p, const int8_t *input, int8_t *output)
{
    int i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t in_q4 = tinyforge_mbqm(x, p->input_multiplier, p->input_left_shift);
            const int32_t out_q0 = tinyforge_tanh_q(in_q4, 4);
            const int32_t out_q24 = tinyforge_rdbypot(out_q0, 31 - 7);
            output[i] = (int8_t)tinyforge_clamp_i32(out_q24, -128, 127);
        }
    }
}

void tinyforge_requantize_s8(const tinyforge_requant_s8_t *p, const int8_t *input, int8_t *output)
{
    int i;
    for (i = 0; i < p->size; ++i) {
        const int32_t v = p->output_zero_point +
            tinyforge_mbqm((int32_t)input[i] - p->input_zero_point, p->multiplier, p->shift);
        output[i] = (int8_t)tinyforge_clamp_i32(v, p->act_min, p->act_max);
    }
}

void tinyforge_clamp_s8(int size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output)
{
    int i;
    for (i = 0; i < size; ++i) output[i] = (int8_t)tinyforge_clamp_i32(input[i], lo, hi);
}

static float round_away(float x)
{
    /* TfLiteRound: round half away from zero, without libm. A float of magnitude >= 2^23 has
     * no fraction bits, so it is its own rounding; below that, truncating through int32 is
     * exact. (Truncating through int64 costs a 64-bit software conversion, __aeabi_f2lz, on
     * cores without a double-precision FPU; the results are identical.) */
    float t;
    if (!(x > -8388608.0f && x < 8388608.0f)) return x;
    t = (float)(int32_t)x;
    if (x >= 0.0f) return (x - t >= 0.5f) ? t + 1.0f : t;
    return (t - x >= 0.5f) ? t - 1.0f : t;
}

void tinyforge_mean_hw_s8(const tinyforge_mean_s8_t *p, const int8_t *input, int8_t *output)
{
    const int n = p->in_h * p->in_w;
    int b, c, y, x;
    for (b = 0; b < p->batches; ++b) {
        for (c = 0; c < p->channels; ++c) {
            int32_t sum = 0, v;
            for (y = 0; y < p->in_h; ++y)
                for (x = 0; x < p->in_w; ++x)
                    sum += input[((b * p->in_h + y) * p->in_w + x) * p->channels + c];
            v = tinyforge_mbqm(sum - p->input_zero_point * n, p->multiplier, p->shift) + p->output_zero_point;
            output[b * p->channels + c] = (int8_t)tinyforge_clamp_i32(v, -128, 127);
        }
    }
}

void tinyforge_quantize_f32_s8(int size, float scale, int32_t zero_point, const float *input, int8_t *output)
{
    int i;
    for (i = 0; i < size; ++i) {
        const float r = round_away(input[i] / scale);
        int32_t v;
        if (r > 2147483520.0f) v = INT32_MAX - 255;
        else if (r < -2147483520.0f) v = INT32_MIN + 255;
        else v = (int32_t)r;
        v += zero_point;
        output[i] = (int8_t)tinyforge_clamp_i32(v, -128, 127);
    }
}

void tinyforge_dequantize_s8_f32(int size, double scale, int32_t zero_point, const int8_t *input, float *output)
{
    int i;
    for (i = 0; i < size; ++i) output[i] = (float)(scale * (double)((int32_t)input[i] - zero_point));
}
