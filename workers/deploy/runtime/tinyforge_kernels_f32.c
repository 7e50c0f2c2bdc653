/* float32 kernels following TensorFlow Lite Micro's reference kernels operation by operation.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library. */
#include <math.h>

#include "tinyforge_kernels.h"

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

void tinyforge_conv2d_f32(const tinyforge_conv_f32_t *p, const float *input, const float *filter,
                          const float *bias, float *output)
{
    int b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < p->batches; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox)
                for (oc = 0; oc < p->out_c; ++oc) {
                    const int in_y0 = oy * p->stride_h - p->pad_h;
                    const int in_x0 = ox * p->stride_w - p->pad_w;
                    float total = 0.0f;
                    for (fy = 0; fy < p->f_h; ++fy) {
                        const int in_y = in_y0 + p->dil_h * fy;
                        if (in_y < 0 || in_y >= p->in_h) continue;
                        for (fx = 0; fx < p->f_w; ++fx) {
                            const int in_x = in_x0 + p->dil_w * fx;
                            const float *in_px, *f_px;
                            if (in_x < 0 || in_x >= p->in_w) continue;
                            in_px = input + (((b * p->in_h) + in_y) * p->in_w + in_x) * p->in_c;
                            f_px = filter + ((oc * p->f_h + fy) * p->f_w + fx) * p->in_c;
                            for (ic = 0; ic < p->in_c; ++ic) total += in_px[ic] * f_px[ic];
                        }
                    }
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        clampf(total + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
                }
}

void tinyforge_depthwise_conv2d_f32(const tinyforge_conv_f32_t *p, const float *input,
                                    const float *filter, const float *bias, float *output)
{
    int b, oy, ox, ic, m, fy, fx;
    for (b = 0; b < p->batches; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox)
                for (ic = 0; ic < p->in_c; ++ic)
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int oc = m + ic * p->depth_multiplier;
                        const int in_y0 = oy * p->stride_h - p->pad_h;
                        const int in_x0 = ox * p->stride_w - p->pad_w;
                        float total = 0.0f;
                        for (fy = 0; fy < p->f_h; ++fy) {
                            const int in_y = in_y0 + p->dil_h * fy;
                            if (in_y < 0 || in_y >= p->in_h) continue;
                            for (fx = 0; fx < p->f_w; ++fx) {
                                const int in_x = in_x0 + p->dil_w * fx;
                                if (in_x < 0 || in_x >= p->in_w) continue;
                                total += input[(((b * p->in_h) + in_y) * p->in_w + in_x) * p->in_c + ic] *
                                         filter[(fy * p->f_w + fx) * p->out_c + oc];
                            }
                        }
                        output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                            clampf(total + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
                    }
}

void tinyforge_fully_connected_f32(const tinyforge_fc_f32_t *p, const float *input,
                                   const float *filter, const float *bias, float *output)
{
    int b, oc, d;
    for (b = 0; b < p->batches; ++b)
        for (oc = 0; oc < p->out_depth; ++oc) {
            float total = 0.0f;
            for (d = 0; d < p->accum_depth; ++d)
                total += input[b * p->accum_depth + d] * filter[oc * p->accum_depth + d];
            output[b * p->out_depth + oc] = clampf(total + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
        }
}

static void pool_f32(const tinyforge_pool_f32_t *p, const float *input, float *output, int is_max)
{
    int b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox)
                for (c = 0; c < p->channels; ++c) {
                    const int in_y0 = oy * p->stride_h - p->pad_h;
                    const int in_x0 = ox * p->stride_w - p->pad_w;
                    const int fy_start = in_y0 < 0 ? -in_y0 : 0;
                    const int fy_end = (p->f_h < p->in_h - in_y0) ? p->f_h : p->in_h - in_y0;
                    const int fx_start = in_x0 < 0 ? -in_x0 : 0;
                    const int fx_end = (p->f_w < p->in_w - in_x0) ? p->f_w : p->in_w - in_x0;
                    float acc = is_max ? -3.402823466e+38f : 0.0f;
                    int count = 0;
                    for (fy = fy_start; fy < fy_end; ++fy)
                        for (fx = fx_start; fx < fx_end; ++fx) {
                            const float v = input[(((b * p->in_h) + in_y0 + fy) * p->in_w + in_x0 + fx) * p->channels + c];
                            if (is_max) { if (v > acc) acc = v; } else { acc += v; }
                            ++count;
                        }
                    if (!is_max) acc = acc / (float)count;
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->channels + c] = clampf(acc, p->act_min, p->act_max);
                }
}

