"""Raw block: the window itself, optionally scaled."""

from __future__ import annotations

import numpy as np

from ..params import Param
from ..processing_block import Block, BlockOutput, finish


class RawBlock(Block):
    name = "raw"
    title = "Raw data"
    description = (
        "Passes the window through unchanged (samples x axes, row-major), multiplied by scale_axes."
    )
    implementation_version = 1
    params = (
        Param(
            "scale_axes",
            "float",
            1.0,
            -1e9,
            1e9,
            help="Multiply every value by this.",
            label="Scale axes",
        ),
    )

    def _shape(self, *, window_samples, n_axes, frequency_hz, params):
        return (window_samples, n_axes)

    def _run(self, windows, *, frequency_hz, params, shape, graphs) -> BlockOutput:
        out = windows * np.float32(params["scale_axes"])
        g = []
        if graphs:
            g.append({"name": "Raw", "type": "lines", "data": out[0].T.tolist()})
        return finish(out, shape, g)
