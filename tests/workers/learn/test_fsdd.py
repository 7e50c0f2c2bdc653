"""The issue's acceptance bar on real recordings: the default MFCC learning block on the Free
Spoken Digit Dataset (index 0-4 = test set) reaches int8 test accuracy >= 97 %, within one
point of float32, with the int8 model run by TFLite Micro."""

import pytest

from tests.paths import FSDD_DIR, require_shared


@pytest.mark.slow
def test_default_mfcc_block_on_fsdd():
    require_shared(FSDD_DIR)
    from bench.train import run

    summary = run(FSDD_DIR, seed=1, verbose=False)
    acc = summary["test_accuracy"]
    assert summary["n_test"] == 300 and summary["n_train"] == 2700
    assert acc["int8"] >= 0.97, summary
    assert abs(acc["int8"] - acc["float32"]) <= 0.01, summary
    # a sensible int8 input quantization: the MFCC range spread over the int8 codes
    assert 0.05 < summary["int8_input"]["scale"] < 2.0
    assert set(summary["model"]["operators"]) <= {
        "RESHAPE",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "AVERAGE_POOL_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
    }