void tinyforge_avg_pool_f32(const tinyforge_pool_f32_t *p, const float *input, float *output)
{
    pool_f32(p, input, output, 0);
}

void tinyforge_max_pool_f32(const tinyforge_pool_f32_t *p, const float *input, float *output)
{
    pool_f32(p, input, output, 1);
}

static void binary_f32(const tinyforge_binary_f32_t *p, const float *in1, const float *in2, float *output, int is_mul)
{
    int i0, i1, i2, i3, o = 0;
    for (i0 = 0; i0 < p->out_dims[0]; ++i0)
        for (i1 = 0; i1 < p->out_dims[1]; ++i1)
            for (i2 = 0; i2 < p->out_dims[2]; ++i2)
                for (i3 = 0; i3 < p->out_dims[3]; ++i3) {
                    const float a = in1[i0 * p->in1_strides[0] + i1 * p->in1_strides[1] +
                                        i2 * p->in1_strides[2] + i3 * p->in1_strides[3]];
                    const float c = in2[i0 * p->in2_strides[0] + i1 * p->in2_strides[1] +
                                        i2 * p->in2_strides[2] + i3 * p->in2_strides[3]];
                    output[o++] = clampf(is_mul ? a * c : a + c, p->act_min, p->act_max);
                }
}

void tinyforge_add_f32(const tinyforge_binary_f32_t *p, const float *in1, const float *in2, float *output)
{
    binary_f32(p, in1, in2, output, 0);
}

void tinyforge_mul_f32(const tinyforge_binary_f32_t *p, const float *in1, const float *in2, float *output)
{
    binary_f32(p, in1, in2, output, 1);
}

void tinyforge_softmax_f32(int outer, int depth, float beta, const float *input, float *output)
{
    int i, c;
    for (i = 0; i < outer; ++i) {
        const float *in = input + i * depth;
        float *out = output + i * depth;
        float max = in[0], sum = 0.0f;
        for (c = 1; c < depth; ++c) if (in[c] > max) max = in[c];
        for (c = 0; c < depth; ++c) {
            const float e = expf((in[c] - max) * beta);
            out[c] = e;
            sum += e;
        }
        for (c = 0; c < depth; ++c) out[c] = out[c] / sum;
    }
}

void tinyforge_logistic_f32(int size, const float *input, float *output)
{
    int i;
    for (i = 0; i < size; ++i) {
        const float v = input[i];
        if (v > 16.619047164916992188f) output[i] = 1.0f;
        else if (v < -9.0f) output[i] = expf(v);
        else output[i] = 1.0f / (1.0f + expf(-v));
    }
}

void tinyforge_tanh_f32(int size, const float *input, float *output)
{
    int i;
    for (i = 0; i < size; ++i) output[i] = tanhf(input[i]);
}

void tinyforge_clamp_f32(int size, float lo, float hi, const float *input, float *output)
{
    int i;
    for (i = 0; i < size; ++i) output[i] = clampf(input[i], lo, hi);
}

void tinyforge_mean_hw_f32(int batches, int in_h, int in_w, int channels, const float *input, float *output)
{
    int b, c, y, x;
    for (b = 0; b < batches; ++b)
        for (c = 0; c < channels; ++c) {
            float sum = 0.0f;
            for (y = 0; y < in_h; ++y)
                for (x = 0; x < in_w; ++x) sum += input[((b * in_h + y) * in_w + x) * channels + c];
            output[b * channels + c] = sum / (float)(in_h * in_w);
        }
}
