"""workers.deploy.cgen: C literals (read back by a real C compiler), identifiers, banners,
templates, the runtime's prefix."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np
import pytest

from workers.deploy import CompileError, cgen

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
DEPLOY_DIR = Path(cgen.__file__).parent


def _float32_samples() -> np.ndarray:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=3000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    special = np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1 / 3,
            8000.0,
            1e-4,
            9.999999e-5,
            1e16,
            1e-30,
            np.finfo(np.float32).max,
            -np.finfo(np.float32).max,
            np.finfo(np.float32).tiny,
            np.float32(1e-45),
            np.float32(3e-39),
        ],  # smallest subnormal, another subnormal
        dtype=np.float32,
    )
    return np.concatenate([bits[np.isfinite(bits)], special])


def _compile_and_print_bits(tmp_path: Path, ctype: str, literals: list[str]) -> list[int]:
    src = tmp_path / "literals.c"
    fmt, cast = ("%08x", "uint32_t") if ctype == "float" else ("%016llx", "unsigned long long")
    src.write_text(
        "#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n"
        f"static const {ctype} values[] = {{\n{cgen.c_list(literals)}\n}};\n"
        "int main(void) {\n"
        "    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {\n"
        f'        {cast} bits; memcpy(&bits, &values[i], sizeof bits); printf("{fmt}\\n", bits);\n'
        "    }\n    return 0;\n}\n"
    )
    exe = tmp_path / "literals"
    subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", str(exe), str(src)],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return [int(line, 16) for line in out.split()]


@needs_cc
def test_float_literals_read_back_as_the_same_float32_in_c(tmp_path):
    values = _float32_samples()
    literals = [cgen.c_float(v) for v in values]
    assert all(re.fullmatch(r"-?\d+\.\d+(e[+-]\d+)?f", t) for t in literals), literals[:5]
    got = _compile_and_print_bits(tmp_path, "float", literals)
    assert got == values.view(np.uint32).tolist()


@needs_cc
def test_double_literals_read_back_as_the_same_double_in_c(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2**63, size=2000, dtype=np.uint64).view(np.float64)
    values = np.concatenate(
        [values[np.isfinite(values)], [0.0, -0.0, 0.1, 1e-320, 1.7976931348623157e308]]
    )
    got = _compile_and_print_bits(tmp_path, "double", [cgen.c_double(v) for v in values])
    assert got == values.view(np.uint64).tolist()


def test_float_literals_are_rounded_to_float32_and_read_plainly():
    assert cgen.c_float(0.1) == "0.1f"  # the float32 nearest 0.1, shortest
    assert cgen.c_float(3) == "3.0f" and cgen.c_float(-0.0) == "-0.0f"
    assert cgen.c_float(8000.0) == "8000.0f" and cgen.c_float(1e-30) == "1.0e-30f"
    assert cgen.c_float(np.finfo(np.float32).max) == "3.4028235e+38f"
    assert cgen.c_float(0.1 + 1e-12) == cgen.c_float(np.float32(0.1))  # one float32


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e39])
def test_values_without_a_c_literal_are_refused_not_written(value):
    # `inff` and `nanf` are not C: such a value is a CompileError naming what held it
    with pytest.raises(CompileError, match="anomaly threshold is .*not finite"):
        cgen.c_float(value, what="anomaly threshold")
    if value != 1e39:
        with pytest.raises(CompileError, match="not finite"):
            cgen.c_double(value)


def test_integer_arrays():
    assert cgen.c_int(np.int64(-2147483648)) == "-2147483648"
    assert (
        cgen.c_int_array("p_mult", np.array([1, -2])) == "static const int32_t p_mult[2] = {1, -2};"
    )
    assert cgen.c_list(["1", "2", "3"], per_line=2) == "    1, 2,\n    3,"


@pytest.mark.parametrize("name", ["a", "_x9", "tinyforge_model_invoke", "Int"])
def test_identifiers_accepted(name):
    assert cgen.check_identifier(name) == name and cgen.is_identifier(name)


@pytest.mark.parametrize("name", ["", "9lives", "a-b", "a b", "x\n", "int", "while", "é", "a*/"])
def test_identifiers_refused(name):
    with pytest.raises(CompileError, match="not a valid C identifier"):
        cgen.check_identifier(name, what="symbol")


@pytest.mark.parametrize("prefix", ["", "kws", "9lives_", "my-lib_", "a b_", "int_x"])
def test_prefixes_refused(prefix):
    with pytest.raises(CompileError, match="prefix .* is not a valid C identifier ending with '_'"):
        cgen.check_prefix(prefix)
    assert cgen.check_prefix("kws2_") == "kws2_"


def test_sanitize_keeps_only_identifier_characters():
    assert cgen.sanitize('in*/ "x"\n#define main oops\\') == "in____x___define_main_oops"
    assert cgen.sanitize("/*:*/") == "t" and len(cgen.sanitize("x" * 100)) == 40


def test_banners_say_generated_and_cannot_break_their_comment():
    c = cgen.banner("the Tinyforge compiler 1.0 from model m (sha256 ab)")
    assert (
        c == "/* Generated by the Tinyforge compiler 1.0 from model m (sha256 ab). Do not edit. */"
    )
    assert cgen.banner("x", comment="hash") == "# Generated by x. Do not edit."
    assert cgen.banner("x", note=cgen.RUNTIME_COPY).endswith(
        "Runtime copied verbatim, prefix applied. */"
    )
    hostile = cgen.banner('params {"a": "*/ int x; /*"}\nnext line')
    assert hostile.count("/*") == 1 and hostile.count("*/") == 1 and "\n" not in hostile
    with pytest.raises(ValueError, match="comment"):
        cgen.banner("x", comment="rem")


def test_one_environment_renders_every_room_with_the_prefix_as_a_variable():
    text = cgen.render("dsp/dsp_chain.c.j2", prefix="acme_", banner="/* b */", blocks=[])
    assert '#include "acme_dsp_config.h"' in text and "int acme_dsp_run(" in text
    header = cgen.render("model/model_data.h.j2", prefix="kws2_", banner="/* b */", weights=[])
    assert "#ifndef KWS2_MODEL_DATA_H" in header  # PREFIX comes with prefix
    with pytest.raises(jinja2.UndefinedError):  # StrictUndefined: a missing variable is an error
        cgen.render("model/main.c.j2", banner="/* b */")
    for room, folder in cgen.TEMPLATE_DIRS.items():
        assert folder.is_dir() and list(folder.glob("*.j2")), room


def test_runtime_source_moves_the_runtime_names_only(tmp_path):
    src = tmp_path / "tinyforge_thing.c"
    src.write_text(
        '#include "tinyforge_thing.h"\n'
        "/* Build with -DTINYFORGE_EMULATE_DSP; the same loops; my_tinyforge_x stays. */\n"
        "#ifndef TINYFORGE_THING_H\n"
        "int tinyforge_add(int a) { return a + TINYFORGE_ONE + xtinyforge_y + Tinyforge_z; }\n"
    )
    name, text = cgen.runtime_source(src, "kws2_")
    assert name == "kws2_thing.c"
    assert text == (
        '#include "kws2_thing.h"\n'
        "/* Build with -DKWS2_EMULATE_DSP; the same loops; my_tinyforge_x stays. */\n"
        "#ifndef KWS2_THING_H\n"
        "int kws2_add(int a) { return a + KWS2_ONE + xtinyforge_y + Tinyforge_z; }\n"
    )
    assert cgen.runtime_source(src, "tinyforge_") == (src.name, src.read_text())
    with pytest.raises(CompileError, match="prefix"):
        cgen.runtime_source(src, "kws2")


def test_c_generation_has_one_home():
    """No emitter builds its own Jinja environment or applies the prefix by replacing text."""
    offenders = []
    for path in sorted(DEPLOY_DIR.rglob("*.py")):
        if path.name == "cgen.py":
            continue
        text = path.read_text()
        if "jinja2" in text:
            offenders.append(f"{path.name}: jinja2")
        if re.search(r"""\.replace\(\s*(f?["'](tinyforge_|TINYFORGE_)|[^)]*prefix)""", text):
            offenders.append(f"{path.name}: replace of the prefix")
        if re.search(r"format_float_|!r\}f|repr\(.*\)\s*\+\s*\"f\"", text):
            offenders.append(f"{path.name}: own float literal writer")
    assert offenders == []
