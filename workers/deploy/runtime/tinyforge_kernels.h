/* Tinyforge runtime kernels: int8 with TensorFlow Lite Micro's reference arithmetic, and float32.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library.
 * Shapes are NHWC. Parameter blocks are filled at build time by the compiler. */
#ifndef TINYFORGE_KERNELS_H
#define TINYFORGE_KERNELS_H

#include <stdint.h>

/* Alignment of the re-laid-out weight arrays and the scratch (vector loads). */
#if defined(__GNUC__) || defined(__clang__)
#define TINYFORGE_ALIGNED16 __attribute__((aligned(16)))
#else
#define TINYFORGE_ALIGNED16
#endif

/* The optimised convolution's filter layout (lower.interleave_filter): channel quads for the
 * kernel of the cores with the DSP extension and no Helium (Cortex-M4, M7, M33; host builds
 * with -DTINYFORGE_EMULATE_DSP), channel pairs everywhere else. The generated model holds both
 * layouts of each filter under this test, so a build keeps only the one its kernel reads. */
#if ((defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)) || defined(TINYFORGE_EMULATE_DSP)) && \
    !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(TINYFORGE_NO_MVE))
#define TINYFORGE_CONV_QUADS 1
#else
#define TINYFORGE_CONV_QUADS 0
#endif

/* CONV_2D and DEPTHWISE_CONV_2D. */
typedef struct {
    int batches, in_h, in_w, in_c, out_h, out_w, out_c, f_h, f_w;
    int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int depth_multiplier; /* depthwise only */
    int col_stride; /* optimised conv: filter row length, f_h * f_w * in_c rounded up to 4 */
    int32_t input_offset, output_offset, act_min, act_max;
    const int32_t *multiplier; /* per output channel */
    const int32_t *shift;      /* per output channel */
} tinyforge_conv_s8_t;

typedef struct {
    int batches, in_h, in_w, in_c, out_h, out_w, out_c, f_h, f_w;
    int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int depth_multiplier;
    float act_min, act_max;
} tinyforge_conv_f32_t;

/* FULLY_CONNECTED. */
typedef struct {
    int batches, accum_depth, out_depth, per_channel;
    int32_t input_offset, filter_offset, output_offset, act_min, act_max;
    const int32_t *multiplier; /* out_depth entries when per_channel, else one */
    const int32_t *shift;
} tinyforge_fc_s8_t;

typedef struct {
    int batches, accum_depth, out_depth;
    float act_min, act_max;
} tinyforge_fc_f32_t;

/* AVERAGE_POOL_2D, MAX_POOL_2D. */
typedef struct {
    int batches, in_h, in_w, channels, out_h, out_w, f_h, f_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} tinyforge_pool_s8_t;

typedef struct {
    int batches, in_h, in_w, channels, out_h, out_w, f_h, f_w, stride_h, stride_w, pad_h, pad_w;
    float act_min, act_max;
} tinyforge_pool_f32_t;

/* Element-wise binary ops with up to 4-D broadcasting: strides are 0 on broadcast dims. */
typedef struct {
    int out_dims[4];
    int in1_strides[4];
    int in2_strides[4];
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} tinyforge_binary_s8_t;

typedef struct {
    int out_dims[4];
    int in1_strides[4];
    int in2_strides[4];
    float act_min, act_max;
} tinyforge_binary_f32_t;

/* PAD on up to 4 dims; `elem_bytes` = 1 or 4. */
typedef struct {
    int in_dims[4];
    int before[4];
    int after[4];
    int elem_bytes;
} tinyforge_pad_t;

/* SOFTMAX int8: TFLM CalculateSoftmaxParams. */
typedef struct {
    int outer, depth;
    int32_t input_multiplier, input_left_shift, diff_min;
} tinyforge_softmax_s8_t;

/* LOGISTIC / TANH int8: TFLM CalculateArithmeticOpData. */
typedef struct {
    int size;
    int32_t input_zero_point, input_range_radius, input_multiplier, input_left_shift;
} tinyforge_sigmoid_s8_t;

/* Requantize, RELU-style rescale: out = clamp(out_zp + MBQM(in - in_zp, m, s)). */
typedef struct {
    int size;
    int32_t input_zero_point, output_zero_point, multiplier, shift, act_min, act_max;
} tinyforge_requant_s8_t;

/* MEAN over H and W of a 4-D int8 tensor, as TFLM's reference QuantizedMeanOrSum does it:
 * out = MBQM(sum - in_zero_point * count, multiplier, shift) + out_zero_point, where the
 * multiplier already folds in 1/count (computed at build time). */
typedef struct {
    int batches, in_h, in_w, channels;
    int32_t input_zero_point, output_zero_point, multiplier, shift;
} tinyforge_mean_s8_t;

void tinyforge_conv2d_s8(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output);
void tinyforge_depthwise_conv2d_s8(const tinyforge_conv_s8_t *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias, int8_t *output);
void tinyforge_fully_connected_s8(const tinyforge_fc_s8_t *p, const int8_t *input,
                                  const int8_t *filter, const int32_t *bias, int8_t *output);
