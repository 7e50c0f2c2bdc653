"""Build-time quantization arithmetic, exactly as TensorFlow Lite Micro's Prepare() functions do
it."""

from __future__ import annotations

import math

import numpy as np

from workers.deploy.ir import CompileError


def round_half_away(x: float) -> float:
    """TfLiteRound / std::round: halves round away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real_multiplier == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real_multiplier)
    q_fixed = int(round_half_away(fraction * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if q_fixed > 2**31 - 1:
        raise CompileError(f"multiplier {real_multiplier!r} does not fit in int32")
    return q_fixed, shift


def quantize_value(value: float, *, scale: float, zero_point: int) -> int:
    """TFLite Quantize() used for activation ranges: zp + round(f / scale) in float32."""
    tmp = round_half_away(float(np.float32(value) / np.float32(scale)))
    return int(zero_point + tmp)


def activation_range_s8(activation: str, *, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int8 output tensor."""
    qmin, qmax = -128, 127
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize_value(0.0, scale=scale, zero_point=zero_point)), qmax
    if activation == "RELU6":
        return (
            max(qmin, quantize_value(0.0, scale=scale, zero_point=zero_point)),
            min(qmax, quantize_value(6.0, scale=scale, zero_point=zero_point)),
        )
    if activation == "RELU_N1_TO_1":
        return (
            max(qmin, quantize_value(-1.0, scale=scale, zero_point=zero_point)),
            min(qmax, quantize_value(1.0, scale=scale, zero_point=zero_point)),
        )
    raise CompileError(f"fused activation {activation} is not supported")


FLOAT_MAX = float(np.finfo(np.float32).max)


def activation_range_f32(activation: str) -> tuple[float, float]:
    ranges = {
        "NONE": (-FLOAT_MAX, FLOAT_MAX),
        "RELU": (0.0, FLOAT_MAX),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }
    if activation not in ranges:
        raise CompileError(f"fused activation {activation} is not supported")
    return ranges[activation]


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite CalculateInputRadius."""
    max_rescaled = (
        1.0
        * ((1 << integer_bits) - 1)
        * (1 << (total_signed_bits - integer_bits))
        / (1 << left_shift)
    )
    return int(math.floor(max_rescaled))


def softmax_params_s8(*, beta: float, input_scale: float) -> tuple[int, int, int]:
    """TFLM CalculateSoftmaxParams for int8 in / int8 out: (multiplier, left_shift, diff_min)."""
    scaled_diff_integer_bits = 5
    real = min(
        float(beta) * float(input_scale) * (1 << (31 - scaled_diff_integer_bits)), (1 << 31) - 1.0
    )
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise CompileError(f"softmax input scale {input_scale} too small for the int8 kernel")
    diff_min = -input_radius(scaled_diff_integer_bits, left_shift)
    return multiplier, left_shift, diff_min


def sigmoid_params_s8(*, input_scale: float) -> tuple[int, int, int]:
    """TFLM LOGISTIC/TANH int8 Prepare: (multiplier, left_shift, input_range_radius)."""
    input_integer_bits = 4
    real = float(input_scale) * float(1 << (31 - input_integer_bits))
    fraction, left_shift = math.frexp(real)
    multiplier = int(round_half_away(fraction * (1 << 31)))
    return multiplier, left_shift, input_radius(input_integer_bits, left_shift)


def padding(
    *, kind: str, stride: int, dilation: int, in_size: int, filter_size: int
) -> tuple[int, int]:
    """TFLite ComputeOutSize + ComputePaddingWithOffset: (out_size, pad_before)."""
    effective = (filter_size - 1) * dilation + 1
    if kind == "SAME":
        out = (in_size + stride - 1) // stride
    elif kind == "VALID":
        out = (in_size + stride - effective) // stride
    else:
        raise CompileError(f"padding {kind!r} is not supported")
    total = max(0, (out - 1) * stride + effective - in_size)
    return out, total // 2


def mean_multiplier(*, input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLite QuantizedMeanOrSum: fold 1/count into the in/out rescale multiplier."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << extra) // count
    return multiplier, shift - extra
