"""Tiny single-op `.tflite` models built with TensorFlow's converter, for per-kernel tests.

TensorFlow is imported inside the functions only: the compiler itself never needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def convert(
    build: Callable,
    input_shapes: list[tuple[int, ...]],
    *,
    int8: bool = True,
    float_io: bool = False,
    seed: int = 0,
) -> bytes:
    """Convert the Keras layer `build(tf)` returns, applied to float32 inputs, to TFLite.

    Layer weights are set to seeded random values (biases too, so the bias path is
    exercised). int8: full-integer
    quantization with a seeded representative data set; `float_io` keeps float32 model
    inputs/outputs (the converter then adds QUANTIZE/DEQUANTIZE ops).
    """
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    inputs = [tf.keras.Input(shape=s[1:], batch_size=s[0]) for s in input_shapes]
    lyr = build(tf)
    model = tf.keras.Model(inputs, lyr(inputs[0]) if len(inputs) == 1 else lyr(inputs))
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.5, size=tuple(w.shape)).astype(np.float32))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:

        def representative():
            for _ in range(32):
                yield [rng.uniform(-3, 3, size=s).astype(np.float32) for s in input_shapes]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    return converter.convert()


def layer(factory: Callable) -> Callable:
    """A builder for one Keras layer `factory(tf.keras.layers)`."""
    return lambda tf: factory(tf.keras.layers)


def op(fn: Callable) -> Callable:
    """A builder for a weightless TensorFlow function `fn(tf, *inputs)`, wrapped in a layer."""

    def build(tf):
        class _Fn(tf.keras.layers.Layer):
            def call(self, xs):
                return fn(tf, *xs) if isinstance(xs, (list, tuple)) else fn(tf, xs)

        return _Fn()

    return build


# name -> (builder, input shapes)
SINGLE_OP_MODELS: dict[str, tuple[Callable, list[tuple[int, ...]]]] = {
    "conv_same_stride2_relu6": (
        layer(lambda L: L.Conv2D(6, 3, strides=2, padding="same", activation="relu6")),
        [(1, 9, 11, 3)],
    ),
    "conv_valid_dilated": (
        layer(lambda L: L.Conv2D(5, 3, dilation_rate=2, padding="valid")),
        [(1, 12, 10, 4)],
    ),
    "conv_1x1_batch2": (layer(lambda L: L.Conv2D(7, 1)), [(2, 5, 5, 3)]),
    "depthwise_mult2": (
        layer(
            lambda L: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")
        ),
        [(1, 8, 7, 3)],
    ),
    "depthwise_stride2_valid": (
        layer(lambda L: L.DepthwiseConv2D(3, strides=2, padding="valid")),
        [(1, 9, 9, 4)],
    ),
    # depthwise 3x3 on the DSP path (channels a multiple of 4): the borders of "same" padding,
    # images narrower than the filter, stride 2 (padding on the bottom and right only), a
    # clamp narrower than int8 (relu6), several groups of four channels, two batches
    "depthwise_same_relu6": (
        layer(lambda L: L.DepthwiseConv2D(3, padding="same", activation="relu6")),
        [(2, 7, 6, 12)],
    ),
    "depthwise_same_narrow": (
        layer(lambda L: L.DepthwiseConv2D(3, padding="same", activation="relu")),
        [(1, 5, 2, 8)],
    ),
    "depthwise_same_column": (
        layer(lambda L: L.DepthwiseConv2D(3, padding="same")),
        [(1, 4, 1, 4)],
    ),
    "depthwise_same_wide": (  # rows wider than the DSP path's row copies: the generic loops
        layer(lambda L: L.DepthwiseConv2D(3, padding="same")),
        [(1, 3, 70, 4)],
    ),
    "depthwise_same_stride2": (
        layer(lambda L: L.DepthwiseConv2D(3, strides=2, padding="same")),
        [(1, 8, 9, 8)],
    ),
    "dense_relu": (layer(lambda L: L.Dense(9, activation="relu")), [(1, 20)]),
    "dense_batch3": (layer(lambda L: L.Dense(4)), [(3, 6)]),
    "avg_pool_same": (
        layer(lambda L: L.AveragePooling2D(3, strides=2, padding="same")),
        [(1, 7, 9, 3)],
    ),
    # channels in groups of four (the DSP path's int16 pairs), borders of "same", a global pool
    "avg_pool_same_c10": (
        layer(lambda L: L.AveragePooling2D(3, strides=2, padding="same")),
        [(2, 7, 9, 10)],
    ),
    "avg_pool_global": (layer(lambda L: L.AveragePooling2D((25, 5))), [(1, 25, 5, 8)]),
    "max_pool_valid": (layer(lambda L: L.MaxPooling2D(2)), [(1, 8, 6, 5)]),
    "add": (op(lambda tf, a, b: a + b), [(1, 4, 4, 3), (1, 4, 4, 3)]),
    # large enough for the DSP path's lookup tables (>= 512 elements)
    "add_large": (op(lambda tf, a, b: a + b), [(1, 8, 8, 12), (1, 8, 8, 12)]),
    "add_large_relu": (op(lambda tf, a, b: tf.nn.relu(a + b)), [(1, 8, 8, 12), (1, 8, 8, 12)]),
    "add_broadcast_relu": (op(lambda tf, a, b: tf.nn.relu(a + b)), [(1, 4, 5, 3), (1, 1, 1, 3)]),
    "mul": (op(lambda tf, a, b: a * b), [(1, 4, 3, 2), (1, 4, 3, 2)]),
    "softmax": (op(lambda tf, x: tf.nn.softmax(x * 3.0)), [(2, 10)]),
    "logistic": (op(lambda tf, x: tf.math.sigmoid(x * 2.0)), [(1, 64)]),
    "tanh": (op(lambda tf, x: tf.math.tanh(x * 2.0)), [(1, 64)]),
    "relu": (op(lambda tf, x: tf.nn.relu(x)), [(1, 30)]),
    "relu6": (op(lambda tf, x: tf.nn.relu6(x)), [(1, 30)]),
    "pad": (op(lambda tf, x: tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]])), [(1, 4, 4, 2)]),
    "concat": (op(lambda tf, a, b: tf.concat([a, b], axis=-1)), [(1, 3, 3, 2), (1, 3, 3, 4)]),
    "mean": (op(lambda tf, x: tf.reduce_mean(x, axis=[1, 2])), [(1, 5, 6, 4)]),
    "mean_keepdims": (
        op(lambda tf, x: tf.reduce_mean(x, axis=[1, 2], keepdims=True)),
        [(1, 5, 6, 4)],
    ),
    "reshape_squeeze": (
        op(lambda tf, x: tf.squeeze(tf.reshape(x, (1, 1, 24)), axis=1)),
        [(1, 4, 6)],
    ),
}
