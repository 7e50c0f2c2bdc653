"""templates/_profile_table.html: red where a model does not fit, int8 beside float32."""

from __future__ import annotations

from types import SimpleNamespace

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tests.paths import REPO_ROOT


def _board(name, ram, flash, *, board_ram=256 * 1024, board_flash=1024 * 1024):
    total = {"cycles": 64_000, "latency_ms": 1.0, "ram_bytes": ram, "flash_bytes": flash}
    return {
        "board": name,
        "mcu": "nRF52840",
        "clock_hz": 64_000_000,
        "board_ram_bytes": board_ram,
        "board_flash_bytes": board_flash,
        "method": "estimated",
        "total": total,
    }


def test_cells_that_do_not_fit_are_red():
    env = Environment(loader=FileSystemLoader(REPO_ROOT / "templates"), undefined=StrictUndefined)
    profile = {
        "int8": {"boards": [_board("A", 10_000, 100_000), _board("B", 300 * 1024, 100_000)]},
        "float32": {"boards": [_board("A", 40_000, 2 * 1024 * 1024), _board("B", 9e5, 400_000)]},
    }
    request = SimpleNamespace(url=SimpleNamespace(path="/projects/1/training", query="impulse=1"))
    html = env.get_template("_profile_table.html").render(
        request=request,
        csrf_input=lambda r: '<input type="hidden" name="csrf" value="x">',
        profile_boards=["A", "B"],
        profile=profile,
        results={"validation": {"int8": {"accuracy": 0.9}, "float32": {"accuracy": 0.95}}},
        project_board="A",
        project={"id": 1},
        profile_job=None,
    )
    assert '<option value="A" selected>A</option>' in html  # the project's board, preselected
    assert "anomaly block (" not in html  # no anomaly part in these boards
    with_anomaly = {
        **profile["int8"]["boards"][0],
        "anomaly": {"cycles": 64_000, "latency_ms": 1.0},
    }
    html2 = env.get_template("_profile_table.html").render(
        request=request,
        csrf_input=lambda r: "",
        profile_boards=["A", "B"],
        profile={**profile, "int8": {"boards": [with_anomaly, profile["int8"]["boards"][1]]}},
        results=None,
        project_board="A",
        project={"id": 1},
        profile_job=None,
    )
    assert "+ anomaly block (" in html2 and "computed from its size" in html2
    rows = html.split('<tr data-board="')[1:]
    a, b = (r.split("</tr>")[0] for r in rows)
    assert a.startswith("A") and 'class="chosen"' in a
    # A: int8 fits everywhere; float32 flash (2 MiB) exceeds the 1 MiB board
    assert a.count('class="nofit"') == 1 and "2048.0 KiB" in a
    # B: int8 RAM 300 KiB > 256 KiB; float32 RAM too
    assert b.count('class="nofit"') == 2 and "300.0 KiB" in b
    assert "Accuracy: int8 90.0 %, float32 95.0 %" in html