void tinyforge_avg_pool_s8(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_max_pool_s8(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_add_s8(const tinyforge_binary_s8_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);
void tinyforge_mul_s8(const tinyforge_binary_s8_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);
void tinyforge_softmax_s8(const tinyforge_softmax_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_logistic_s8(const tinyforge_sigmoid_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_tanh_s8(const tinyforge_sigmoid_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_requantize_s8(const tinyforge_requant_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_clamp_s8(int size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output);
void tinyforge_mean_hw_s8(const tinyforge_mean_s8_t *p, const int8_t *input, int8_t *output);
void tinyforge_quantize_f32_s8(int size, float scale, int32_t zero_point, const float *input, int8_t *output);
void tinyforge_dequantize_s8_f32(int size, double scale, int32_t zero_point, const int8_t *input, float *output);

/* Optimised variants (tinyforge_kernels_s8_opt.c), bit-exact with the ones above. `bias_eff`
 * is bias + input_offset * sum(filter) per output channel, computed by the compiler;
 * `scratch` of the convolution holds two im2col columns and their interleaving
 * (4 * col_stride bytes); its filter rows are col_stride long, zero padded, and stored in
 * interleaved channel pairs (4 bytes of row 2i, 4 of row 2i+1, ...), an odd last row plain. */
void tinyforge_conv2d_s8_opt(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                             const int32_t *bias_eff, int8_t *output, int8_t *scratch);
/* Depthwise: depth multiplier 1 and at most 64 filter taps; `scratch` holds in_c bytes. */
void tinyforge_depthwise_conv2d_s8_opt(const tinyforge_conv_s8_t *p, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias_eff, int8_t *output,
                                       int8_t *scratch);
/* Fully connected: accum_depth a multiple of 4; filter rows interleaved in groups of four,
 * 4 bytes at a time, the last out_depth % 4 rows plain. */
void tinyforge_fully_connected_s8_opt(const tinyforge_fc_s8_t *p, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias_eff, int8_t *output);
/* ADD without broadcasting (both inputs and the output have `size` elements). */
void tinyforge_add_s8_opt(const tinyforge_binary_s8_t *p, int size, const int8_t *in1,
                          const int8_t *in2, int8_t *output);
void tinyforge_avg_pool_s8_opt(const tinyforge_pool_s8_t *p, const int8_t *input, int8_t *output);

/* SIMD paths of the optimised convolution, depthwise, fully connected and ADD kernels for Linux targets
 * (tinyforge_kernels_s8_simd.c): x86-64 SSE4.1, AVX2 and AVX-512 VNNI, the best the CPU has chosen
 * at run time (the library builds with plain flags and runs on any x86-64), and aarch64 NEON.
 * -DTINYFORGE_SIMD=0 compiles them out, =1 caps x86-64 at SSE4.1, =2 at AVX2, =3 at VNNI. They return 1
 * when they computed the layer, 0 when the generic loops must (no SIMD on this CPU, a shape
 * past their static buffers). Same layouts, same scratch, bit-exact. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(TINYFORGE_EMULATE_DSP) && \
    (!defined(TINYFORGE_SIMD) || TINYFORGE_SIMD > 0)
#if defined(__x86_64__)
#define TINYFORGE_SIMD_X86 1
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define TINYFORGE_SIMD_NEON 1
#endif
#endif
#if defined(TINYFORGE_SIMD_X86) || defined(TINYFORGE_SIMD_NEON)
#define TINYFORGE_SIMD_PATHS 1
int tinyforge_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input, const int8_t *filter,
                             const int32_t *bias_eff, int8_t *output, int8_t *scratch);
int tinyforge_depthwise_conv2d_s8_simd(const tinyforge_conv_s8_t *p, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias_eff, int8_t *output,
                                       int8_t *scratch);
int tinyforge_fully_connected_s8_simd(const tinyforge_fc_s8_t *p, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias_eff, int8_t *output);
int tinyforge_add_s8_simd(const tinyforge_binary_s8_t *p, int size, const int8_t *in1, const int8_t *in2,
                          int8_t *output);
/* The im2col column of output pixel `pix` (the optimised convolution's): a pointer into the
 * input for 1x1 without padding, else gathered into `dst` (col_stride bytes). */
const int8_t *tinyforge_conv_column_s8(const tinyforge_conv_s8_t *p, const int8_t *input, int pix,
                                       int8_t *dst);
/* The SIMD level in use: 0 none, x86-64 1 SSE4.1 / 2 AVX2 / 3 AVX-512 VNNI, aarch64 1 NEON. */
int tinyforge_simd_level(void);
#endif

void tinyforge_pad(const tinyforge_pad_t *p, const void *input, const void *pad_value, void *output);
/* Copy `n_inputs` blocks of inner sizes `inner_bytes[i]` for each of `outer` rows. */
void tinyforge_concat(int outer, int n_inputs, const void *const *inputs, const int *inner_bytes, void *output);
void tinyforge_copy(const void *input, void *output, int bytes);

void tinyforge_conv2d_f32(const tinyforge_conv_f32_t *p, const float *input, const float *filter,
                          const float *bias, float *output);
void tinyforge_depthwise_conv2d_f32(const tinyforge_conv_f32_t *p, const float *input,
                                    const float *filter, const float *bias, float *output);
void tinyforge_fully_connected_f32(const tinyforge_fc_f32_t *p, const float *input,
                                   const float *filter, const float *bias, float *output);
void tinyforge_avg_pool_f32(const tinyforge_pool_f32_t *p, const float *input, float *output);
void tinyforge_max_pool_f32(const tinyforge_pool_f32_t *p, const float *input, float *output);
void tinyforge_add_f32(const tinyforge_binary_f32_t *p, const float *in1, const float *in2, float *output);
void tinyforge_mul_f32(const tinyforge_binary_f32_t *p, const float *in1, const float *in2, float *output);
void tinyforge_softmax_f32(int outer, int depth, float beta, const float *input, float *output);
void tinyforge_logistic_f32(int size, const float *input, float *output);
void tinyforge_tanh_f32(int size, const float *input, float *output);
void tinyforge_clamp_f32(int size, float lo, float hi, const float *input, float *output);
void tinyforge_mean_hw_f32(int batches, int in_h, int in_w, int channels, const float *input, float *output);

#endif /* TINYFORGE_KERNELS_H */
