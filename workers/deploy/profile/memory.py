"""RAM and flash of a whole impulse on a core: one definition, used by the profile (API,
dashboard, profile job log) and by the build (its log line and the manifest's `ram_bytes` /
`flash_bytes`), so the same number appears everywhere (docs/profile.md).

RAM = window buffer + DSP scratch + arena + kernel scratch + the deepest stack (model, DSP,
anomaly scorer: they run one after the other) + other static data of the model library.
Flash = code + weights + DSP code + DSP tables + anomaly tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def impulse_memory(
    model_ram: Mapping[str, int],
    model_flash: Mapping[str, int],
    *,
    dsp: Any = None,
    anomaly: Mapping[str, Any] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """(ram, flash) breakdowns of the impulse from the model's (`profile_model` board entry:
    ram arena/scratch/stack/other, flash code/weights), the measured DSP
    (`dsp.DspMeasurement`, or None) and the anomaly scorer's cost (`anomaly.anomaly_cost`,
    or None). Their sums are the totals (`memory_totals`)."""
    ram = dict(model_ram)
    flash = dict(model_flash)
    if dsp is not None:
        ram["window"] = dsp.window_bytes
        ram["dsp_scratch"] = dsp.scratch_bytes
        ram["stack"] = max(ram["stack"], dsp.stack_used_bytes)
        flash["dsp_code"] = dsp.code_bytes - dsp.table_bytes
        flash["dsp_tables"] = dsp.table_bytes
    if anomaly is not None:
        ram["stack"] = max(ram["stack"], anomaly["ram_bytes"])
        flash["anomaly_tables"] = anomaly["flash_bytes"]
    return ram, flash


def memory_totals(ram: Mapping[str, int], flash: Mapping[str, int]) -> tuple[int, int]:
    """(RAM bytes, flash bytes): the sums of the breakdowns."""
    return sum(ram.values()), sum(flash.values())


def describe_memory(ram: Mapping[str, int], flash: Mapping[str, int]) -> str:
    """The log line's words: `RAM 12,345 B (arena 1,000 + ...), flash 67,890 B (code ... )`."""
    r, f = memory_totals(ram, flash)
    parts_r = " + ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in ram.items())
    parts_f = " + ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in flash.items())
    return f"RAM {r:,} B ({parts_r}), flash {f:,} B ({parts_f})"
