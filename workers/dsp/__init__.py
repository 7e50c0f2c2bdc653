"""Processing (DSP) blocks: pure NumPy/SciPy reference implementations of the impulse's
input and processing side. See docs/dsp.md for the exact algorithms.
"""

from .blocks.flatten import FlattenBlock
from .blocks.image import ImageBlock
from .blocks.mfcc import MfccBlock
from .blocks.mfe import MfeBlock
from .blocks.raw import RawBlock
from .blocks.spectral import SpectralBlock
from .blocks.spectrogram import SpectrogramBlock
from .explore import feature_importance, project_2d
from .params import DspError, Param, ParamError
from .processing_block import Block, BlockOutput
from .windowing import ImageInput, TimeSeriesInput, make_windows, prepare_image

BLOCKS: dict[str, Block] = {
    b.name: b
    for b in (
        RawBlock(),
        FlattenBlock(),
        SpectralBlock(),
        SpectrogramBlock(),
        MfeBlock(),
        MfccBlock(),
        ImageBlock(),
    )
}


def get_block(name: str) -> Block:
    try:
        return BLOCKS[name]
    except (KeyError, TypeError):
        raise ParamError(
            "block", f"unknown block {name!r}; must be one of {', '.join(BLOCKS)}"
        ) from None


__all__ = [
    "BLOCKS",
    "Block",
    "BlockOutput",
    "DspError",
    "ImageInput",
    "Param",
    "ParamError",
    "TimeSeriesInput",
    "feature_importance",
    "get_block",
    "make_windows",
    "prepare_image",
    "project_2d",
]
