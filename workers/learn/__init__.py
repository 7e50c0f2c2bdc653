"""Learning blocks: architectures as data, training, int8 quantization, evaluation and
anomaly detection.

Importing this package is cheap: nothing here imports TensorFlow at module level (the web
process imports it to validate architectures and settings). TensorFlow, Keras and the
interpreters are imported inside the functions that need them.
"""

from workers.learn.architectures import (
    LAYER_TYPES,
    build_keras_model,
    default_architecture,
    describe_architecture,
    layer_types_schema,
    validate_architecture,
)
from workers.learn.errors import LearnError, TrainingCancelled
from workers.learn.training import (
    TrainResult,
    TrainSettings,
    label_indices,
    train,
    train_settings_schema,
)

__all__ = [
    "LAYER_TYPES",
    "LearnError",
    "TrainResult",
    "TrainSettings",
    "TrainingCancelled",
    "build_keras_model",
    "default_architecture",
    "describe_architecture",
    "label_indices",
    "layer_types_schema",
    "train",
    "train_settings_schema",
    "validate_architecture",
]
